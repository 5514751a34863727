// Batch norm over N, H and W per channel, forward and backward (cuda/norm.cu on the GPU).
// Per-channel sums run in double, the variance in two passes (exact enough, and simple);
// CUDA does the same. The _naive twins add one float at a time into a double; the fast
// kernels add vectors of floats, 256 floats per lane at most before the lanes go into the
// double (the dependent double additions held batch norm to about a float per cycle:
// measured, 45 -> 17 CPU ms of a 64 px training step at batch 32, 5% -> 2% of it).
#include <algorithm>
#include <cmath>
#include <utility>

#include "tensor/cpu/kernels.h"
#include "tensor/cpu/vec.h"
#include "tensor/profile.h"

namespace gan::cpu {
namespace {

// Floats a vector lane sums before its partial sum goes into the double.
constexpr int64_t kChunk = 256 * kBatchWidth;

// sum(f(x[j])) over j < n, f on batches of floats; in a fixed order given n.
template <typename F>
double sum_of(int64_t n, F f, const float* x) {
  double total = 0.0;
  for (int64_t begin = 0; begin < n; begin += kChunk) {
    const int64_t end = std::min(n, begin + kChunk), body = begin + (end - begin) / kBatchWidth * kBatchWidth;
    Batch acc(0.0f);
    for (int64_t j = begin; j < body; j += kBatchWidth) acc += f(Batch::load_unaligned(x + j));
    total += static_cast<double>(xsimd::hadd(acc));
    for (int64_t j = body; j < end; ++j) total += static_cast<double>(f(Batch(x[j])).get(0));
  }
  return total;
}

// The same for two arrays and two sums, f returning both batches' terms.
template <typename F>
void sums_of(int64_t n, F f, const float* a, const float* b, double& s0, double& s1) {
  for (int64_t begin = 0; begin < n; begin += kChunk) {
    const int64_t end = std::min(n, begin + kChunk), body = begin + (end - begin) / kBatchWidth * kBatchWidth;
    Batch acc0(0.0f), acc1(0.0f);
    for (int64_t j = begin; j < body; j += kBatchWidth) {
      const auto [t0, t1] = f(Batch::load_unaligned(a + j), Batch::load_unaligned(b + j));
      acc0 += t0;
      acc1 += t1;
    }
    s0 += static_cast<double>(xsimd::hadd(acc0));
    s1 += static_cast<double>(xsimd::hadd(acc1));
    for (int64_t j = body; j < end; ++j) {
      const auto [t0, t1] = f(Batch(a[j]), Batch(b[j]));
      s0 += static_cast<double>(t0.get(0));
      s1 += static_cast<double>(t1.get(0));
    }
  }
}

}  // namespace

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
      for (int64_t i = 0; i < n; ++i) s += sum_of(hw, [](Batch v) { return v; }, x + (i * c + ch) * hw);
      mean = s / count;
      const Batch m(static_cast<float>(mean));
      double ss = 0.0;
      for (int64_t i = 0; i < n; ++i)
        ss += sum_of(hw, [m](Batch v) { return (v - m) * (v - m); }, x + (i * c + ch) * hw);
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
    const Batch mb(m), sb(inv_std);
    double sum_dy = 0.0, sum_dy_xhat = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t at = (i * c + ch) * hw;
      sums_of(
          hw, [mb, sb](Batch g, Batch v) { return std::pair<Batch, Batch>(g, g * ((v - mb) * sb)); }, dy + at, x + at,
          sum_dy, sum_dy_xhat);
    }
    if (dgamma) dgamma[ch] += static_cast<float>(sum_dy_xhat);
    if (dbeta) dbeta[ch] += static_cast<float>(sum_dy);
    if (!dx) continue;
    const float k = (weight ? weight[ch] : 1.0f) * inv_std;
    // Training: the batch statistics depend on x, which adds the two mean terms.
    const float mean_dy = training ? static_cast<float>(sum_dy / count) : 0.0f;
    const float mean_dy_xhat = training ? static_cast<float>(sum_dy_xhat / count) : 0.0f;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t at = (i * c + ch) * hw;
      for (int64_t j = 0; j < hw; ++j) {
        const float xhat = (x[at + j] - m) * inv_std;
        dx[at + j] += k * (dy[at + j] - mean_dy - xhat * mean_dy_xhat);
      }
    }
  }
}

void batch_norm_forward_naive(bool training, int64_t n, int64_t c, int64_t hw, const float* x, const float* weight,
                        const float* bias, float* running_mean, float* running_var, float momentum, float eps,
                        float* mean_out, float* inv_std_out, float* out) {
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

void batch_norm_backward_naive(bool training, int64_t n, int64_t c, int64_t hw, const float* x, const float* weight,
                         const float* mean, const float* inv_std_in, const float* dy, float* dx, float* dgamma,
                         float* dbeta) {
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
