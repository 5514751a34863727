// relu, leaky_relu, tanh, sigmoid, forward and backward. tanh and sigmoid differentiate
// through their saved output, relu and leaky_relu through their input (as PyTorch).
#include "tensor/cpu/vec.h"
#include "tensor/ops.h"

namespace gan {
namespace {
using cpu::Batch;
}

Tensor relu(const Tensor& x) {
  Tensor out = Tensor::empty(x.shape());
  cpu::map(x.numel(), out.data(), [](Batch v) { return xsimd::max(v, Batch(0.0f)); }, x.data());
  return autograd::record(out, "relu", {x}, [x](TensorImpl& o) {
    if (float* dx = autograd::grad_sink(x))
      cpu::map_add(x.numel(), dx, [](Batch g, Batch v) { return xsimd::select(v > Batch(0.0f), g, Batch(0.0f)); },
                   o.grad->data(), x.data());
  });
}

Tensor leaky_relu(const Tensor& x, float slope) {
  Tensor out = Tensor::empty(x.shape());
  cpu::map(x.numel(), out.data(), [slope](Batch v) { return xsimd::select(v > Batch(0.0f), v, v * slope); }, x.data());
  return autograd::record(out, "leaky_relu", {x}, [x, slope](TensorImpl& o) {
    if (float* dx = autograd::grad_sink(x))
      cpu::map_add(x.numel(), dx, [slope](Batch g, Batch v) { return xsimd::select(v > Batch(0.0f), g, g * slope); },
                   o.grad->data(), x.data());
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
