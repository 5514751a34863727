// relu, leaky_relu, tanh, sigmoid and abs, forward and backward. The first four
// differentiate through their saved output, so the input (usually a batch norm's output)
// can be freed after the forward pass, as PyTorch's in-place activations allow. For relu
// and leaky_relu with a positive slope, out > 0 exactly when x > 0, so the gradient is
// bitwise the same. abs needs the sign of its input, so it saves the input.
#include "tensor/backend.h"
#include "tensor/ops.h"
#include "tensor/ops/in_place.h"

namespace gan {
namespace {

Tensor activate(const char* name, backend::Activation kind, float slope, bool in_place, const Tensor& x) {
  Tensor out = output_for(x, in_place);
  backend::activation(x.device(), kind, slope, x.numel(), x.data(), out.data());
  Tensor saved = kind == backend::Activation::abs ? x.detach() : out.detach();
  return autograd::record(out, name, {x}, [x, saved, kind, slope](TensorImpl& o) {
    if (float* dx = autograd::grad_sink(x))
      backend::activation_backward(x.device(), kind, slope, x.numel(), o.grad->data(), saved.data(), dx);
  });
}

}  // namespace

Tensor relu(const Tensor& x, bool in_place) { return activate("relu", backend::Activation::relu, 0.0f, in_place, x); }

Tensor leaky_relu(const Tensor& x, float slope, bool in_place) {
  GANOMALY_CHECK(slope > 0.0f, "leaky_relu: slope must be positive, got ", slope);
  return activate("leaky_relu", backend::Activation::leaky_relu, slope, in_place, x);
}

Tensor tanh(const Tensor& x) { return activate("tanh", backend::Activation::tanh, 0.0f, false, x); }

Tensor sigmoid(const Tensor& x) { return activate("sigmoid", backend::Activation::sigmoid, 0.0f, false, x); }

Tensor abs(const Tensor& x) { return activate("abs", backend::Activation::abs, 0.0f, false, x); }

}  // namespace gan
