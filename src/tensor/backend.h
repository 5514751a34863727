#pragma once
// The one facade between ops and kernels. Ops call gan::backend::* and, for tensors on a
// CUDA device, the kernels of cuda/kernels.h through GANOMALY_CUDA_CALL. This header and
// backend.cpp are the only places that know whether CUDA was built in: without it, a
// CUDA call is never compiled and throws "built without CUDA" instead.
#include <cstdint>
#include <string>

#include "tensor/cpu/kernels.h"
#include "tensor/cuda/kernels.h"
#include "tensor/device.h"

#ifdef GANOMALY_CUDA
#define GANOMALY_CUDA_CALL(call) (call)
#else
// The call is named in an unevaluated operand only: its arguments count as used and
// nothing links against the missing kernels.
#define GANOMALY_CUDA_CALL(call) (static_cast<void>(sizeof(((call), 0))), ::gan::backend::cuda_unavailable())
#endif

namespace gan::backend {

// Whether this build has the CUDA backend.
bool cuda_built();
// Throws "built without CUDA: rebuild with -DGANOMALY_CUDA=ON".
[[noreturn]] void cuda_unavailable();
// Whether `device` can hold tensors now; `why` (when given) says why not.
bool device_available(Device device, std::string* why = nullptr);
// Throws "cannot use <what> <device>: <why>" when `device` cannot be used.
void require_device(Device device, const std::string& what);

// Device memory for Storage (cudaMalloc; never managed memory).
void* device_allocate(size_t bytes);
void device_release(void* p);

// Copies `count` floats between any two devices; fills; adds a value to every element.
void copy(Device dst_device, float* dst, Device src_device, const float* src, int64_t count);
void fill(Device device, float* p, int64_t count, float value);
void add_value(Device device, float* p, int64_t count, float value);

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
inline void im2col_rows(const ConvGeometry& g, const float* image, int64_t oy0, int64_t oy1, float* columns,
                        int64_t ld) {
  cpu::im2col_rows(g, image, oy0, oy1, columns, ld);
}
inline void col2im_add_rows(const ConvGeometry& g, const float* columns, int64_t oy0, int64_t oy1, int64_t ld,
                            float* image) {
  cpu::col2im_add_rows(g, columns, oy0, oy1, ld, image);
}

}  // namespace gan::backend
