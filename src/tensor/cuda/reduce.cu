// sum (and, with scale 1/n, mean) over all elements, in double, deterministic.
#include "tensor/cuda/common.cuh"

namespace gan::cuda {

void sum(int64_t n, const float* x, float scale, float* out) {
  sum_to_scalar(
      n, [=] __device__(int64_t i) { return static_cast<double>(x[i]); }, static_cast<double>(scale), out, "sum");
}

}  // namespace gan::cuda
