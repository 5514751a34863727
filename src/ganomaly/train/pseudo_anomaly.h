#pragma once
// Pseudo-anomalies made from normal images, so the epoch, the score and the threshold
// can be chosen without the test labels. Each normal validation image gets one defect:
//   cutpaste  a patch of the image pasted elsewhere in it (the CutPaste idea)
//   blob      a soft dark or bright spot (contamination)
//   scratch   a thin line of another intensity
//   colour    a region whose colour is shifted
// They work on normalised tensors: every change is a copy or a shift in units of the
// image's own spread, so they suit both normalisations.

#include <string>

#include "tensor/random.h"
#include "tensor/tensor.h"

namespace gan {

// One pseudo-anomalous copy per image of `normals` [N, C, H, W]; kinds cycle.
// `strength` in (0, 1] scales every change (a pasted patch is blended in at it): the same
// defects, fainter, for a validation set that has saturated (train.cpp).
// `masks`, when given, gets where each defect is, [N, 1, H, W]: 1 at a pixel some channel
// of which moved by more than kPseudoMaskFraction x the change unit (strength x the
// normal image's standard deviation over all its values), else 0. Every change scales
// with that unit, so the masks are the same at every strength (but for rounding at the
// edge), and a faint blob's tail, which no eye would see, is left out. A patch pasted over
// pixels it equals changes none of them: its mask is empty there.
inline constexpr float kPseudoMaskFraction = 0.1f;
Tensor make_pseudo_anomalies(const Tensor& normals, Rng& rng, float strength = 1.0f, Tensor* masks = nullptr);

}  // namespace gan

namespace gan {

// `normals` [N, C, H, W] in `normalization` seen under other light: each image through
// change_lighting (data/synth.h) at `strength`, drawn from (seed, its index). For choosing
// the photometric normalisation on validation (train/validation.cpp).
Tensor relit(const Tensor& normals, const std::string& normalization, double strength, uint64_t seed);

}  // namespace gan
