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

// GFLOP/s: the best of `reps` timed rounds, each `iterations` x 12 FMAs per lane per thread.
inline double fma_peak_gflops(int threads, int reps = 7, long iterations = 1L << 22) {
  using batch = xsimd::batch<float>;
  constexpr int chains = 12;  // more independent chains than FMA latency x FMA ports on current cores
  double best = 0;
  float sink = 0;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
#ifdef _OPENMP
#pragma omp parallel num_threads(threads) reduction(+ : sink)
#endif
    {
      batch acc[chains];
      for (int c = 0; c < chains; ++c) acc[c] = batch(1.0f + 1e-3f * c);
      const batch scale(0.9999999f), shift(1e-7f);
      for (long i = 0; i < iterations; ++i)
        for (int c = 0; c < chains; ++c) acc[c] = xsimd::fma(acc[c], scale, shift);
      batch total = acc[0];
      for (int c = 1; c < chains; ++c) total += acc[c];
      sink += xsimd::hadd(total);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, 2.0 * chains * batch::size * iterations * threads / seconds * 1e-9);
  }
  // The sum keeps the loop's results alive; it is never exactly zero.
  return sink == 0.0f ? 0.0 : best;
}

}  // namespace gan::bench
