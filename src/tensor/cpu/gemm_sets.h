#pragma once
// Inside the GEMM: the packed product compiled once per kernel set (isa/gemm_*.cpp, each
// with its own instruction-set flags), and what those copies share. Callers use gemm()
// from kernels.h; kernel_sets.h says which set runs.
#include <cstddef>
#include <cstdint>

namespace gan::cpu {

// C = alpha * op(A) op(B) + beta * C on `threads` OpenMP threads, for m, n, k > 0 and
// alpha != 0 (gemm() handles the rest).
using PackedGemm = void (*)(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                            const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                            int64_t ldc, int threads);

// B given by a packing routine instead of a matrix, so it never has to exist in memory
// (a convolution's column matrix, packed straight from the image: im2col_panels.cpp).
// pack(self, p0, kc, j0, nc, width, dst) writes B[p0 : p0+kc, j0 : j0+nc] as `width`-wide
// micro-panels, panel q at dst + q * width * kc holding dst[p * width + r] =
// B[p0 + p, j0 + q * width + r], zero past column nc. Called from several threads at once.
struct PanelSource {
  void (*pack)(const void* self, int64_t p0, int64_t kc, int64_t j0, int64_t nc, int width, float* dst);
  const void* self;
};

// C = alpha * op(A) B + beta * C with B from `b`, on `threads` threads (m, n, k > 0,
// alpha != 0): the same loop nest and sums as PackedGemm, so the same bits as packing the
// materialised B.
using PanelGemm = void (*)(bool trans_a, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                           const PanelSource& b, float beta, float* c, int64_t ldc, int threads);

// The baseline set: compiled with the library's own flags, so it runs wherever the rest
// of the library runs (SSE2 on x86-64, NEON on aarch64, -march=native in a native build).
void gemm_packed_baseline(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc, int threads);
void gemm_panels_baseline(bool trans_a, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                          const PanelSource& b, float beta, float* c, int64_t ldc, int threads);
const char* gemm_baseline_name();  // xsimd's name for the baseline architecture
#ifdef GANOMALY_GEMM_AVX2
void gemm_packed_avx2(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                      int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc, int threads);
void gemm_panels_avx2(bool trans_a, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                      const PanelSource& b, float beta, float* c, int64_t ldc, int threads);
#endif
#ifdef GANOMALY_GEMM_AVX512
void gemm_packed_avx512(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                        int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc, int threads);
void gemm_panels_avx512(bool trans_a, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                        const PanelSource& b, float beta, float* c, int64_t ldc, int threads);
#endif

// This thread's packing buffer `slot` (0: A, 1: B), at least `floats` long, 64-byte
// aligned, grow-only: no allocation per call in steady state. Compiled at the baseline.
float* gemm_workspace(int slot, size_t floats);

// gemm() with B from a PanelSource (gemm.cpp): the same threads and profile, the chosen
// set's PanelGemm.
void gemm_panels(bool trans_a, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                 const PanelSource& b, float beta, float* c, int64_t ldc);

// The set chosen for this process (see kernel_sets.h): its packed products.
PackedGemm selected_packed_gemm();
PanelGemm selected_panel_gemm();

}  // namespace gan::cpu
