#pragma once
// The scoring network of a trained model as an ONNX graph (opset 13), for an inspection
// line that runs ONNX rather than ganomaly.cpp.
//
//   images [N, C, S, S], pixels in [0, 1]
//     -> (images - mean) / stdev         the model's normalisation (pixel_normalization)
//     -> Pad, centred, to the network's side P when S is not a power of two (pad_to_network)
//     -> encoder1 -> z -> decoder -> fake (P x P) -> encoder2 -> z_hat
//        the scoring generator's weights (the moving average when the model keeps one),
//        batch norm with its running statistics
//     -> [discriminator features of x and of fake, when the model's score uses them]
//   outputs: fake [N, C, S, S] (cropped back to S, in the normalised units)
//            z, z_hat [N, L, 1, 1]
//            features, features_fake [N, F, 4, 4]        (when used)
//            latent [N]  = mean((z - z_hat)^2) per image, as Ganomaly::score
//            feature [N] = mean((features - features_fake)^2) per image (when used)
//   and the decision (onnx_decision.h): reconstruction, residual_max, residual_z,
//            residual_nn, image_z and image_nn [N] (those the model has fitted), anomaly_map [N, 1, S, S], and,
//            when the graph computes the calibration's score: raw_score [N], score [N]
//            (normalised, 0.5 at the calibrated threshold), anomalous [N] (bool); the
//            threshold and the sensitivity formula in the metadata (decision_*).
// Spectral-normalised convolutions are written with their effective weights (the weight
// divided by its estimated largest singular value, as scoring uses it).
#include <cstdint>
#include <string>

#include "ganomaly/io/model_file.h"
#include "ganomaly/io/onnx_writer.h"

namespace gan {

// Whether the graph computes the discriminator's features and the feature score.
enum class OnnxFeatures { automatic, always, never };  // automatic: when calibration.score needs them

// The graph of `model`'s scoring network. Runs the model once on one blank image (eval
// mode, no gradients) to read the output shapes.
onnx::Model build_onnx_model(Ganomaly& model, const Calibration& calibration,
                             OnnxFeatures features = OnnxFeatures::automatic);

}  // namespace gan
