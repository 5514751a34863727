#pragma once
// CUDA kernels on raw device pointers, one .cu per op family in this folder, file for file
// as src/tensor/cpu/ (the same names and arguments as cpu/kernels.h where both have a
// kernel). Plain C++ declarations: only the facade (src/tensor/backend/*.cpp) calls them,
// through GANOMALY_CUDA_CALL (backend/dispatch.h), so a build without CUDA never
// references them. Every CUDA call is checked and throws gan::Error; kernels run on one
// stream, in order, so host copies see every earlier result.
//
// Only here: common.cuh (checked calls, launches, block sums); memory.cu's device calls
// (the CPU's memory is Storage's pool). No naive twins: test_cuda compares with the CPU.
#include <cstdint>
#include <string>

#include "tensor/kernel_kinds.h"

namespace gan::cuda {

using kernel::Activation;
using kernel::Binary;
using kernel::ConvGeometry;
using kernel::ConvGradients;
using kernel::Loss;
using kernel::ReduceDims;

// memory.cu: device and memory. available() is false, with the reason, when no CUDA
// device is visible (no driver, no GPU, CUDA_VISIBLE_DEVICES empty).
bool available(std::string* why);
void* allocate(size_t bytes);
void release(void* p);
void copy_to_device(float* dst, const float* host_src, int64_t count);
void copy_to_host(float* host_dst, const float* src, int64_t count);
void copy_on_device(float* dst, const float* src, int64_t count);

// elementwise.cu.
void fill(int64_t n, float value, float* out);
void binary(Binary op, int64_t n, const float* a, const float* b, float* out);
void affine(int64_t n, const float* x, float scale, float shift, float* out);    // out = x * scale + shift
void add_scaled(int64_t n, const float* x, float scale, float* out);             // out += x * scale
void add_product(int64_t n, const float* a, const float* b, float* out);         // out += a * b
void add_broadcast(int64_t n, const float* scalar, float scale, float* out);     // out += scalar[0] * scale

// activation.cu. The backward pass differentiates through the saved output (the input
// for abs; see kernel_kinds.h) and adds into dx.
void activation(Activation f, float slope, int64_t n, const float* x, float* out);
void activation_backward(Activation f, float slope, int64_t n, const float* grad, const float* saved, float* dx);

// reduce.cu: out[0] = scale * sum(x), summed in double in a fixed order (deterministic);
// sums over chosen dimensions, one thread per output in the CPU's order (cpu/reduce.cpp), and
// their adjoint (adds into dx).
void sum(int64_t n, const float* x, float scale, float* out);
void sum_dims(const ReduceDims& dims, const float* x, float scale, float* out);
void sum_dims_backward(const ReduceDims& dims, const float* grad, float scale, float* dx);

// loss.cu: out[0] = mean of the pointwise loss (summed in double); the backward pass
// adds grad_out[0] / n * f' into dinput and subtracts it from dtarget (either may be null).
void loss(Loss f, float beta, int64_t n, const float* input, const float* target, float* out);
void loss_backward(Loss f, float beta, int64_t n, const float* input, const float* target, const float* grad_out,
                   float* dinput, float* dtarget);

// shape.cu: centred zero-padding of `planes` h x w planes to height x width, and its
// adjoint (adds into dx).
void pad_center(int64_t planes, int64_t h, int64_t w, int64_t height, int64_t width, int64_t top, int64_t left,
                const float* x, float* out);
void pad_center_backward(int64_t planes, int64_t h, int64_t w, int64_t height, int64_t width, int64_t top,
                         int64_t left, const float* grad, float* dx);

// im2col.cu: the column matrices of images [n0, n0 + g) of an NCHW batch side by side
// (rows() x g * cols()), and the adjoint adding them back; channel gathers between NCHW
// and channel-major [C, g * HW]; bias add and its gradient (adds into dbias).
void im2col_group(const ConvGeometry& geo, const float* images, int64_t n0, int64_t g, float* columns);
void col2im_group_add(const ConvGeometry& geo, const float* columns, int64_t n0, int64_t g, float* images);
void gather_channels(const float* src, int64_t n0, int64_t g, int64_t c, int64_t hw, float* dst);
void scatter_channels(const float* src, int64_t n0, int64_t g, int64_t c, int64_t hw, float* dst, bool add);
void add_bias(float* out, const float* bias, int64_t n, int64_t c, int64_t hw);
void bias_backward(float* dbias, const float* dout, int64_t n, int64_t c, int64_t hw);

// gemm.cu: row-major C = alpha op(A) op(B) + beta C through cuBLAS (FP32, no TF32).
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// conv.cu: conv2d and conv_transpose2d through im2col_group / col2im_group_add and
// cuBLAS, with the facade's arguments (tensor/backend.h) less the device.
void conv2d_forward(const ConvGeometry& geo, int64_t n, int64_t out_channels, const float* x, const float* weight,
                    const float* bias, float* out);
void conv2d_backward(const ConvGeometry& geo, int64_t n, int64_t out_channels, const float* x, const float* weight,
                     const float* dout, const ConvGradients& grads);
void conv_transpose2d_forward(const ConvGeometry& geo, int64_t n, int64_t in_channels, const float* x,
                              const float* weight, const float* bias, float* out);
void conv_transpose2d_backward(const ConvGeometry& geo, int64_t n, int64_t in_channels, const float* x,
                               const float* weight, const float* dout, const ConvGradients& grads);

// norm.cu: batch norm over N, H, W per channel. forward writes each channel's mean and
// 1/sqrt(var + eps) (from the batch in training, biased variance, the running estimates
// updated with the unbiased one and `momentum`; else from the running estimates), then
// the normalised output: two launches, statistics then an elementwise pass. weight and
// bias may be null (1 and 0). backward adds into whichever of dx, dgamma, dbeta is set.
void batch_norm_forward(bool training, int64_t n, int64_t c, int64_t hw, const float* x, const float* weight,
                        const float* bias, float* running_mean, float* running_var, float momentum, float eps,
                        float* mean, float* inv_std, float* out);
void batch_norm_backward(bool training, int64_t n, int64_t c, int64_t hw, const float* x, const float* weight,
                         const float* mean, const float* inv_std, const float* dy, float* dx, float* dgamma,
                         float* dbeta);

// adam.cu: one Adam update of n weights (PyTorch's formula, see nn/adam.h), and an
// exponential moving average: average = decay * average + (1 - decay) * live.
void adam_step(int64_t n, const float* grad, float* m, float* v, float* w, float beta1, float beta2, float eps,
               float step_size, float bias2_sqrt);
void ema_update(int64_t n, float decay, const float* live, float* average);

}  // namespace gan::cuda
