// Convolution dispatch: cpu/conv.cpp and cuda/conv.cu run the same algorithm (groups of
// images whose column matrices sit side by side, one GEMM per group) on their kernels.
#include "tensor/backend/dispatch.h"

namespace gan::backend {

void conv2d_forward(Device device, const ConvGeometry& geo, int64_t n, int64_t out_channels, const float* x,
                    const float* weight, const float* bias, float* out) {
  if (on_cuda(device)) return GANOMALY_CUDA_CALL(cuda::conv2d_forward(geo, n, out_channels, x, weight, bias, out));
  cpu::conv2d_forward(geo, n, out_channels, x, weight, bias, out);
}

void conv2d_backward(Device device, const ConvGeometry& geo, int64_t n, int64_t out_channels, const float* x,
                     const float* weight, const float* dout, const ConvGradients& grads) {
  if (on_cuda(device)) return GANOMALY_CUDA_CALL(cuda::conv2d_backward(geo, n, out_channels, x, weight, dout, grads));
  cpu::conv2d_backward(geo, n, out_channels, x, weight, dout, grads);
}

void conv_transpose2d_forward(Device device, const ConvGeometry& geo, int64_t n, int64_t in_channels, const float* x,
                              const float* weight, const float* bias, float* out) {
  if (on_cuda(device))
    return GANOMALY_CUDA_CALL(cuda::conv_transpose2d_forward(geo, n, in_channels, x, weight, bias, out));
  cpu::conv_transpose2d_forward(geo, n, in_channels, x, weight, bias, out);
}

void conv_transpose2d_backward(Device device, const ConvGeometry& geo, int64_t n, int64_t in_channels,
                               const float* x, const float* weight, const float* dout, const ConvGradients& grads) {
  if (on_cuda(device))
    return GANOMALY_CUDA_CALL(cuda::conv_transpose2d_backward(geo, n, in_channels, x, weight, dout, grads));
  cpu::conv_transpose2d_backward(geo, n, in_channels, x, weight, dout, grads);
}

}  // namespace gan::backend
