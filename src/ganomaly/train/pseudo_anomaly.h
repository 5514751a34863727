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
Tensor make_pseudo_anomalies(const Tensor& normals, Rng& rng, float strength = 1.0f);

}  // namespace gan

namespace gan {

// `normals` [N, C, H, W] in `normalization` seen under other light: each image through
// change_lighting (data/synth.h) at `strength`, drawn from (seed, its index). For choosing
// the photometric normalisation on validation (train/validation.cpp).
Tensor relit(const Tensor& normals, const std::string& normalization, double strength, uint64_t seed);

}  // namespace gan
