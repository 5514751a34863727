// Sums, over everything or over chosen dimensions, and their adjoint (cuda/reduce.cu on
// the GPU). Sums run in double; their order depends only on the sizes, not on the
// thread count.
#include <algorithm>
#include <vector>

#include "tensor/cpu/kernels.h"
#include "tensor/cpu/vec.h"
#include "tensor/profile.h"

namespace gan::cpu {
namespace {

double sum_all(const float* x, int64_t n) {
  constexpr int64_t kBlock = 4096;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> partial(blocks);
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
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
#pragma omp parallel for schedule(static) if (outputs * summed >= kParallelMin && outputs > 1)
  for (int64_t o = 0; o < outputs; ++o) body(o, index.offset(o, false), offsets);
}
}  // namespace

void sum(int64_t n, const float* x, float scale, float* out) {
  profile::Scope scope(profile::Op::reduce_loss);
  out[0] = static_cast<float>(sum_all(x, n) * scale);
}

void sum_dims(const ReduceDims& dims, const float* x, float scale, float* out) {
  profile::Scope scope(profile::Op::reduce_loss);
  for_each_output(dims, [&](int64_t o, int64_t base, const std::vector<int64_t>& offsets) {
    double acc = 0.0;
    for (int64_t r : offsets) acc += x[base + r];
    out[o] = static_cast<float>(acc * scale);
  });
}

void sum_dims_backward(const ReduceDims& dims, const float* grad, float scale, float* dx) {
  profile::Scope scope(profile::Op::reduce_loss);
  for_each_output(dims, [&](int64_t o, int64_t base, const std::vector<int64_t>& offsets) {
    const float g = grad[o] * scale;
    for (int64_t r : offsets) dx[base + r] += g;
  });
}

}  // namespace gan::cpu
