#pragma once
// Tests set a tensor's gradient directly (an optimizer step on given gradients, gradients
// pre-filled with NaN): through the public grad_data() and grad(), so Tensor carries no
// hook for tests.
#include <vector>

#include "tensor/tensor.h"

namespace gan::testing {

// Overwrites t's gradient (allocated when absent) with `values`, on t's device.
inline void set_grad(Tensor t, const std::vector<float>& values) {
  GANOMALY_CHECK(static_cast<int64_t>(values.size()) == t.numel(), "set_grad: ", values.size(), " values for shape ",
                 t.shape());
  t.grad_data();  // allocates the gradient when absent
  t.grad().copy_from(Tensor::from_vector(t.shape(), values));
}

}  // namespace gan::testing
