// relu, leaky_relu, tanh, sigmoid, abs and their derivatives (as cpu/activation.cpp).
#include "tensor/cuda/common.cuh"

namespace gan::cuda {

void activation(Activation f, float slope, int64_t n, const float* x, float* out) {
  switch (f) {
    case Activation::relu:
      for_each(n, [=] __device__(int64_t i) { out[i] = x[i] > 0.0f ? x[i] : 0.0f; }, "relu");
      break;
    case Activation::leaky_relu:
      for_each(n, [=] __device__(int64_t i) { out[i] = x[i] > 0.0f ? x[i] : x[i] * slope; }, "leaky_relu");
      break;
    case Activation::tanh:
      for_each(n, [=] __device__(int64_t i) { out[i] = tanhf(x[i]); }, "tanh");
      break;
    case Activation::sigmoid:
      for_each(n, [=] __device__(int64_t i) { out[i] = 1.0f / (1.0f + expf(-x[i])); }, "sigmoid");
      break;
    case Activation::abs:
      for_each(n, [=] __device__(int64_t i) { out[i] = fabsf(x[i]); }, "abs");
      break;
  }
}

void activation_backward(Activation f, float slope, int64_t n, const float* grad, const float* saved, float* dx) {
  switch (f) {
    case Activation::relu:  // saved = output, positive exactly where the input is
      for_each(n, [=] __device__(int64_t i) { dx[i] += saved[i] > 0.0f ? grad[i] : 0.0f; }, "relu_backward");
      break;
    case Activation::leaky_relu:  // saved = output, positive exactly where the input is
      for_each(
          n, [=] __device__(int64_t i) { dx[i] += saved[i] > 0.0f ? grad[i] : grad[i] * slope; },
          "leaky_relu_backward");
      break;
    case Activation::tanh:  // saved = output
      for_each(
          n, [=] __device__(int64_t i) { dx[i] += grad[i] * (1.0f - saved[i] * saved[i]); }, "tanh_backward");
      break;
    case Activation::sigmoid:  // saved = output
      for_each(
          n, [=] __device__(int64_t i) { dx[i] += grad[i] * saved[i] * (1.0f - saved[i]); }, "sigmoid_backward");
      break;
    case Activation::abs:  // saved = input; the gradient at 0 is 0
      for_each(
          n,
          [=] __device__(int64_t i) { dx[i] += saved[i] > 0.0f ? grad[i] : (saved[i] < 0.0f ? -grad[i] : 0.0f); },
          "abs_backward");
      break;
  }
}

}  // namespace gan::cuda
