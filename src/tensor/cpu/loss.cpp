// The pointwise losses with mean reduction, and their gradients (cuda/loss.cu on the GPU).
// The mean is summed in double.
#include <algorithm>
#include <cmath>

#include "tensor/cpu/kernels.h"
#include "tensor/profile.h"

namespace gan::cpu {
namespace {

float sign(float d) { return static_cast<float>((d > 0.0f) - (d < 0.0f)); }

// The pointwise loss in double, and its derivative with respect to the input.
double loss_value(Loss f, float beta, float a, float b) {
  switch (f) {
    case Loss::l1:
      return std::fabs(static_cast<double>(a) - b);
    case Loss::mse: {
      const double d = static_cast<double>(a) - b;
      return d * d;
    }
    case Loss::smooth_l1: {
      const double d = std::fabs(static_cast<double>(a) - b);
      return d < beta ? 0.5 * d * d / beta : d - 0.5 * beta;
    }
    case Loss::bce: {
      const double log_p = std::max(std::log(static_cast<double>(a)), -100.0);
      const double log_q = std::max(std::log1p(-static_cast<double>(a)), -100.0);
      return -(b * log_p + (1.0 - b) * log_q);
    }
  }
  return 0.0;
}

float loss_slope(Loss f, float beta, float a, float b) {
  switch (f) {
    case Loss::l1:
      return sign(a - b);
    case Loss::mse:
      return 2.0f * (a - b);
    case Loss::smooth_l1: {
      const float d = a - b;
      return std::fabs(d) < beta ? d / beta : sign(d);
    }
    case Loss::bce:  // PyTorch's binary_cross_entropy_backward: (p - t) / max(p (1 - p), 1e-12)
      return (a - b) / std::max((1.0f - a) * a, 1e-12f);
  }
  return 0.0f;
}
}  // namespace

void loss(Loss f, float beta, int64_t n, const float* input, const float* target, float* out) {
  profile::Scope scope(profile::Op::reduce_loss);
  double total = 0.0;
#pragma omp parallel for reduction(+ : total) schedule(static) if (n >= (1 << 16))
  for (int64_t i = 0; i < n; ++i) total += loss_value(f, beta, input[i], target[i]);
  out[0] = static_cast<float>(total / static_cast<double>(n));
}

void loss_backward(Loss f, float beta, int64_t n, const float* input, const float* target, const float* grad_out,
                   float* dinput, float* dtarget) {
  profile::Scope scope(profile::Op::reduce_loss);
  const float scale = grad_out[0] / static_cast<float>(n);
  for (int64_t i = 0; i < n; ++i) {
    const float g = scale * loss_slope(f, beta, input[i], target[i]);
    if (dinput) dinput[i] += g;
    if (dtarget) dtarget[i] -= g;
  }
}

}  // namespace gan::cpu
