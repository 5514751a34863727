// Activations and their gradients (cuda/activation.cu on the GPU).
#include "tensor/cpu/kernels.h"
#include "tensor/cpu/vec.h"
#include "tensor/profile.h"

namespace gan::cpu {

void activation(Activation f, float slope, int64_t n, const float* x, float* out) {
  profile::Scope scope(profile::Op::activation);
  switch (f) {
    case Activation::relu:
      return map(n, out, [](Batch v) { return xsimd::max(v, Batch(0.0f)); }, x);
    case Activation::leaky_relu:
      return map(n, out, [slope](Batch v) { return xsimd::select(v > Batch(0.0f), v, v * slope); }, x);
    case Activation::tanh:
      return map(n, out, [](Batch v) { return xsimd::tanh(v); }, x);
    case Activation::sigmoid:
      return map(n, out, [](Batch v) { return Batch(1.0f) / (Batch(1.0f) + xsimd::exp(-v)); }, x);
    case Activation::abs:
      return map(n, out, [](Batch v) { return xsimd::abs(v); }, x);
  }
}

void activation_backward(Activation f, float slope, int64_t n, const float* grad, const float* saved, float* dx) {
  profile::Scope scope(profile::Op::activation);
  const Batch zero(0.0f);
  switch (f) {
    case Activation::relu:
      return map_add(n, dx, [zero](Batch g, Batch y) { return xsimd::select(y > zero, g, zero); }, grad, saved);
    case Activation::leaky_relu:
      return map_add(
          n, dx, [zero, slope](Batch g, Batch y) { return xsimd::select(y > zero, g, g * slope); }, grad, saved);
    case Activation::tanh:
      return map_add(n, dx, [](Batch g, Batch t) { return g * (Batch(1.0f) - t * t); }, grad, saved);
    case Activation::sigmoid:
      return map_add(n, dx, [](Batch g, Batch s) { return g * s * (Batch(1.0f) - s); }, grad, saved);
    case Activation::abs:  // saved = input; the gradient at 0 is 0, as PyTorch's sign
      return map_add(
          n, dx, [zero](Batch g, Batch x) { return xsimd::select(x > zero, g, xsimd::select(x < zero, -g, zero)); },
          grad, saved);
  }
}

}  // namespace gan::cpu
