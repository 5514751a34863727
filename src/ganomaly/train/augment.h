#pragma once
// Training-time augmentation of a batch of normal images (host tensors, [N, C, H, W]).
//   none   the images as they are (the default: GANomaly's recipes do not augment)
//   flip   each image mirrored left-right and/or top-bottom, each with probability 1/2:
//          for textures and for objects seen square-on from above (bottle), whose
//          mirror images are normal too
//   shift  each image moved by up to 1/16 of its side in x and y, edges repeated: for
//          aligned objects that sit a little off-centre in practice
// A mode that does not suit the data (flip on a part whose mirror image is a defect)
// teaches the model that defect is normal: it is a choice per product line, off by default.
#include "ganomaly/model/names.h"
#include "tensor/random.h"
#include "tensor/tensor.h"

namespace gan {

enum class Augment { none, flip, shift };
template <>
struct NameTable<Augment> {
  static constexpr std::pair<Augment, const char*> all[] = {
      {Augment::none, "none"}, {Augment::flip, "flip"}, {Augment::shift, "shift"}};
};

// In place; the draws come from `rng` only, so a seed fixes them.
void augment_batch(Tensor& images, Augment mode, Rng& rng);

}  // namespace gan
