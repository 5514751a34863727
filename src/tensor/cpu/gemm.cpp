// SGEMM: packed panels, cache blocking and a register-tiled xsimd FMA micro-kernel, in the
// manner of GotoBLAS/BLIS.
//
//   for jc over N in NC steps            (B panel kc x nc lives in L2/L3)
//     for pc over K in KC steps          (K is never split across threads: fixed sum order)
//       pack B[pc, jc] into NR-wide micro-panels
//       for ic over M in MC steps
//         pack A[ic, pc] into MR-tall micro-panels     (A block mc x kc lives in L2)
//         for jr, ir: micro-kernel MR x NR             (B micro-panel kc x NR stays in L1)
//
// The transposition flags only change the packing routines; the micro-kernel always sees
// the same packed layout. B may also be packed by its owner (gemm_panels, a PanelSource:
// a convolution's column matrix that is never written, im2col_panels.cpp). Threads split
// C into a grid of disjoint rectangles, and each runs the blocked loop above on its own rectangle with its own packing buffers, so there
// are no barriers, no atomics, and the result depends only on the thread count.
//
// Two register tiles are compiled, a tall one and a wide one (see Tile in gemm_blocked.h);
// each call takes the one that wastes less work on padding at the edges of C.
//
// The packed product lives in gemm_blocked.h and is compiled once per kernel set
// (isa/gemm_*.cpp: SSE2, AVX2 + FMA, AVX-512 in a portable x86-64 build); this file keeps
// what needs no SIMD (the naive reference, tiny products, the thread count) and calls the
// set chosen at start-up (kernel_sets.cpp).
#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "tensor/cpu/gemm_sets.h"
#include "tensor/cpu/kernels.h"
#include "tensor/profile.h"

namespace gan::cpu {

void gemm_naive(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0.0;
      for (int64_t p = 0; p < k; ++p) {
        const float av = trans_a ? a[p * lda + i] : a[i * lda + p];
        const float bv = trans_b ? b[j * ldb + p] : b[p * ldb + j];
        acc += static_cast<double>(av) * bv;
      }
      float& out = c[i * ldc + j];
      out = static_cast<float>(alpha * acc + (beta == 0.0f ? 0.0f : beta * out));
    }
}

namespace {

constexpr int64_t kTinyFlops = 32 * 32 * 32;  // below this, packing does not pay
constexpr int64_t kFlopsPerThread = 1 << 21;  // do not wake a thread for less

// C = beta * C, for k == 0 or alpha == 0 (beta == 0 writes zeros without reading).
void scale_c(int64_t m, int64_t n, float beta, float* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i) {
    float* row = c + i * ldc;
    if (beta == 0.0f)
      std::fill(row, row + n, 0.0f);
    else if (beta != 1.0f)
      for (int64_t j = 0; j < n; ++j) row[j] *= beta;
  }
}

// Small products: packing and threads cost more than they save.
void gemm_small(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      float acc = 0.0f;
      for (int64_t p = 0; p < k; ++p)
        acc += (trans_a ? a[p * lda + i] : a[i * lda + p]) * (trans_b ? b[j * ldb + p] : b[p * ldb + j]);
      float& out = c[i * ldc + j];
      out = beta == 0.0f ? alpha * acc : alpha * acc + beta * out;
    }
}

// Threads for a product of `flops` multiply-adds: one inside a parallel region (gemm()
// does not nest threads), else as many as have kFlopsPerThread each.
int thread_count(int64_t flops) {
#ifdef _OPENMP
  if (!omp_in_parallel())
    return static_cast<int>(std::min<int64_t>(omp_get_max_threads(), 1 + flops / kFlopsPerThread));
#endif
  (void)flops;
  return 1;
}

}  // namespace

float* gemm_workspace(int slot, size_t floats) {
  thread_local std::vector<float, xsimd::aligned_allocator<float, 64>> buffers[2];
  auto& buffer = buffers[slot];
  if (buffer.size() < floats) buffer.resize(floats);
  return buffer.data();
}

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  profile::Scope scope(profile::Op::gemm);
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == 0.0f) {
    scale_c(m, n, beta, c, ldc);
    return;
  }
  const int64_t flops = m * n * k;
  if (flops < kTinyFlops) {
    gemm_small(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }

  selected_packed_gemm()(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, thread_count(flops));
}

void gemm_panels(bool trans_a, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                 const PanelSource& b, float beta, float* c, int64_t ldc) {
  profile::Scope scope(profile::Op::gemm);
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == 0.0f) {
    scale_c(m, n, beta, c, ldc);
    return;
  }
  // No small-product path: that one would need B as a matrix.
  selected_panel_gemm()(trans_a, m, n, k, alpha, a, lda, b, beta, c, ldc, thread_count(m * n * k));
}

}  // namespace gan::cpu
