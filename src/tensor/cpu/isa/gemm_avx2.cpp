// The packed GEMM for AVX2 with FMA (compiled with -mavx2 -mfma, see CMakeLists.txt); only
// called when the CPU has both (kernel_sets.cpp).
#include "tensor/cpu/gemm_blocked.h"

#if !defined(__AVX2__) || !defined(__FMA__)
#error "gemm_avx2.cpp needs -mavx2 -mfma"
#endif

namespace gan::cpu {

void gemm_packed_avx2(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                      int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc, int threads) {
  gemm_blocked<xsimd::fma3<xsimd::avx2>>(trans_a, m, n, k, alpha, a, lda, MatrixB{trans_b, b, ldb}, beta, c, ldc,
                                         threads);
}

void gemm_panels_avx2(bool trans_a, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                      const PanelSource& b, float beta, float* c, int64_t ldc, int threads) {
  gemm_blocked<xsimd::fma3<xsimd::avx2>>(trans_a, m, n, k, alpha, a, lda, SourceB{b}, beta, c, ldc, threads);
}

}  // namespace gan::cpu
