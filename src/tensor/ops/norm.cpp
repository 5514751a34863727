// batch_norm2d: per-channel normalisation over N, H and W, forward and backward.
#include <cmath>
#include <vector>

#include "tensor/ops.h"
#include "tensor/ops/cuda_ops.h"

namespace gan {
namespace {

struct ChannelStats {
  std::vector<float> mean, inv_std;
};

}  // namespace

Tensor batch_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                    Tensor& running_var, bool training, float momentum, float eps) {
  GANOMALY_CHECK(x.ndim() == 4, "batch_norm2d: input must be NCHW, got ", x.shape());
  const int64_t n = x.size(0), c = x.size(1), hw = x.size(2) * x.size(3), count = n * hw;
  for (const Tensor* t : std::initializer_list<const Tensor*>{&weight, &bias, &running_mean, &running_var})
    GANOMALY_CHECK(!t->defined() || (t->ndim() == 1 && t->size(0) == c), "batch_norm2d: input ", x.shape(),
                   " has ", c, " channels but a parameter has shape ", t->defined() ? t->shape().str() : "");
  GANOMALY_CHECK(!training || count > 1, "batch_norm2d: training needs more than one value per channel, got input ",
                 x.shape());
  GANOMALY_CHECK(running_mean.defined() && running_var.defined(), "batch_norm2d: running statistics are required");
  check_same_device("batch_norm2d", {&x, &weight, &bias, &running_mean, &running_var});
  if (on_cuda(x)) return batch_norm2d_cuda(x, weight, bias, running_mean, running_var, training, momentum, eps);

  auto stats = std::make_shared<ChannelStats>();
  stats->mean.resize(c);
  stats->inv_std.resize(c);
  Tensor out = Tensor::empty(x.shape());
  const float* xd = x.data();
  float* od = out.data();
  float* rm = running_mean.data();
  float* rv = running_var.data();
#pragma omp parallel for schedule(static)
  for (int64_t ch = 0; ch < c; ++ch) {
    double mean, var;
    if (training) {
      double s = 0.0;
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < hw; ++j) s += xd[(i * c + ch) * hw + j];
      mean = s / count;
      double ss = 0.0;  // two passes: exact enough in double, and simple
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < hw; ++j) {
          const double d = xd[(i * c + ch) * hw + j] - mean;
          ss += d * d;
        }
      var = ss / count;
      rm[ch] = static_cast<float>((1.0 - momentum) * rm[ch] + momentum * mean);
      rv[ch] = static_cast<float>((1.0 - momentum) * rv[ch] + momentum * ss / (count - 1));
    } else {
      mean = rm[ch];
      var = rv[ch];
    }
    const float inv_std = static_cast<float>(1.0 / std::sqrt(var + eps));
    const float m = static_cast<float>(mean);
    const float gamma = weight.defined() ? weight.data()[ch] : 1.0f;
    const float beta = bias.defined() ? bias.data()[ch] : 0.0f;
    const float scale = gamma * inv_std, shift = beta - m * scale;
    for (int64_t i = 0; i < n; ++i) {
      const float* src = xd + (i * c + ch) * hw;
      float* dst = od + (i * c + ch) * hw;
      for (int64_t j = 0; j < hw; ++j) dst[j] = src[j] * scale + shift;
    }
    stats->mean[ch] = m;
    stats->inv_std[ch] = inv_std;
  }

  return autograd::record(out, "batch_norm2d", {x, weight, bias}, [x, weight, bias, stats, training](TensorImpl& o) {
    float* dx = autograd::grad_sink(x);
    float* dgamma = autograd::grad_sink(weight);
    float* dbeta = autograd::grad_sink(bias);
    const int64_t n = x.size(0), c = x.size(1), hw = x.size(2) * x.size(3), count = n * hw;
    const float* xd = x.data();
    const float* dy = o.grad->data();
#pragma omp parallel for schedule(static)
    for (int64_t ch = 0; ch < c; ++ch) {
      const float m = stats->mean[ch], inv_std = stats->inv_std[ch];
      double sum_dy = 0.0, sum_dy_xhat = 0.0;
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < hw; ++j) {
          const int64_t at = (i * c + ch) * hw + j;
          sum_dy += dy[at];
          sum_dy_xhat += dy[at] * (xd[at] - m) * inv_std;
        }
      if (dgamma) dgamma[ch] += static_cast<float>(sum_dy_xhat);
      if (dbeta) dbeta[ch] += static_cast<float>(sum_dy);
      if (!dx) continue;
      const float gamma = weight.defined() ? weight.data()[ch] : 1.0f;
      const float k = gamma * inv_std;
      // Training: the batch statistics depend on x, which adds the two mean terms.
      const float mean_dy = training ? static_cast<float>(sum_dy / count) : 0.0f;
      const float mean_dy_xhat = training ? static_cast<float>(sum_dy_xhat / count) : 0.0f;
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < hw; ++j) {
          const int64_t at = (i * c + ch) * hw + j;
          const float xhat = (xd[at] - m) * inv_std;
          dx[at] += k * (dy[at] - mean_dy - xhat * mean_dy_xhat);
        }
    }
  });
}

}  // namespace gan
