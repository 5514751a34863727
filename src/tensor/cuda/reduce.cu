// sum (and, with scale 1/n, mean) over all elements, in double, deterministic; sums over
// chosen dimensions and their adjoint.
#include "tensor/cuda/common.cuh"

namespace gan::cuda {
namespace {

// The input offset of output element `index` (reduced = false) or of summed element
// `index` (reduced = true), each counted in row-major order over its own dimensions: the
// order of cpu/reduce.cpp.
__device__ inline int64_t reduce_offset(const ReduceDims& dims, int64_t index, bool reduced) {
  int64_t at = 0, stride = 1;
  for (int i = dims.ndim - 1; i >= 0; --i) {
    if (dims.reduced[i] == reduced) {
      at += (index % dims.size[i]) * stride;
      index /= dims.size[i];
    }
    stride *= dims.size[i];
  }
  return at;
}

}  // namespace

void sum(int64_t n, const float* x, float scale, float* out) {
  sum_to_scalar(
      n, [=] __device__(int64_t i) { return static_cast<double>(x[i]); }, static_cast<double>(scale), out, "sum");
}

// One thread per output element, summing in the CPU's order: the same bits on both devices.
void sum_dims(const ReduceDims& dims, const float* x, float scale, float* out) {
  const int64_t summed = dims.reduced_count();
  for_each(
      dims.kept_count(),
      [=] __device__(int64_t o) {
        const int64_t base = reduce_offset(dims, o, false);
        double acc = 0.0;
        for (int64_t r = 0; r < summed; ++r) acc += x[base + reduce_offset(dims, r, true)];
        out[o] = static_cast<float>(acc * scale);
      },
      "sum_dims");
}

void sum_dims_backward(const ReduceDims& dims, const float* grad, float scale, float* dx) {
  const int64_t summed = dims.reduced_count();
  for_each(
      dims.kept_count() * summed,
      [=] __device__(int64_t i) {
        const int64_t o = i / summed, r = i % summed;
        dx[reduce_offset(dims, o, false) + reduce_offset(dims, r, true)] += grad[o] * scale;
      },
      "sum_dims_backward");
}

}  // namespace gan::cuda
