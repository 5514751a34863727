// Row-major GEMM through cuBLAS (column-major): C = A B is computed as C^T = B^T A^T,
// i.e. the operands swap places and keep their transposition flags. Strict FP32: the
// handle's math mode is the default one, which does not use TF32 tensor cores.
#include <cublas_v2.h>

#include <climits>

#include "tensor/cuda/common.cuh"

namespace gan::cuda {
namespace {

void check_cublas(cublasStatus_t status, const char* what) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  throw Error(str("cuBLAS error: ", cublasGetStatusString(status), " in ", what));
}

cublasHandle_t handle() {
  static cublasHandle_t h = [] {
    cublasHandle_t created = nullptr;
    check_cublas(cublasCreate(&created), "cublasCreate");
    check_cublas(cublasSetMathMode(created, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
    return created;
  }();
  return h;
}

int as_int(int64_t v, const char* what) {
  GANOMALY_CHECK(v >= 0 && v <= INT_MAX, "cuda::gemm: ", what, " = ", v, " does not fit cuBLAS's int");
  return static_cast<int>(v);
}

}  // namespace

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  check_cublas(cublasSgemm(handle(), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                           as_int(n, "n"), as_int(m, "m"), as_int(k, "k"), &alpha, b, as_int(ldb, "ldb"), a,
                           as_int(lda, "lda"), &beta, c, as_int(ldc, "ldc")),
               "cublasSgemm");
}

}  // namespace gan::cuda
