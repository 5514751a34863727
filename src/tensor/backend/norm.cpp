// Batch-norm dispatch (cpu/norm.cpp, cuda/norm.cu).
#include "tensor/backend/dispatch.h"

namespace gan::backend {

void batch_norm_forward(Device device, bool training, int64_t n, int64_t c, int64_t hw, const float* x,
                        const float* weight, const float* bias, float* running_mean, float* running_var,
                        float momentum, float eps, float* mean, float* inv_std, float* out) {
  if (on_cuda(device))
    return GANOMALY_CUDA_CALL(cuda::batch_norm_forward(training, n, c, hw, x, weight, bias, running_mean, running_var,
                                                       momentum, eps, mean, inv_std, out));
  cpu::batch_norm_forward(training, n, c, hw, x, weight, bias, running_mean, running_var, momentum, eps, mean, inv_std,
                          out);
}

void batch_norm_backward(Device device, bool training, int64_t n, int64_t c, int64_t hw, const float* x,
                         const float* weight, const float* mean, const float* inv_std, const float* dy, float* dx,
                         float* dweight, float* dbias) {
  if (on_cuda(device))
    return GANOMALY_CUDA_CALL(
        cuda::batch_norm_backward(training, n, c, hw, x, weight, mean, inv_std, dy, dx, dweight, dbias));
  cpu::batch_norm_backward(training, n, c, hw, x, weight, mean, inv_std, dy, dx, dweight, dbias);
}

}  // namespace gan::backend
