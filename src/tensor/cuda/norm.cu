// Batch norm over N, H, W per channel, with ops/norm.cpp's arithmetic: one block per
// channel sums in double (two passes for the variance); the normalisation is elementwise.
#include <cmath>

#include "tensor/cuda/common.cuh"

namespace gan::cuda {

// Element k of channel ch (k over N * HW) in NCHW.
__device__ inline int64_t channel_at(int64_t k, int64_t ch, int64_t c, int64_t hw) {
  return ((k / hw) * c + ch) * hw + k % hw;
}

__global__ void batch_norm_stats_kernel(bool training, int64_t n, int64_t c, int64_t hw, const float* x,
                                        float* running_mean, float* running_var, float momentum, float eps,
                                        float* mean_out, float* inv_std_out) {
  __shared__ double shared[kThreads];
  const int64_t ch = blockIdx.x, count = n * hw;
  double mean, var;
  if (training) {
    double s = 0.0;
    for (int64_t k = threadIdx.x; k < count; k += blockDim.x) s += x[channel_at(k, ch, c, hw)];
    mean = block_sum(s, shared) / count;
    double ss = 0.0;
    for (int64_t k = threadIdx.x; k < count; k += blockDim.x) {
      const double d = x[channel_at(k, ch, c, hw)] - mean;
      ss += d * d;
    }
    ss = block_sum(ss, shared);
    var = ss / count;
    if (threadIdx.x == 0) {
      running_mean[ch] = static_cast<float>((1.0 - momentum) * running_mean[ch] + momentum * mean);
      running_var[ch] = static_cast<float>((1.0 - momentum) * running_var[ch] + momentum * ss / (count - 1));
    }
  } else {
    mean = running_mean[ch];
    var = running_var[ch];
  }
  if (threadIdx.x == 0) {
    mean_out[ch] = static_cast<float>(mean);
    inv_std_out[ch] = static_cast<float>(1.0 / sqrt(var + eps));
  }
}

namespace {

void batch_norm_stats(bool training, int64_t n, int64_t c, int64_t hw, const float* x, float* running_mean,
                      float* running_var, float momentum, float eps, float* mean, float* inv_std) {
  if (c <= 0) return;
  batch_norm_stats_kernel<<<static_cast<unsigned>(c), kThreads>>>(training, n, c, hw, x, running_mean, running_var,
                                                                   momentum, eps, mean, inv_std);
  GANOMALY_CUDA_CHECK_LAUNCH("batch_norm_stats");
}

void batch_norm_apply(int64_t n, int64_t c, int64_t hw, const float* x, const float* weight, const float* bias,
                      const float* mean, const float* inv_std, float* out) {
  for_each(
      n * c * hw,
      [=] __device__(int64_t at) {
        const int64_t ch = (at / hw) % c;
        const float gamma = weight ? weight[ch] : 1.0f, beta = bias ? bias[ch] : 0.0f;
        const float scale = gamma * inv_std[ch], shift = beta - mean[ch] * scale;
        out[at] = x[at] * scale + shift;
      },
      "batch_norm_apply");
}

}  // namespace

void batch_norm_forward(bool training, int64_t n, int64_t c, int64_t hw, const float* x, const float* weight,
                        const float* bias, float* running_mean, float* running_var, float momentum, float eps,
                        float* mean, float* inv_std, float* out) {
  batch_norm_stats(training, n, c, hw, x, running_mean, running_var, momentum, eps, mean, inv_std);
  batch_norm_apply(n, c, hw, x, weight, bias, mean, inv_std, out);
}

__global__ void batch_norm_backward_kernel(bool training, int64_t n, int64_t c, int64_t hw, const float* x,
                                           const float* weight, const float* mean, const float* inv_std,
                                           const float* dy, float* dx, float* dgamma, float* dbeta) {
  __shared__ double shared[kThreads];
  const int64_t ch = blockIdx.x, count = n * hw;
  const float m = mean[ch], s = inv_std[ch];
  double sum_dy = 0.0, sum_dy_xhat = 0.0;
  for (int64_t k = threadIdx.x; k < count; k += blockDim.x) {
    const int64_t at = channel_at(k, ch, c, hw);
    sum_dy += dy[at];
    sum_dy_xhat += dy[at] * (x[at] - m) * s;
  }
  sum_dy = block_sum(sum_dy, shared);
  sum_dy_xhat = block_sum(sum_dy_xhat, shared);
  if (threadIdx.x == 0) {
    if (dgamma) dgamma[ch] += static_cast<float>(sum_dy_xhat);
    if (dbeta) dbeta[ch] += static_cast<float>(sum_dy);
  }
  if (!dx) return;
  const float k_scale = (weight ? weight[ch] : 1.0f) * s;
  // Training: the batch statistics depend on x, which adds the two mean terms.
  const float mean_dy = training ? static_cast<float>(sum_dy / count) : 0.0f;
  const float mean_dy_xhat = training ? static_cast<float>(sum_dy_xhat / count) : 0.0f;
  for (int64_t k = threadIdx.x; k < count; k += blockDim.x) {
    const int64_t at = channel_at(k, ch, c, hw);
    const float xhat = (x[at] - m) * s;
    dx[at] += k_scale * (dy[at] - mean_dy - xhat * mean_dy_xhat);
  }
}

void batch_norm_backward(bool training, int64_t n, int64_t c, int64_t hw, const float* x, const float* weight,
                         const float* mean, const float* inv_std, const float* dy, float* dx, float* dgamma,
                         float* dbeta) {
  if (c <= 0) return;
  batch_norm_backward_kernel<<<static_cast<unsigned>(c), kThreads>>>(training, n, c, hw, x, weight, mean, inv_std, dy,
                                                                      dx, dgamma, dbeta);
  GANOMALY_CUDA_CHECK_LAUNCH("batch_norm_backward");
}

}  // namespace gan::cuda
