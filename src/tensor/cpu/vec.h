#pragma once
// Elementwise loops over xsimd batches. The tail is copied into a padded batch, so one
// lambda (taking and returning xsimd::batch<float>) serves the whole array and the tail
// gets bitwise the same arithmetic as the body.
#include <algorithm>
#include <cstdint>
#include <xsimd/xsimd.hpp>

namespace gan::cpu {

using Batch = xsimd::batch<float>;
constexpr int64_t kBatchWidth = static_cast<int64_t>(Batch::size);
constexpr int64_t kParallelMin = 1 << 15;  // below this, threads cost more than they save

// out[i] = op(a[i], b[i], ...); `accumulate` adds into out instead.
template <bool accumulate, typename Op, typename... In>
void map_n(int64_t n, float* out, Op op, const In*... in) {
  const int64_t body = n - n % kBatchWidth;
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < body; i += kBatchWidth) {
    Batch r = op(Batch::load_unaligned(in + i)...);
    if constexpr (accumulate) r += Batch::load_unaligned(out + i);
    r.store_unaligned(out + i);
  }
  if (body == n) return;
  const int64_t rest = n - body;
  auto padded = [&](const float* src) {
    alignas(64) float tmp[kBatchWidth] = {};
    std::copy(src + body, src + n, tmp);
    return Batch::load_aligned(tmp);
  };
  Batch r = op(padded(in)...);
  alignas(64) float result[kBatchWidth];
  r.store_aligned(result);
  for (int64_t j = 0; j < rest; ++j) {
    if constexpr (accumulate)
      out[body + j] += result[j];
    else
      out[body + j] = result[j];
  }
}

template <typename Op, typename... In>
void map(int64_t n, float* out, Op op, const In*... in) {
  map_n<false>(n, out, op, in...);
}
template <typename Op, typename... In>
void map_add(int64_t n, float* out, Op op, const In*... in) {
  map_n<true>(n, out, op, in...);
}

}  // namespace gan::cpu
