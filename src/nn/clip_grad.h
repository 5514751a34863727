#pragma once
// Gradient clipping by the global L2 norm, as torch.nn.utils.clip_grad_norm_ (norm 2):
// when the norm of all gradients together exceeds max_norm, each is scaled by
// max_norm / (norm + 1e-6). Parameters without a gradient are skipped.
#include <vector>

#include "tensor/tensor.h"

namespace gan::nn {

// Returns the norm before clipping. Works on the gradients' own device.
float clip_grad_norm(const std::vector<Tensor>& params, float max_norm);

}  // namespace gan::nn
