#pragma once
// The one facade between ops and kernels, as dlib's tt::. Every kernel takes the Device
// its pointers live on and runs the CPU (tensor/cpu/) or the CUDA (tensor/cuda/)
// implementation; ops call nothing else. The choice is made in src/tensor/backend/*.cpp
// only (through dispatch.h, the one place that knows whether CUDA was built in), which
// check arguments and dispatch but hold no loops. Only src/tensor, the tests and the
// benchmarks include this header (it is not installed): apps and models see
// tensor/device.h and tensor/ops.h.
//
// Pointers are raw device pointers with sizes. Kernels named add_* or *_backward add into
// their outputs (gradients accumulate); the others overwrite.
#include <cstddef>
#include <cstdint>

#include "tensor/device.h"
#include "tensor/kernel_kinds.h"

namespace gan::backend {

// The kinds of op and the geometries, shared with both backends (tensor/kernel_kinds.h).
using kernel::Activation;
using kernel::Binary;
using kernel::ConvGeometry;
using kernel::ConvGradients;
using kernel::Loss;
using kernel::ReduceDims;

// ---- Memory (backend/memory.cpp) -------------------------------------------------------
// Device memory for Storage (cudaMalloc; never managed memory).
void* device_allocate(size_t bytes);
void device_release(void* p);
// Copies `count` floats between any two devices.
void copy(Device dst_device, float* dst, Device src_device, const float* src, int64_t count);
void fill(Device device, float* p, int64_t count, float value);

// C[M,N] = alpha * op(A) op(B) + beta * C; row-major; op(X) = X or X^T. A is M x K (or
// K x M when trans_a) with leading dimension lda; likewise B. beta == 0 overwrites C.
void gemm(Device device, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// ---- Elementwise (backend/elementwise.cpp) ---------------------------------------------
void binary(Device device, Binary op, int64_t n, const float* a, const float* b, float* out);
void affine(Device device, int64_t n, const float* x, float scale, float shift, float* out);  // x * scale + shift
void add_scaled(Device device, int64_t n, const float* x, float scale, float* out);           // out += x * scale
void add_product(Device device, int64_t n, const float* a, const float* b, float* out);       // out += a * b
// out += scalar[0] * scale, scalar on the device (a gradient of a sum)
void add_broadcast(Device device, int64_t n, const float* scalar, float scale, float* out);

// Activations; the backward pass differentiates through `saved` (see kernel_kinds.h).
void activation(Device device, Activation f, float slope, int64_t n, const float* x, float* out);
void activation_backward(Device device, Activation f, float slope, int64_t n, const float* grad, const float* saved,
                         float* dx);

// Centred zero-padding of `planes` h x w planes to height x width, and its adjoint.
void pad_center(Device device, int64_t planes, int64_t h, int64_t w, int64_t height, int64_t width, int64_t top,
                int64_t left, const float* x, float* out);
void pad_center_backward(Device device, int64_t planes, int64_t h, int64_t w, int64_t height, int64_t width,
                         int64_t top, int64_t left, const float* grad, float* dx);

// Optimizer updates. adam_step: one Adam update of n weights in PyTorch's order of
// operations (see nn/adam.h); ema_update: average = decay * average + (1 - decay) * live.
void adam_step(Device device, int64_t n, const float* grad, float* m, float* v, float* w, float beta1, float beta2,
               float eps, float step_size, float bias2_sqrt);
void ema_update(Device device, int64_t n, float decay, const float* live, float* average);

// ---- Reductions and losses (backend/reduce.cpp) ----------------------------------------
// out[0] = scale * sum(x), summed in double in an order fixed by n (deterministic).
void sum(Device device, int64_t n, const float* x, float scale, float* out);

// Over the dimensions of a ReduceDims (kernel_kinds.h): out[o] = scale * the sum of the inputs of output o, in double, in row-major order of
// the summed dimensions (the same bits on either device); backward adds scale * grad[o]
// into each of them.
void sum_dims(Device device, const ReduceDims& dims, const float* x, float scale, float* out);
void sum_dims_backward(Device device, const ReduceDims& dims, const float* grad, float scale, float* dx);

// Pointwise losses with mean reduction: out[0] = mean of f(input, target), summed in
// double; backward adds grad_out[0] / n * f' into dinput and subtracts it from dtarget
// (either may be null).
void loss(Device device, Loss f, float beta, int64_t n, const float* input, const float* target, float* out);
void loss_backward(Device device, Loss f, float beta, int64_t n, const float* input, const float* target,
                   const float* grad_out, float* dinput, float* dtarget);

// ---- Convolutions (backend/conv.cpp) ---------------------------------------------------
// NCHW, square kernels. conv2d: x [n, geo.channels, geo.height, geo.width], weight
// [out_channels, geo.rows()], out [n, out_channels, geo.out_height, geo.out_width].
// conv_transpose2d is the adjoint of the convolution `geo` describes: x [n, in_channels,
// geo.out_height, geo.out_width] -> out [n, geo.channels, geo.height, geo.width], weight
// [in_channels, geo.rows()]. bias may be null. backward adds into the ConvGradients that
// are set (kernel_kinds.h).
void conv2d_forward(Device device, const ConvGeometry& geo, int64_t n, int64_t out_channels, const float* x,
                    const float* weight, const float* bias, float* out);
void conv2d_backward(Device device, const ConvGeometry& geo, int64_t n, int64_t out_channels, const float* x,
                     const float* weight, const float* dout, const ConvGradients& grads);
void conv_transpose2d_forward(Device device, const ConvGeometry& geo, int64_t n, int64_t in_channels, const float* x,
                              const float* weight, const float* bias, float* out);
void conv_transpose2d_backward(Device device, const ConvGeometry& geo, int64_t n, int64_t in_channels,
                               const float* x, const float* weight, const float* dout, const ConvGradients& grads);

// ---- Batch norm (backend/norm.cpp) -----------------------------------------------------
// Over N, H, W per channel of x [n, c, hw]. forward writes each channel's mean and
// 1/sqrt(var + eps) (from the batch in training, biased variance, the running estimates
// updated with the unbiased one and `momentum`; else from the running estimates) and the
// normalised output. weight and bias may be null (1 and 0). backward adds into whichever
// of dx, dweight, dbias is set.
void batch_norm_forward(Device device, bool training, int64_t n, int64_t c, int64_t hw, const float* x,
                        const float* weight, const float* bias, float* running_mean, float* running_var,
                        float momentum, float eps, float* mean, float* inv_std, float* out);
void batch_norm_backward(Device device, bool training, int64_t n, int64_t c, int64_t hw, const float* x,
                         const float* weight, const float* mean, const float* inv_std, const float* dy, float* dx,
                         float* dweight, float* dbias);

}  // namespace gan::backend
