// The packed GEMM for AVX-512F (compiled with -mavx512f -mfma, see CMakeLists.txt): 16
// floats a vector, 32 registers; only called when the CPU has AVX-512F (kernel_sets.cpp).
#include "tensor/cpu/gemm_blocked.h"

#if !defined(__AVX512F__)
#error "gemm_avx512.cpp needs -mavx512f"
#endif

namespace gan::cpu {

void gemm_packed_avx512(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                        int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc, int threads) {
  gemm_blocked<xsimd::avx512f>(trans_a, m, n, k, alpha, a, lda, MatrixB{trans_b, b, ldb}, beta, c, ldc, threads);
}

void gemm_panels_avx512(bool trans_a, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                        const PanelSource& b, float beta, float* c, int64_t ldc, int threads) {
  gemm_blocked<xsimd::avx512f>(trans_a, m, n, k, alpha, a, lda, SourceB{b}, beta, c, ldc, threads);
}

}  // namespace gan::cpu
