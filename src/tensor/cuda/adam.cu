// The Adam update and the moving average of weights (nn/adam.cpp's formulas).
#include "tensor/cuda/common.cuh"

namespace gan::cuda {

void adam_step(int64_t n, const float* grad, float* m, float* v, float* w, float beta1, float beta2, float eps,
               float step_size, float bias2_sqrt) {
  for_each(
      n,
      [=] __device__(int64_t j) {
        const float g = grad[j];
        m[j] = beta1 * m[j] + (1.0f - beta1) * g;
        v[j] = beta2 * v[j] + (1.0f - beta2) * g * g;
        const float denom = sqrtf(v[j]) / bias2_sqrt + eps;
        w[j] -= step_size * m[j] / denom;
      },
      "adam_step");
}

void ema_update(int64_t n, float decay, const float* live, float* average) {
  for_each(
      n, [=] __device__(int64_t j) { average[j] = decay * average[j] + (1.0f - decay) * live[j]; }, "ema_update");
}

}  // namespace gan::cuda
