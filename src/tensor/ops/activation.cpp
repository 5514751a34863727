// relu, leaky_relu, tanh, sigmoid, forward and backward. tanh and sigmoid differentiate
// through their saved output, relu and leaky_relu through their input (as PyTorch).
#include "tensor/backend.h"
#include "tensor/cpu/vec.h"
#include "tensor/ops.h"

namespace gan {
namespace {
using cpu::Batch;

// One activation: `forward` and `backward` are the CPU batch functions; the CUDA kernel
// is chosen by `kind`. backward(g, saved) gets the input or, with saves_output, the output.
template <typename Forward, typename Backward>
Tensor activate(const char* name, cuda::Activation kind, float slope, bool saves_output, const Tensor& x,
                Forward forward, Backward backward) {
  Tensor out = Tensor::empty(x.shape(), x.device());
  if (on_cuda(x))
    GANOMALY_CUDA_CALL(cuda::activation(kind, slope, x.numel(), x.data(), out.data()));
  else
    cpu::map(x.numel(), out.data(), forward, x.data());
  Tensor saved = saves_output ? out.detach() : x;
  return autograd::record(out, name, {x}, [x, saved, kind, slope, backward](TensorImpl& o) {
    float* dx = autograd::grad_sink(x);
    if (!dx) return;
    if (on_cuda(x))
      GANOMALY_CUDA_CALL(cuda::activation_backward(kind, slope, x.numel(), o.grad->data(), saved.data(), dx));
    else
      cpu::map_add(x.numel(), dx, backward, o.grad->data(), saved.data());
  });
}
}  // namespace

Tensor relu(const Tensor& x) {
  return activate(
      "relu", cuda::Activation::relu, 0.0f, false, x, [](Batch v) { return xsimd::max(v, Batch(0.0f)); },
      [](Batch g, Batch v) { return xsimd::select(v > Batch(0.0f), g, Batch(0.0f)); });
}

Tensor leaky_relu(const Tensor& x, float slope) {
  return activate(
      "leaky_relu", cuda::Activation::leaky_relu, slope, false, x,
      [slope](Batch v) { return xsimd::select(v > Batch(0.0f), v, v * slope); },
      [slope](Batch g, Batch v) { return xsimd::select(v > Batch(0.0f), g, g * slope); });
}

Tensor tanh(const Tensor& x) {
  return activate(
      "tanh", cuda::Activation::tanh, 0.0f, true, x, [](Batch v) { return xsimd::tanh(v); },
      [](Batch g, Batch t) { return g * (Batch(1.0f) - t * t); });
}

Tensor sigmoid(const Tensor& x) {
  return activate(
      "sigmoid", cuda::Activation::sigmoid, 0.0f, true, x,
      [](Batch v) { return Batch(1.0f) / (Batch(1.0f) + xsimd::exp(-v)); },
      [](Batch g, Batch s) { return g * s * (Batch(1.0f) - s); });
}

}  // namespace gan
