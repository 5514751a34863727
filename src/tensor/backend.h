#pragma once
// The one facade between ops and kernels. Ops call gan::backend::*; this is the only
// place that will choose between CPU and CUDA kernels.
#include <cstdint>

#include "tensor/cpu/kernels.h"

namespace gan::backend {

// C[M,N] = alpha * op(A) op(B) + beta * C; row-major; op(X) = X or X^T.
// A is M x K (or K x M when trans_a) with leading dimension lda; likewise B.
inline void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                 int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  cpu::gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

using cpu::ConvGeometry;
inline void im2col(const ConvGeometry& g, const float* image, float* columns, int64_t ld) {
  cpu::im2col(g, image, columns, ld);
}
inline void col2im_add(const ConvGeometry& g, const float* columns, int64_t ld, float* image) {
  cpu::col2im_add(g, columns, ld, image);
}

}  // namespace gan::backend
