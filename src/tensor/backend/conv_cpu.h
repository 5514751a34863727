#pragma once
// For backend/conv.cpp only: the CPU convolutions (backend/conv_cpu.cpp), with the
// arguments of the facade's (tensor/backend.h) less the device.
#include "tensor/backend.h"

namespace gan::backend::conv_cpu {

void conv2d_forward(const ConvGeometry& geo, int64_t n, int64_t out_channels, const float* x, const float* weight,
                    const float* bias, float* out);
void conv2d_backward(const ConvGeometry& geo, int64_t n, int64_t out_channels, const float* x, const float* weight,
                     const float* dout, const ConvGradients& grads);
void conv_transpose2d_forward(const ConvGeometry& geo, int64_t n, int64_t in_channels, const float* x,
                              const float* weight, const float* bias, float* out);
void conv_transpose2d_backward(const ConvGeometry& geo, int64_t n, int64_t in_channels, const float* x,
                               const float* weight, const float* dout, const ConvGradients& grads);

}  // namespace gan::backend::conv_cpu
