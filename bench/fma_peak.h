#pragma once
// The machine's attainable float32 arithmetic: independent chains of fused multiply-adds
// on xsimd's widest batch for this build's instruction set, on `threads` OpenMP threads.
// It is the ceiling that a convolution's GFLOP/s is read against (ganomaly_bench); a GEMM
// reaches 80 to 95 % of it, a whole network less.
#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace gan::bench {

// The instruction set the probe runs ("avx512bw", "avx2", "neon64", ...).
inline std::string fma_peak_arch() { return xsimd::default_arch::name(); }

namespace detail {
// One thread's share: 12 independent chains of `iterations` FMAs each, in named variables
// so that they stay in registers (an array of batches is kept on the stack by GCC 12 and
// the loop then times store-to-load forwarding, not the FMA units). Returns their sum,
// which the caller keeps, so the loop cannot be dropped.
template <class Batch>
float fma_chains(long iterations, float seed) {
  Batch a0(seed), a1(seed + 1e-3f), a2(seed + 2e-3f), a3(seed + 3e-3f), a4(seed + 4e-3f), a5(seed + 5e-3f),
      a6(seed + 6e-3f), a7(seed + 7e-3f), a8(seed + 8e-3f), a9(seed + 9e-3f), a10(seed + 1e-2f), a11(seed + 1.1e-2f);
  const Batch scale(0.9999999f), shift(1e-7f);
  for (long i = 0; i < iterations; ++i) {
    a0 = xsimd::fma(a0, scale, shift), a1 = xsimd::fma(a1, scale, shift), a2 = xsimd::fma(a2, scale, shift);
    a3 = xsimd::fma(a3, scale, shift), a4 = xsimd::fma(a4, scale, shift), a5 = xsimd::fma(a5, scale, shift);
    a6 = xsimd::fma(a6, scale, shift), a7 = xsimd::fma(a7, scale, shift), a8 = xsimd::fma(a8, scale, shift);
    a9 = xsimd::fma(a9, scale, shift), a10 = xsimd::fma(a10, scale, shift), a11 = xsimd::fma(a11, scale, shift);
  }
  return xsimd::hadd(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11)));
}
}  // namespace detail

// GFLOP/s: the best of `reps` short timed rounds (on a shared machine the shortest are the
// likeliest to run undisturbed), each `iterations` x 12 FMAs per lane on each
// of `threads` threads. `seed` comes from the caller so the compiler cannot fold the chains.
inline double fma_peak_gflops(int threads, int reps = 60, long iterations = 1L << 18, float seed = 1.0f) {
  using batch = xsimd::batch<float>;
  double best = 0;
  volatile float sink = 0;
  for (int r = 0; r < reps; ++r) {
    float sum = 0;
    const auto t0 = std::chrono::steady_clock::now();
#ifdef _OPENMP
#pragma omp parallel num_threads(threads) reduction(+ : sum)
#endif
    sum += detail::fma_chains<batch>(iterations, seed);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    sink = sink + sum;
    best = std::max(best, 2.0 * 12 * batch::size * iterations * threads / seconds * 1e-9);
  }
  return best;
}

}  // namespace gan::bench
