#pragma once
// The packed, blocked SGEMM (see gemm.cpp for the loop nest), written once for any xsimd
// architecture and compiled once per kernel set by the files in isa/, each with its own
// instruction-set flags.
//
// Everything here has internal linkage (an anonymous namespace): each isa/ file gets its
// own copy built with its own flags, and the linker can never swap in the AVX-512 copy of
// a function where the SSE2 one was meant. For the same reason this code instantiates no
// standard-library template that handles floats (std::fill, std::vector): those are
// shared between files, and the linker keeps one copy, built with whichever flags (the
// only shared one, std::min<int64_t> in unoptimised builds, is plain integer code). The
// packing buffers come from gemm_workspace(), compiled at the baseline.
#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>

#if defined(__SSE__)
#include <immintrin.h>
#endif

#include "tensor/cpu/gemm_sets.h"

namespace gan::cpu {
namespace {

template <class Arch>
using batch_of = xsimd::batch<float, Arch>;
template <class Arch>
constexpr int lanes = static_cast<int>(batch_of<Arch>::size);  // 4 SSE/NEON, 8 AVX2, 16 AVX-512

// A register tile of MR rows x NV vectors (NR = NV * W columns): MR * NV accumulators,
// NV registers for the B row and one for the broadcast A value. The wide tile needs fewer
// broadcasts per FMA and is a little faster; the tall one wastes less when N is a
// multiple of 2W but not of 3W (N = 32 for the latent conv, N = 64 channels ...).
// AVX-512 (32 registers): 8 x 3W and 12 x 2W, 24 accumulators each. AVX2, SSE and NEON
// (16 registers, or 32 on NEON, used as 16): 4 x 3W and 6 x 2W, 12 accumulators each.
//
// Cache blocks: KC * NR floats (the B micro-panel) are reused from L1 across a whole A
// block; MC * KC floats (the A block, 192 KiB) stay in L2; KC * NC floats (the B panel,
// about 2 MiB) in L2/L3. KC = 256 measured best on Zen 5 (192 and 384 were no better).
template <class Arch, int MR_, int NV_>
struct Tile {
  static constexpr int W = lanes<Arch>;
  static constexpr int MR = MR_, NV = NV_, NR = NV_ * W;
  static constexpr int64_t KC = 256;
  static constexpr int64_t MC = (192 / MR) * MR;
  static constexpr int64_t NC = (2048 / NR) * NR;
};
template <class Arch>
using WideTile = Tile<Arch, (lanes<Arch> >= 16 ? 8 : 4), 3>;
template <class Arch>
using TallTile = Tile<Arch, (lanes<Arch> >= 16 ? 12 : 6), 2>;

inline void fill_zero(float* begin, float* end) {
  for (; begin < end; ++begin) *begin = 0.0f;
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

#if defined(__SSE__)
// Transposes a 4 x 4 block, for the rows left over after the groups of 8.
inline void transpose4x4(const float* src, int64_t ld, float* dst, int64_t ds) {
  __m128 r0 = _mm_loadu_ps(src), r1 = _mm_loadu_ps(src + ld), r2 = _mm_loadu_ps(src + 2 * ld),
         r3 = _mm_loadu_ps(src + 3 * ld);
  _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
  _mm_storeu_ps(dst, r0), _mm_storeu_ps(dst + ds, r1), _mm_storeu_ps(dst + 2 * ds, r2), _mm_storeu_ps(dst + 3 * ds, r3);
}
#endif

// One micro-panel, gather case: `rows` (<= width) rows of length kc starting at src.
// Groups of 8 and 4 rows go through register transposes: a scalar transpose costs about
// a cycle per element, as much as the multiply-adds when the other operand is narrow
// (N = 32 for the latent conv, or the dW GEMM with its huge K).
template <int width>
void pack_panel_gather(const float* src, int64_t ld, int64_t rows, int64_t kc, float* dst) {
  int64_t r = 0;
#if defined(__AVX__)
  for (; r + 8 <= rows; r += 8) {
    const float* s = src + r * ld;
    float* d = dst + r;
    int64_t p = 0;
    for (; p + 8 <= kc; p += 8) transpose8x8(s + p, ld, d + p * width, width);
    for (; p < kc; ++p)
      for (int64_t q = 0; q < 8; ++q) d[p * width + q] = s[q * ld + p];
  }
#endif
#if defined(__SSE__)
  for (; r + 4 <= rows; r += 4) {
    const float* s = src + r * ld;
    float* d = dst + r;
    int64_t p = 0;
    for (; p + 4 <= kc; p += 4) transpose4x4(s + p, ld, d + p * width, width);
    for (; p < kc; ++p)
      for (int64_t q = 0; q < 4; ++q) d[p * width + q] = s[q * ld + p];
  }
#endif
  for (; r < rows; ++r) {
    const float* s = src + r * ld;
    for (int64_t p = 0; p < kc; ++p) dst[p * width + r] = s[p];
  }
  if (rows < width)
    for (int64_t p = 0; p < kc; ++p) fill_zero(dst + p * width + rows, dst + (p + 1) * width);
}

// A whole block, copy case: kc runs of `cols` contiguous floats, cut into width-wide
// micro-panels of the block at dst (panel q starts at dst + q * width * kc). Panels are
// packed a group at a time, each source row read 1 KiB at a stretch: one panel at a time
// re-reads the same partly used cache lines kc rows apart, and with a power-of-two ld
// (W^T in the dcol GEMM, ld = 8192) those rows share one cache set and miss in L1 and L2.
// The width is a template argument so each full copy compiles to a few vector moves.
template <int width>
void pack_block_copy(const float* src, int64_t ld, int64_t cols, int64_t kc, float* dst) {
  constexpr int64_t group = std::max(1, 256 / width);
  const int64_t panels = (cols + width - 1) / width;
  for (int64_t q0 = 0; q0 < panels; q0 += group) {
    const int64_t q1 = std::min(panels, q0 + group);
    for (int64_t p = 0; p < kc; ++p) {
      const float* s = src + p * ld;
      float* d = dst + p * width;
      for (int64_t q = q0; q < q1; ++q) {
        const int64_t n = std::min<int64_t>(width, cols - q * width);
        if (n == width) {
          std::memcpy(d + q * width * kc, s + q * width, sizeof(float) * width);
        } else {
          std::memcpy(d + q * width * kc, s + q * width, sizeof(float) * n);
          fill_zero(d + q * width * kc + n, d + q * width * kc + width);
        }
      }
    }
  }
}

// Packs op(A)[i0 : i0+mc, p0 : p0+kc] into MR-tall micro-panels.
template <int MR>
void pack_a(bool trans, const float* a, int64_t lda, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float* dst) {
  if (trans) return pack_block_copy<MR>(a + p0 * lda + i0, lda, mc, kc, dst);
  for (int64_t i = 0; i < mc; i += MR)
    pack_panel_gather<MR>(a + (i0 + i) * lda + p0, lda, std::min<int64_t>(MR, mc - i), kc, dst + i * kc);
}

// Where B comes from: a matrix in memory, op(B) packed here, or a PanelSource that packs
// itself (gemm_sets.h). Either packs op(B)[p0 : p0+kc, j0 : j0+nc] into NR-wide micro-panels.
struct MatrixB {
  bool trans;
  const float* b;
  int64_t ldb;
  template <int NR>
  void pack(int64_t p0, int64_t kc, int64_t j0, int64_t nc, float* dst) const {
    if (!trans) return pack_block_copy<NR>(b + p0 * ldb + j0, ldb, nc, kc, dst);
    for (int64_t j = 0; j < nc; j += NR)
      pack_panel_gather<NR>(b + (j0 + j) * ldb + p0, ldb, std::min<int64_t>(NR, nc - j), kc, dst + j * kc);
  }
};
struct SourceB {
  const PanelSource& source;
  template <int NR>
  void pack(int64_t p0, int64_t kc, int64_t j0, int64_t nc, float* dst) const {
    source.pack(source.self, p0, kc, j0, nc, NR, dst);
  }
};

// ---- micro-kernel ----------------------------------------------------------------------
// C[0:mr, 0:nr] = alpha * Ap Bp + beta * C over one kc slice. Ap is MR x kc (k-major), Bp
// is kc x NR. Full tiles store straight into C; edge tiles go through a local buffer.
// beta == 0 never reads C (it may hold NaN). Without hardware FMA (SSE2), xsimd::fma is a
// multiply then an add, rounded twice: results differ from the FMA sets in the last bits.
template <class Arch, int MR, int NV>
void micro_kernel(int64_t kc, const float* __restrict ap, const float* __restrict bp, float* c, int64_t ldc,
                  float alpha, float beta, int64_t mr, int64_t nr) {
  using batch = batch_of<Arch>;
  constexpr int W = lanes<Arch>;
  constexpr int NR = NV * W;
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
template <class Arch, class T, class B>
void gemm_block(bool trans_a, int64_t m0, int64_t m1, int64_t n0, int64_t n1, int64_t k, float alpha, const float* a,
                int64_t lda, const B& b, float beta, float* c, int64_t ldc) {
  constexpr int MR = T::MR, NR = T::NR;
  constexpr int64_t KC = T::KC, MC = T::MC, NC = T::NC;
  const int64_t mc_max = std::min<int64_t>(MC, (m1 - m0 + MR - 1) / MR * MR);
  const int64_t nc_max = std::min<int64_t>(NC, (n1 - n0 + NR - 1) / NR * NR);
  const int64_t kc_max = std::min<int64_t>(KC, k);
  float* ap = gemm_workspace(0, mc_max * kc_max);
  float* bp = gemm_workspace(1, kc_max * nc_max);

  for (int64_t jc = n0; jc < n1; jc += NC) {
    const int64_t nc = std::min(NC, n1 - jc);
    for (int64_t pc = 0; pc < k; pc += KC) {
      const int64_t kc = std::min(KC, k - pc);
      // Later K slices add to what the first one wrote.
      const float beta_eff = pc == 0 ? beta : 1.0f;
      b.template pack<NR>(pc, kc, jc, nc, bp);
      for (int64_t ic = m0; ic < m1; ic += MC) {
        const int64_t mc = std::min(MC, m1 - ic);
        pack_a<MR>(trans_a, a, lda, ic, mc, pc, kc, ap);
        for (int64_t jr = 0; jr < nc; jr += NR)
          for (int64_t ir = 0; ir < mc; ir += MR)
            micro_kernel<Arch, MR, T::NV>(kc, ap + ir * kc, bp + jr * kc, c + (ic + ir) * ldc + jc + jr, ldc, alpha,
                                          beta_eff, std::min<int64_t>(MR, mc - ir), std::min<int64_t>(NR, nc - jr));
      }
    }
  }
}

// How a call splits C between nt threads: a tm x tn grid (tm * tn == nt) of rectangles
// whose edges fall on micro-panel boundaries, so only the last ones have edge tiles.
struct Plan {
  int tm = 1, tn = 1;
  int64_t work = -1;  // padded multiply-adds per k of the busiest thread
};

// The grid with the least padded work per thread. On a tie the larger dimension is split,
// which keeps small the operand that every thread packs in full.
inline Plan make_plan(int64_t m, int64_t n, int nt, int mr, int nr) {
  const int64_t mp = (m + mr - 1) / mr, np = (n + nr - 1) / nr;  // micro-panels
  Plan best;
  for (int cm = 1; cm <= nt; ++cm) {
    if (nt % cm) continue;
    const int cn = nt / cm;
    const int64_t work = (mp + cm - 1) / cm * mr * ((np + cn - 1) / cn * nr);
    if (best.work < 0 || work < best.work || (work == best.work && (m >= n ? cm > best.tm : cn > best.tn)))
      best = {cm, cn, work};
  }
  return best;
}

template <class Arch, class T, class B>
void gemm_tiled(const Plan& plan, bool trans_a, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                int64_t lda, const B& b, float beta, float* c, int64_t ldc) {
  const int64_t mp = (m + T::MR - 1) / T::MR, np = (n + T::NR - 1) / T::NR;
  const int nt = plan.tm * plan.tn;
  auto run = [&](int t) {
    const int ti = t / plan.tn, tj = t % plan.tn;
    const int64_t m0 = std::min(m, mp * ti / plan.tm * T::MR), m1 = std::min(m, mp * (ti + 1) / plan.tm * T::MR);
    const int64_t n0 = std::min(n, np * tj / plan.tn * T::NR), n1 = std::min(n, np * (tj + 1) / plan.tn * T::NR);
    if (m0 < m1 && n0 < n1)
      gemm_block<Arch, T>(trans_a, m0, m1, n0, n1, k, alpha, a, lda, b, beta, c, ldc);
  };
  if (nt == 1) return run(0);
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static, 1)
  for (int t = 0; t < nt; ++t) run(t);
#endif
}

// The packed product on `threads` threads (m, n, k > 0, alpha != 0), B a MatrixB or a
// SourceB.
template <class Arch, class B>
void gemm_blocked(bool trans_a, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                  const B& b, float beta, float* c, int64_t ldc, int threads) {
  using Wide = WideTile<Arch>;
  using Tall = TallTile<Arch>;
  // The wide tile runs a few percent faster, so it wins unless the tall one pads less by
  // more than that (e.g. N = 32 with AVX-512: the wide tile would compute 48 columns).
  const Plan wide = make_plan(m, n, threads, Wide::MR, Wide::NR);
  const Plan tall = make_plan(m, n, threads, Tall::MR, Tall::NR);
  if (wide.work <= tall.work * 21 / 20)
    gemm_tiled<Arch, Wide>(wide, trans_a, m, n, k, alpha, a, lda, b, beta, c, ldc);
  else
    gemm_tiled<Arch, Tall>(tall, trans_a, m, n, k, alpha, a, lda, b, beta, c, ldc);
}

}  // namespace
}  // namespace gan::cpu
