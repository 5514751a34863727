// The packed GEMM at the library's own flags: SSE2 on x86-64 and NEON on aarch64 in a
// portable build, every extension of this machine in a native (-march=native) build.
#include "tensor/cpu/gemm_blocked.h"

namespace gan::cpu {

void gemm_packed_baseline(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc, int threads) {
  gemm_blocked<xsimd::default_arch>(trans_a, m, n, k, alpha, a, lda, MatrixB{trans_b, b, ldb}, beta, c, ldc, threads);
}

void gemm_panels_baseline(bool trans_a, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                          const PanelSource& b, float beta, float* c, int64_t ldc, int threads) {
  gemm_blocked<xsimd::default_arch>(trans_a, m, n, k, alpha, a, lda, SourceB{b}, beta, c, ldc, threads);
}

const char* gemm_baseline_name() { return xsimd::default_arch::name(); }

}  // namespace gan::cpu
