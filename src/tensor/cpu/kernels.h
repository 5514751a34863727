#pragma once
// CPU kernels on raw pointers. Each fast kernel has a naive twin (suffix _naive) that the
// tests compare it with.
#include <cstdint>

namespace gan::cpu {

// GEMM (cpu/gemm.cpp): C[M,N] = alpha * op(A) op(B) + beta * C, row-major. beta == 0
// overwrites C without reading it.
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
void gemm_naive(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// One image's convolution geometry: input channels x height x width, square kernel.
struct ConvGeometry {
  int64_t channels, height, width;
  int64_t kernel, stride, padding;
  int64_t out_height, out_width;
  int64_t rows() const { return channels * kernel * kernel; }   // column-matrix rows
  int64_t cols() const { return out_height * out_width; }       // column-matrix cols
};

// im2col (cpu/im2col.cpp): writes the rows() x cols() column matrix of one CHW image
// into `columns`, whose rows are `ld` floats apart (ld >= cols(), so several images can
// sit side by side). col2im_add adds a column matrix back into a CHW image.
void im2col(const ConvGeometry& g, const float* image, float* columns, int64_t ld);
void col2im_add(const ConvGeometry& g, const float* columns, int64_t ld, float* image);
void im2col_naive(const ConvGeometry& g, const float* image, float* columns, int64_t ld);
void col2im_add_naive(const ConvGeometry& g, const float* columns, int64_t ld, float* image);
// The same for output rows [oy0, oy1) only: their columns start at `columns` (column
// (oy - oy0) * out_width + ox), so a large image can be done a block of rows at a time.
void im2col_rows(const ConvGeometry& g, const float* image, int64_t oy0, int64_t oy1, float* columns, int64_t ld);
void col2im_add_rows(const ConvGeometry& g, const float* columns, int64_t oy0, int64_t oy1, int64_t ld, float* image);
void im2col_rows_naive(const ConvGeometry& g, const float* image, int64_t oy0, int64_t oy1, float* columns,
                       int64_t ld);
void col2im_add_rows_naive(const ConvGeometry& g, const float* columns, int64_t oy0, int64_t oy1, int64_t ld,
                           float* image);

}  // namespace gan::cpu
