// relu, leaky_relu, tanh, sigmoid, forward and backward. All four differentiate through
// their saved output, so the input (usually a batch norm's output) can be freed after
// the forward pass, as PyTorch's in-place activations allow. For relu and leaky_relu
// with a positive slope, out > 0 exactly when x > 0, so the gradient is bitwise the same.
#include "tensor/cpu/vec.h"
#include "tensor/ops.h"

namespace gan {
namespace {
using cpu::Batch;

// PyTorch's inplace=True, made safe: x may be overwritten only when the caller's handle
// is the only reference to it and to its buffer (so no saved tensor, view or detached
// alias can observe the change) and it is not a leaf that needs a gradient.
bool can_overwrite(const Tensor& x, bool in_place) {
  const TensorImpl& t = *x.impl_ptr();
  return in_place && x.impl_ptr().use_count() == 1 && t.storage.use_count() == 1 && t.offset == 0 &&
         !(t.is_leaf() && t.requires_grad);
}

// The output tensor: x's own buffer when it can be overwritten, else a new one.
Tensor output_for(const Tensor& x, bool in_place) {
  if (!can_overwrite(x, in_place)) return Tensor::empty(x.shape());
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = x.shape();
  impl->storage = x.impl_ptr()->storage;
  return Tensor(impl);
}
}  // namespace

Tensor relu(const Tensor& x, bool in_place) {
  Tensor out = output_for(x, in_place);
  cpu::map(x.numel(), out.data(), [](Batch v) { return xsimd::max(v, Batch(0.0f)); }, x.data());
  Tensor y = out.detach();
  return autograd::record(out, "relu", {x}, [x, y](TensorImpl& o) {
    if (float* dx = autograd::grad_sink(x))
      cpu::map_add(x.numel(), dx, [](Batch g, Batch v) { return xsimd::select(v > Batch(0.0f), g, Batch(0.0f)); },
                   o.grad->data(), y.data());
  });
}

Tensor leaky_relu(const Tensor& x, float slope, bool in_place) {
  GANOMALY_CHECK(slope > 0.0f, "leaky_relu: slope must be positive, got ", slope);
  Tensor out = output_for(x, in_place);
  cpu::map(x.numel(), out.data(), [slope](Batch v) { return xsimd::select(v > Batch(0.0f), v, v * slope); }, x.data());
  Tensor y = out.detach();
  return autograd::record(out, "leaky_relu", {x}, [x, y, slope](TensorImpl& o) {
    if (float* dx = autograd::grad_sink(x))
      cpu::map_add(x.numel(), dx, [slope](Batch g, Batch v) { return xsimd::select(v > Batch(0.0f), g, g * slope); },
                   o.grad->data(), y.data());
  });
}

Tensor tanh(const Tensor& x) {
  Tensor out = Tensor::empty(x.shape());
  cpu::map(x.numel(), out.data(), [](Batch v) { return xsimd::tanh(v); }, x.data());
  Tensor y = out.detach();
  return autograd::record(out, "tanh", {x}, [x, y](TensorImpl& o) {
    if (float* dx = autograd::grad_sink(x))
      cpu::map_add(x.numel(), dx, [](Batch g, Batch t) { return g * (Batch(1.0f) - t * t); }, o.grad->data(), y.data());
  });
}

Tensor sigmoid(const Tensor& x) {
  Tensor out = Tensor::empty(x.shape());
  cpu::map(x.numel(), out.data(), [](Batch v) { return Batch(1.0f) / (Batch(1.0f) + xsimd::exp(-v)); }, x.data());
  Tensor y = out.detach();
  return autograd::record(out, "sigmoid", {x}, [x, y](TensorImpl& o) {
    if (float* dx = autograd::grad_sink(x))
      cpu::map_add(x.numel(), dx, [](Batch g, Batch s) { return g * s * (Batch(1.0f) - s); }, o.grad->data(), y.data());
  });
}

}  // namespace gan
