// Sums (over everything or over chosen dimensions) and the pointwise losses. Sums run in
// double; their order depends only on the sizes, not on the thread count.
#include <algorithm>
#include <cmath>
#include <vector>

#include "tensor/backend/dispatch.h"
#include "tensor/cpu/vec.h"

namespace gan::backend {
namespace {

double sum_all(const float* x, int64_t n) {
  constexpr int64_t kBlock = 4096;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> partial(blocks);
#pragma omp parallel for schedule(static) if (n >= cpu::kParallelMin)
  for (int64_t b = 0; b < blocks; ++b) {
    double acc = 0.0;
    for (int64_t i = b * kBlock; i < std::min(n, (b + 1) * kBlock); ++i) acc += x[i];
    partial[b] = acc;
  }
  double total = 0.0;
  for (double p : partial) total += p;
  return total;
}

// The offset in the input of output element `o` and of summed element `r` (each in
// row-major order over its own dimensions).
struct ReduceIndex {
  const ReduceDims& dims;
  int64_t stride[ReduceDims::kMax];
  explicit ReduceIndex(const ReduceDims& d) : dims(d) {
    int64_t s = 1;
    for (int i = d.ndim - 1; i >= 0; --i) {
      stride[i] = s;
      s *= d.size[i];
    }
  }
  int64_t offset(int64_t index, bool reduced) const {
    int64_t at = 0;
    for (int i = dims.ndim - 1; i >= 0; --i) {
      if (dims.reduced[i] != reduced) continue;
      at += (index % dims.size[i]) * stride[i];
      index /= dims.size[i];
    }
    return at;
  }
};

// Calls body(o, offsets) for every output element, offsets[r] the input offset of its
// r-th summed element relative to the output's first (the same for every output).
template <typename Body>
void for_each_output(const ReduceDims& dims, Body body) {
  const ReduceIndex index(dims);
  const int64_t outputs = dims.kept_count(), summed = dims.reduced_count();
  std::vector<int64_t> offsets(summed);
  for (int64_t r = 0; r < summed; ++r) offsets[r] = index.offset(r, true);
#pragma omp parallel for schedule(static) if (outputs * summed >= cpu::kParallelMin && outputs > 1)
  for (int64_t o = 0; o < outputs; ++o) body(o, index.offset(o, false), offsets);
}

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

int64_t ReduceDims::kept_count() const {
  int64_t count = 1;
  for (int i = 0; i < ndim; ++i)
    if (!reduced[i]) count *= size[i];
  return count;
}

int64_t ReduceDims::reduced_count() const {
  int64_t count = 1;
  for (int i = 0; i < ndim; ++i)
    if (reduced[i]) count *= size[i];
  return count;
}

void sum(Device device, int64_t n, const float* x, float scale, float* out) {
  if (on_cuda(device)) return GANOMALY_CUDA_CALL(cuda::sum(n, x, scale, out));
  out[0] = static_cast<float>(sum_all(x, n) * scale);
}

void sum_dims(Device device, const ReduceDims& dims, const float* x, float scale, float* out) {
  if (on_cuda(device)) return GANOMALY_CUDA_CALL(cuda::sum_dims(dims, x, scale, out));
  for_each_output(dims, [&](int64_t o, int64_t base, const std::vector<int64_t>& offsets) {
    double acc = 0.0;
    for (int64_t r : offsets) acc += x[base + r];
    out[o] = static_cast<float>(acc * scale);
  });
}

void sum_dims_backward(Device device, const ReduceDims& dims, const float* grad, float scale, float* dx) {
  if (on_cuda(device)) return GANOMALY_CUDA_CALL(cuda::sum_dims_backward(dims, grad, scale, dx));
  for_each_output(dims, [&](int64_t o, int64_t base, const std::vector<int64_t>& offsets) {
    const float g = grad[o] * scale;
    for (int64_t r : offsets) dx[base + r] += g;
  });
}

void loss(Device device, Loss f, float beta, int64_t n, const float* input, const float* target, float* out) {
  if (on_cuda(device)) return GANOMALY_CUDA_CALL(cuda::loss(f, beta, n, input, target, out));
  double total = 0.0;
#pragma omp parallel for reduction(+ : total) schedule(static) if (n >= (1 << 16))
  for (int64_t i = 0; i < n; ++i) total += loss_value(f, beta, input[i], target[i]);
  out[0] = static_cast<float>(total / static_cast<double>(n));
}

void loss_backward(Device device, Loss f, float beta, int64_t n, const float* input, const float* target,
                   const float* grad_out, float* dinput, float* dtarget) {
  if (on_cuda(device))
    return GANOMALY_CUDA_CALL(cuda::loss_backward(f, beta, n, input, target, grad_out, dinput, dtarget));
  const float scale = grad_out[0] / static_cast<float>(n);
  for (int64_t i = 0; i < n; ++i) {
    const float g = scale * loss_slope(f, beta, input[i], target[i]);
    if (dinput) dinput[i] += g;
    if (dtarget) dtarget[i] -= g;
  }
}

}  // namespace gan::backend
