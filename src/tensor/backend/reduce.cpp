// Reduction and loss dispatch (cpu/ and cuda/ reduce and loss).
#include "tensor/backend/dispatch.h"

namespace gan::backend {

void sum(Device device, int64_t n, const float* x, float scale, float* out) {
  if (on_cuda(device)) return GANOMALY_CUDA_CALL(cuda::sum(n, x, scale, out));
  cpu::sum(n, x, scale, out);
}

void sum_dims(Device device, const ReduceDims& dims, const float* x, float scale, float* out) {
  if (on_cuda(device)) return GANOMALY_CUDA_CALL(cuda::sum_dims(dims, x, scale, out));
  cpu::sum_dims(dims, x, scale, out);
}

void sum_dims_backward(Device device, const ReduceDims& dims, const float* grad, float scale, float* dx) {
  if (on_cuda(device)) return GANOMALY_CUDA_CALL(cuda::sum_dims_backward(dims, grad, scale, dx));
  cpu::sum_dims_backward(dims, grad, scale, dx);
}

void loss(Device device, Loss f, float beta, int64_t n, const float* input, const float* target, float* out) {
  if (on_cuda(device)) return GANOMALY_CUDA_CALL(cuda::loss(f, beta, n, input, target, out));
  cpu::loss(f, beta, n, input, target, out);
}

void loss_backward(Device device, Loss f, float beta, int64_t n, const float* input, const float* target,
                   const float* grad_out, float* dinput, float* dtarget) {
  if (on_cuda(device))
    return GANOMALY_CUDA_CALL(cuda::loss_backward(f, beta, n, input, target, grad_out, dinput, dtarget));
  cpu::loss_backward(f, beta, n, input, target, grad_out, dinput, dtarget);
}

}  // namespace gan::backend
