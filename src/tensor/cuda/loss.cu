// L1, MSE, SmoothL1 and BCE with mean reduction, forward (in double) and backward, with
// the same formulas as ops/loss.cpp (PyTorch's).
#include "tensor/cuda/common.cuh"

namespace gan::cuda {
namespace {

__device__ inline float sign(float d) { return static_cast<float>((d > 0.0f) - (d < 0.0f)); }

// The pointwise loss, in double.
__device__ inline double loss_value(Loss f, float beta, float a, float b) {
  switch (f) {
    case Loss::l1:
      return fabs(static_cast<double>(a) - b);
    case Loss::mse: {
      const double d = static_cast<double>(a) - b;
      return d * d;
    }
    case Loss::smooth_l1: {
      const double d = fabs(static_cast<double>(a) - b);
      return d < beta ? 0.5 * d * d / beta : d - 0.5 * beta;
    }
    case Loss::bce: {
      const double log_p = fmax(log(static_cast<double>(a)), -100.0);
      const double log_q = fmax(log1p(-static_cast<double>(a)), -100.0);
      return -(b * log_p + (1.0 - b) * log_q);
    }
  }
  return 0.0;
}

// Its derivative with respect to the input.
__device__ inline float loss_slope(Loss f, float beta, float a, float b) {
  switch (f) {
    case Loss::l1:
      return sign(a - b);
    case Loss::mse:
      return 2.0f * (a - b);
    case Loss::smooth_l1: {
      const float d = a - b;
      return fabsf(d) < beta ? d / beta : sign(d);
    }
    case Loss::bce:  // PyTorch's binary_cross_entropy_backward
      return (a - b) / fmaxf((1.0f - a) * a, 1e-12f);
  }
  return 0.0f;
}

}  // namespace

void loss(Loss f, float beta, int64_t n, const float* input, const float* target, float* out) {
  sum_to_scalar(
      n, [=] __device__(int64_t i) { return loss_value(f, beta, input[i], target[i]); },
      1.0 / static_cast<double>(n), out, "loss");
}

void loss_backward(Loss f, float beta, int64_t n, const float* input, const float* target, const float* grad_out,
                   float* dinput, float* dtarget) {
  const float count = static_cast<float>(n);
  for_each(
      n,
      [=] __device__(int64_t i) {
        const float g = grad_out[0] / count * loss_slope(f, beta, input[i], target[i]);
        if (dinput) dinput[i] += g;
        if (dtarget) dtarget[i] -= g;
      },
      "loss_backward");
}

}  // namespace gan::cuda
