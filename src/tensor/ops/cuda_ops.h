#pragma once
// The CUDA paths of the ops whose CPU code is long (conv.cpp, norm.cpp): the same
// forward and backward, on CUDA kernels, in conv_cuda.cpp and norm_cuda.cpp. The CPU
// files check the arguments and hand over here for tensors on a CUDA device.
#include "tensor/backend.h"
#include "tensor/ops.h"

namespace gan {

Tensor conv2d_cuda(const Tensor& x, const Tensor& weight, const Tensor& bias, const backend::ConvGeometry& geo);
// geo is that of the convolution the transposed one is the adjoint of (see conv.cpp).
Tensor conv_transpose2d_cuda(const Tensor& x, const Tensor& weight, const Tensor& bias,
                             const backend::ConvGeometry& geo);
Tensor batch_norm2d_cuda(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                         Tensor& running_var, bool training, float momentum, float eps);

}  // namespace gan
