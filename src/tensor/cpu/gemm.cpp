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
// the same packed layout. Threads split C into a grid of disjoint rectangles, and each
// runs the blocked loop above on its own rectangle with its own packing buffers, so there
// are no barriers, no atomics, and the result depends only on the thread count.
#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <cstring>
#include <vector>

#if defined(__AVX__)
#include <immintrin.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

#include "tensor/cpu/kernels.h"

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

using batch = xsimd::batch<float>;
constexpr int W = static_cast<int>(batch::size);  // 8 with AVX2, 16 with AVX-512

// Register tile MR x (NV * W). The accumulators take MR * NV registers; one register
// holds the broadcast A value and NV hold the B row. AVX-512 has 32 registers: 12 x 2W
// uses 24 accumulators (12 broadcasts + 2 loads per 24 FMAs). AVX2 has 16: 6 x 2W uses 12.
constexpr int NV = 2;
constexpr int MR = W >= 16 ? 12 : 6;
constexpr int NR = NV * W;

// Cache blocks. KC * NR floats (the B micro-panel) should sit in L1 with room to spare;
// MC * KC floats (the A block) in L2; KC * NC floats (the B panel) in L2/L3.
constexpr int64_t KC = 256;
constexpr int64_t MC = (W >= 16 ? 16 : 24) * MR;  // 192 rows: 192 KiB A block
constexpr int64_t NC = 64 * NR;                    // 2048 (AVX-512) columns: 2 MiB B panel

constexpr int64_t kTinyFlops = 32 * 32 * 32;        // below this, packing does not pay
constexpr int64_t kFlopsPerThread = 1 << 21;        // do not wake a thread for less

// Grow-only, 64-byte aligned, one per thread: no allocation per call in steady state.
struct Workspace {
  std::vector<float, xsimd::aligned_allocator<float, 64>> a, b;
};
Workspace& workspace() {
  thread_local Workspace ws;
  return ws;
}

// ---- packing ---------------------------------------------------------------------------
// Both operands end up as micro-panels of `width` (MR or NR) elements per k step:
// dst[p * width + r] = op(X)[r0 + r, p0 + p], zero-padded past the matrix edge so the
// micro-kernel never needs a bounds check in its k loop.
//
// "Gather" case: element (r, p) is at src[r * ld + p] (A not transposed, B transposed):
// each panel row is contiguous in p, so the pack is a transpose.
// "Copy" case: element (r, p) is at src[p * ld + r] (A transposed, B not transposed):
// each k step is a contiguous run of `width` floats.

#if defined(__AVX__)
// Transposes an 8 x 8 block: rows r of `src` (stride ld) become columns of dst (stride ds).
inline void transpose8x8(const float* src, int64_t ld, float* dst, int64_t ds) {
  __m256 r0 = _mm256_loadu_ps(src + 0 * ld), r1 = _mm256_loadu_ps(src + 1 * ld);
  __m256 r2 = _mm256_loadu_ps(src + 2 * ld), r3 = _mm256_loadu_ps(src + 3 * ld);
  __m256 r4 = _mm256_loadu_ps(src + 4 * ld), r5 = _mm256_loadu_ps(src + 5 * ld);
  __m256 r6 = _mm256_loadu_ps(src + 6 * ld), r7 = _mm256_loadu_ps(src + 7 * ld);
  __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  _mm256_storeu_ps(dst + 0 * ds, _mm256_permute2f128_ps(s0, s4, 0x20));
  _mm256_storeu_ps(dst + 1 * ds, _mm256_permute2f128_ps(s1, s5, 0x20));
  _mm256_storeu_ps(dst + 2 * ds, _mm256_permute2f128_ps(s2, s6, 0x20));
  _mm256_storeu_ps(dst + 3 * ds, _mm256_permute2f128_ps(s3, s7, 0x20));
  _mm256_storeu_ps(dst + 4 * ds, _mm256_permute2f128_ps(s0, s4, 0x31));
  _mm256_storeu_ps(dst + 5 * ds, _mm256_permute2f128_ps(s1, s5, 0x31));
  _mm256_storeu_ps(dst + 6 * ds, _mm256_permute2f128_ps(s2, s6, 0x31));
  _mm256_storeu_ps(dst + 7 * ds, _mm256_permute2f128_ps(s3, s7, 0x31));
}
#endif

// One micro-panel, gather case: `rows` (<= width) rows of length kc starting at src.
void pack_panel_gather(const float* src, int64_t ld, int64_t rows, int64_t kc, int width, float* dst) {
  int64_t r = 0;
#if defined(__AVX__)
  // Full groups of 8 rows go through 8 x 8 register transposes; this matters for the
  // backward dW GEMM (B transposed, K huge), where packing is a large share of the work.
  for (; r + 8 <= rows; r += 8) {
    const float* s = src + r * ld;
    float* d = dst + r;
    int64_t p = 0;
    for (; p + 8 <= kc; p += 8) transpose8x8(s + p, ld, d + p * width, width);
    for (; p < kc; ++p)
      for (int64_t q = 0; q < 8; ++q) d[p * width + q] = s[q * ld + p];
  }
#endif
  for (; r < rows; ++r) {
    const float* s = src + r * ld;
    for (int64_t p = 0; p < kc; ++p) dst[p * width + r] = s[p];
  }
  if (rows < width)
    for (int64_t p = 0; p < kc; ++p) std::fill(dst + p * width + rows, dst + (p + 1) * width, 0.0f);
}

// One micro-panel, copy case: kc runs of `cols` (<= width) contiguous floats.
void pack_panel_copy(const float* src, int64_t ld, int64_t cols, int64_t kc, int width, float* dst) {
  if (cols == width) {
    for (int64_t p = 0; p < kc; ++p) std::memcpy(dst + p * width, src + p * ld, sizeof(float) * width);
    return;
  }
  for (int64_t p = 0; p < kc; ++p) {
    std::memcpy(dst + p * width, src + p * ld, sizeof(float) * cols);
    std::fill(dst + p * width + cols, dst + (p + 1) * width, 0.0f);
  }
}

// Packs op(A)[i0 : i0+mc, p0 : p0+kc] into MR-tall micro-panels.
void pack_a(bool trans, const float* a, int64_t lda, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float* dst) {
  for (int64_t i = 0; i < mc; i += MR) {
    const int64_t rows = std::min<int64_t>(MR, mc - i);
    float* d = dst + i * kc;
    if (trans)
      pack_panel_copy(a + p0 * lda + (i0 + i), lda, rows, kc, MR, d);
    else
      pack_panel_gather(a + (i0 + i) * lda + p0, lda, rows, kc, MR, d);
  }
}

// Packs op(B)[p0 : p0+kc, j0 : j0+nc] into NR-wide micro-panels.
void pack_b(bool trans, const float* b, int64_t ldb, int64_t p0, int64_t kc, int64_t j0, int64_t nc, float* dst) {
  for (int64_t j = 0; j < nc; j += NR) {
    const int64_t cols = std::min<int64_t>(NR, nc - j);
    float* d = dst + j * kc;
    if (trans)
      pack_panel_gather(b + (j0 + j) * ldb + p0, ldb, cols, kc, NR, d);
    else
      pack_panel_copy(b + p0 * ldb + (j0 + j), ldb, cols, kc, NR, d);
  }
}

// ---- micro-kernel ----------------------------------------------------------------------
// C[0:mr, 0:nr] = alpha * Ap Bp + beta * C over one kc slice. Ap is MR x kc (k-major), Bp
// is kc x NR. Full tiles store straight into C; edge tiles go through a local buffer.
// beta == 0 never reads C (it may hold NaN).
void micro_kernel(int64_t kc, const float* __restrict ap, const float* __restrict bp, float* c, int64_t ldc,
                  float alpha, float beta, int64_t mr, int64_t nr) {
  batch acc[MR][NV];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[r][v] = batch(0.0f);

  for (int64_t p = 0; p < kc; ++p) {
    batch bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = batch::load_aligned(bp + v * W);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const batch av(ap[r]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = xsimd::fma(av, bv[v], acc[r][v]);
    }
    ap += MR;
    bp += NR;
  }

  const batch va(alpha), vb(beta);
  if (mr == MR && nr == NR) {
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        float* cp = c + r * ldc + v * W;
        const batch out = beta == 0.0f ? va * acc[r][v] : xsimd::fma(va, acc[r][v], vb * batch::load_unaligned(cp));
        out.store_unaligned(cp);
      }
    return;
  }
  alignas(64) float tile[MR * NR];
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v].store_aligned(tile + r * NR + v * W);
  for (int64_t r = 0; r < mr; ++r)
    for (int64_t j = 0; j < nr; ++j) {
      float& out = c[r * ldc + j];
      out = beta == 0.0f ? alpha * tile[r * NR + j] : alpha * tile[r * NR + j] + beta * out;
    }
}

// The blocked loop nest over one rectangle C[m0:m1, n0:n1], single-threaded.
void gemm_block(bool trans_a, bool trans_b, int64_t m0, int64_t m1, int64_t n0, int64_t n1, int64_t k, float alpha,
                const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  Workspace& ws = workspace();
  const int64_t mc_max = std::min<int64_t>(MC, (m1 - m0 + MR - 1) / MR * MR);
  const int64_t nc_max = std::min<int64_t>(NC, (n1 - n0 + NR - 1) / NR * NR);
  const int64_t kc_max = std::min<int64_t>(KC, k);
  if (ws.a.size() < static_cast<size_t>(mc_max * kc_max)) ws.a.resize(mc_max * kc_max);
  if (ws.b.size() < static_cast<size_t>(kc_max * nc_max)) ws.b.resize(kc_max * nc_max);
  float* ap = ws.a.data();
  float* bp = ws.b.data();

  for (int64_t jc = n0; jc < n1; jc += NC) {
    const int64_t nc = std::min(NC, n1 - jc);
    for (int64_t pc = 0; pc < k; pc += KC) {
      const int64_t kc = std::min(KC, k - pc);
      // Later K slices add to what the first one wrote.
      const float beta_eff = pc == 0 ? beta : 1.0f;
      pack_b(trans_b, b, ldb, pc, kc, jc, nc, bp);
      for (int64_t ic = m0; ic < m1; ic += MC) {
        const int64_t mc = std::min(MC, m1 - ic);
        pack_a(trans_a, a, lda, ic, mc, pc, kc, ap);
        for (int64_t jr = 0; jr < nc; jr += NR)
          for (int64_t ir = 0; ir < mc; ir += MR)
            micro_kernel(kc, ap + ir * kc, bp + jr * kc, c + (ic + ir) * ldc + jc + jr, ldc, alpha, beta_eff,
                         std::min<int64_t>(MR, mc - ir), std::min<int64_t>(NR, nc - jr));
      }
    }
  }
}

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

// Splits C between nt threads as a tm x tn grid (tm * tn == nt) of MR/NR-aligned
// rectangles, choosing the grid with the least (padded) work per thread. On a tie, the
// larger dimension is split, which keeps the operand that every thread re-packs small.
void choose_grid(int64_t m, int64_t n, int nt, int& tm, int& tn) {
  const int64_t mp = (m + MR - 1) / MR, np = (n + NR - 1) / NR;  // micro-panels
  int64_t best = -1;
  for (int cm = 1; cm <= nt; ++cm) {
    if (nt % cm) continue;
    const int cn = nt / cm;
    const int64_t work = (mp + cm - 1) / cm * MR * ((np + cn - 1) / cn * NR);
    const bool better = best < 0 || work < best || (work == best && ((m >= n) ? cm > tm : cn > tn));
    if (better) best = work, tm = cm, tn = cn;
  }
}

}  // namespace

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
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

  int nt = 1;
#ifdef _OPENMP
  if (!omp_in_parallel()) nt = static_cast<int>(std::min<int64_t>(omp_get_max_threads(), 1 + flops / kFlopsPerThread));
#endif
  int tm = 1, tn = 1;
  choose_grid(m, n, nt, tm, tn);

  // Rectangle boundaries fall on micro-panel edges so only the last ones have edge tiles.
  const int64_t mp = (m + MR - 1) / MR, np = (n + NR - 1) / NR;
  auto run = [&](int t) {
    const int ti = t / tn, tj = t % tn;
    const int64_t m0 = std::min(m, mp * ti / tm * MR), m1 = std::min(m, mp * (ti + 1) / tm * MR);
    const int64_t n0 = std::min(n, np * tj / tn * NR), n1 = std::min(n, np * (tj + 1) / tn * NR);
    if (m0 < m1 && n0 < n1) gemm_block(trans_a, trans_b, m0, m1, n0, n1, k, alpha, a, lda, b, ldb, beta, c, ldc);
  };
  if (nt == 1) {
    run(0);
    return;
  }
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static, 1)
  for (int t = 0; t < nt; ++t) run(t);
#endif
}

}  // namespace gan::cpu
