// Batch norm over N, H and W per channel, forward and backward (cuda/norm.cu on the GPU).
// Per-channel sums run in double, the variance in two passes (exact enough, and simple);
// CUDA does the same.
#include <cmath>

#include "tensor/cpu/kernels.h"
#include "tensor/profile.h"

namespace gan::cpu {

void batch_norm_forward(bool training, int64_t n, int64_t c, int64_t hw, const float* x, const float* weight,
                        const float* bias, float* running_mean, float* running_var, float momentum, float eps,
                        float* mean_out, float* inv_std_out, float* out) {
  profile::Scope scope(profile::Op::batch_norm);
  const int64_t count = n * hw;
#pragma omp parallel for schedule(static)
  for (int64_t ch = 0; ch < c; ++ch) {
    double mean, var;
    if (training) {
      double s = 0.0;
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < hw; ++j) s += x[(i * c + ch) * hw + j];
      mean = s / count;
      double ss = 0.0;
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < hw; ++j) {
          const double d = x[(i * c + ch) * hw + j] - mean;
          ss += d * d;
        }
      var = ss / count;
      running_mean[ch] = static_cast<float>((1.0 - momentum) * running_mean[ch] + momentum * mean);
      running_var[ch] = static_cast<float>((1.0 - momentum) * running_var[ch] + momentum * ss / (count - 1));
    } else {
      mean = running_mean[ch];
      var = running_var[ch];
    }
    const float inv_std = static_cast<float>(1.0 / std::sqrt(var + eps));
    const float m = static_cast<float>(mean);
    const float gamma = weight ? weight[ch] : 1.0f, beta = bias ? bias[ch] : 0.0f;
    const float scale = gamma * inv_std, shift = beta - m * scale;
    for (int64_t i = 0; i < n; ++i) {
      const float* src = x + (i * c + ch) * hw;
      float* dst = out + (i * c + ch) * hw;
      for (int64_t j = 0; j < hw; ++j) dst[j] = src[j] * scale + shift;
    }
    mean_out[ch] = m;
    inv_std_out[ch] = inv_std;
  }
}

void batch_norm_backward(bool training, int64_t n, int64_t c, int64_t hw, const float* x, const float* weight,
                         const float* mean, const float* inv_std_in, const float* dy, float* dx, float* dgamma,
                         float* dbeta) {
  profile::Scope scope(profile::Op::batch_norm);
  const int64_t count = n * hw;
#pragma omp parallel for schedule(static)
  for (int64_t ch = 0; ch < c; ++ch) {
    const float m = mean[ch], inv_std = inv_std_in[ch];
    double sum_dy = 0.0, sum_dy_xhat = 0.0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < hw; ++j) {
        const int64_t at = (i * c + ch) * hw + j;
        sum_dy += dy[at];
        sum_dy_xhat += dy[at] * (x[at] - m) * inv_std;
      }
    if (dgamma) dgamma[ch] += static_cast<float>(sum_dy_xhat);
    if (dbeta) dbeta[ch] += static_cast<float>(sum_dy);
    if (!dx) continue;
    const float k = (weight ? weight[ch] : 1.0f) * inv_std;
    // Training: the batch statistics depend on x, which adds the two mean terms.
    const float mean_dy = training ? static_cast<float>(sum_dy / count) : 0.0f;
    const float mean_dy_xhat = training ? static_cast<float>(sum_dy_xhat / count) : 0.0f;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < hw; ++j) {
        const int64_t at = (i * c + ch) * hw + j;
        const float xhat = (x[at] - m) * inv_std;
        dx[at] += k * (dy[at] - mean_dy - xhat * mean_dy_xhat);
      }
  }
}

}  // namespace gan::cpu
