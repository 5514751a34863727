#pragma once
// The decision in an exported graph (onnx_export.h): from the scoring network's values,
// every score ganomaly_infer --json prints, the calibration's score normalised as
// ganomaly_infer prints it, the verdict, and the anomaly map its --maps writes, before
// resizing. The same steps as the library, in ONNX operators:
//
//   residual map   mean over channels of |x - fake| (the padded pair, cropped back to S)
//   reconstruction mean of |x - fake| over the padded image, as Ganomaly::score
//   window means   AveragePool, stride 1, no padding: every square that fits (window_means)
//   residual_max   ReduceMax of the residual map's window means, side S/8
//   residual_z     (map - mean) / scale, stored [1, 1, S, S], window side S/32
//   residual_nn    the image's 16 x 16 thumbnail (AveragePool, Flatten); squared distances
//                  to the stored training thumbnails; TopK smallest 20 (ties to the lower
//                  index, as nearest_keys); Gather of their stored maps; mean and
//                  spread over them; (map - mean) / (spread + floor); window side S/32
//   image_z        |(x - mean) / scale| of the image itself, stored [1, C, S, S], mean over
//                  channels; window side S/32
//   image_nn       as residual_nn (the same thumbnail node), the 10 nearest of the stored
//                  training images themselves [M, C, S, S]; the channel mean of |z|;
//                  window side S/32
//   fused          sum of weight * (score - mean) / stddev over the calibration's parts
//   score          clip((raw - t) / (max - min) + 0.5, 0, 1): ScoreNormalizer::apply
//   anomalous      raw_score >= the calibrated threshold
//   anomaly_map    the map score's window means, each pixel the square placed as centred
//                  as the edges allow (smooth_map): Gather of rows, then of columns
//
// The calibration's numbers go into the file's metadata as well (decision_* keys), with
// the sensitivity formula, so that a caller can move the threshold without re-exporting.
#include <string>
#include <utility>
#include <vector>

#include "ganomaly/eval/calibration.h"
#include "ganomaly/io/onnx_graph.h"

namespace gan {

// The scoring network's values the decision reads, by their names in the graph.
struct OnnxNetworkValues {
  std::string x;             // the normalised images [N, C, S, S], before padding
  std::string x_network;     // as the network sees them [N, C, P, P] (x itself when P == S)
  std::string fake_network;  // the reconstruction [N, C, P, P]
  int64_t image_size = 0, network_size = 0;
  bool with_features = false;  // whether the graph computes "feature"
};

// What add_decision put in the graph.
struct OnnxDecision {
  std::vector<onnx::ValueInfo> outputs;  // the scores, anomaly_map, raw_score, score, anomalous
  std::vector<std::pair<std::string, std::string>> metadata;
  std::string missing;  // why score, raw_score and anomalous are not in the graph; empty when they are
};

// Appends the decision's nodes to `b`. The scores, the anomaly map and its metadata are
// always written; raw_score, score and anomalous and their metadata when the graph can compute
// the calibration's score (not: the feature score left out with OnnxFeatures::never, a
// residual score whose statistics the model has not fitted, a fused score without parts);
// otherwise the metadata's decision_missing says why.
OnnxDecision add_decision(OnnxGraphBuilder& b, const Ganomaly& model, const Calibration& c,
                          const OnnxNetworkValues& v);

// The metadata's decision_sensitivity_formula: with_decision_threshold's, for a caller.
inline constexpr const char* kSensitivityFormula =
    "threshold = decision_normalizer_threshold + (0.5 - sensitivity) * (decision_normalizer_max - "
    "decision_normalizer_min), sensitivity in [0, 1] (0.5: the calibrated threshold; higher flags more images); "
    "anomalous = raw_score >= threshold, compared in float32; 'score' keeps its scale (0.5 at the calibrated "
    "threshold), as ganomaly_infer --sensitivity";

}  // namespace gan
