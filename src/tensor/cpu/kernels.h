#pragma once
// CPU kernels on raw host pointers, one .cpp per op family in this folder, file for file
// as src/tensor/cuda/ (the same names and arguments as cuda/kernels.h where both have a
// kernel). Only the facade (src/tensor/backend/*.cpp) and the tests call them. Kernels
// named add_* or *_backward add into their outputs; the others overwrite. Each fast
// kernel that has a simpler way to compute it keeps a naive twin (suffix _naive) that the
// tests compare it with.
//
// Only here: no memory.cpp (host memory comes from Storage's pool, storage.cpp, and a
// host copy is one memcpy in the facade); the GEMM's kernel sets (gemm_sets.h,
// gemm_blocked.h, kernel_sets.h, isa/, vec.h), which cuBLAS makes unnecessary on CUDA,
// and the forward product packed from the images (im2col_panels.cpp), which needs them.
#include <cstdint>

#include "tensor/kernel_kinds.h"

namespace gan::cpu {

using kernel::Activation;
using kernel::Binary;
using kernel::ConvGeometry;
using kernel::ConvGradients;
using kernel::Loss;
using kernel::ReduceDims;

// elementwise.cpp.
void fill(int64_t n, float value, float* out);
void binary(Binary op, int64_t n, const float* a, const float* b, float* out);
void affine(int64_t n, const float* x, float scale, float shift, float* out);    // out = x * scale + shift
void add_scaled(int64_t n, const float* x, float scale, float* out);             // out += x * scale
void add_product(int64_t n, const float* a, const float* b, float* out);         // out += a * b
void add_broadcast(int64_t n, const float* scalar, float scale, float* out);     // out += scalar[0] * scale

// activation.cpp. The backward pass differentiates through the saved output (the input
// for abs; see kernel_kinds.h) and adds into dx.
void activation(Activation f, float slope, int64_t n, const float* x, float* out);
void activation_backward(Activation f, float slope, int64_t n, const float* grad, const float* saved, float* dx);

// reduce.cpp: out[0] = scale * sum(x), summed in double in an order fixed by n (not by
// the thread count); sums over chosen dimensions, in double, in row-major order of the
// summed dimensions, and their adjoint (adds scale * grad[o] into each input of o).
void sum(int64_t n, const float* x, float scale, float* out);
void sum_dims(const ReduceDims& dims, const float* x, float scale, float* out);
void sum_dims_backward(const ReduceDims& dims, const float* grad, float scale, float* dx);

// loss.cpp: out[0] = mean of the pointwise loss (summed in double); the backward pass
// adds grad_out[0] / n * f' into dinput and subtracts it from dtarget (either may be null).
void loss(Loss f, float beta, int64_t n, const float* input, const float* target, float* out);
void loss_backward(Loss f, float beta, int64_t n, const float* input, const float* target, const float* grad_out,
                   float* dinput, float* dtarget);

// shape.cpp: centred zero-padding of `planes` h x w planes to height x width, and its
// adjoint (adds into dx).
void pad_center(int64_t planes, int64_t h, int64_t w, int64_t height, int64_t width, int64_t top, int64_t left,
                const float* x, float* out);
void pad_center_backward(int64_t planes, int64_t h, int64_t w, int64_t height, int64_t width, int64_t top,
                         int64_t left, const float* grad, float* dx);

// im2col.cpp: writes the rows() x cols() column matrix of one CHW image into `columns`,
// whose rows are `ld` floats apart (ld >= cols(), so several images can sit side by
// side). col2im_add adds a column matrix back into a CHW image.
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
// im2col_gather.cpp: the same as im2col and col2im_add through tables of offsets built
// once per geometry (faster with few output pixels per row; im2col_group picks).
void im2col_gather(const ConvGeometry& g, const float* image, float* columns, int64_t ld);
void col2im_gather_add(const ConvGeometry& g, const float* columns, int64_t ld, float* image);
// The column matrices of images [n0, n0 + g) of an NCHW batch side by side (rows() x
// g * cols()), and the adjoint adding them back; channel gathers between NCHW and
// channel-major [C, g * HW]; bias add and its gradient (adds into dbias).
void im2col_group(const ConvGeometry& geo, const float* images, int64_t n0, int64_t g, float* columns);
void col2im_group_add(const ConvGeometry& geo, const float* columns, int64_t n0, int64_t g, float* images);
void gather_channels(const float* src, int64_t n0, int64_t g, int64_t c, int64_t hw, float* dst);
void scatter_channels(const float* src, int64_t n0, int64_t g, int64_t c, int64_t hw, float* dst, bool add);
void add_bias(float* out, const float* bias, int64_t n, int64_t c, int64_t hw);
void bias_backward(float* dbias, const float* dout, int64_t n, int64_t c, int64_t hw);

// im2col_panels.cpp: product[oc, g * cols()] = weight[oc, rows()] x the column matrix of
// images [n0, n0 + g), the GEMM packing its panels straight from the images (no column
// matrix in memory); the same bits as im2col_group then gemm.
void conv2d_product_panels(const ConvGeometry& geo, const float* images, int64_t n0, int64_t g, int64_t oc,
                           const float* weight, float* product);

// gemm.cpp: C[M,N] = alpha * op(A) op(B) + beta * C, row-major. beta == 0 overwrites C
// without reading it. Packed, blocked and threaded with the kernel set of kernel_sets.h.
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
void gemm_naive(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// conv.cpp: conv2d and conv_transpose2d through im2col / col2im and GEMM, with the
// facade's arguments (tensor/backend.h) less the device. Groups of images side by side,
// or large images a block of output rows at a time.
void conv2d_forward(const ConvGeometry& geo, int64_t n, int64_t out_channels, const float* x, const float* weight,
                    const float* bias, float* out);
void conv2d_backward(const ConvGeometry& geo, int64_t n, int64_t out_channels, const float* x, const float* weight,
                     const float* dout, const ConvGradients& grads);
void conv_transpose2d_forward(const ConvGeometry& geo, int64_t n, int64_t in_channels, const float* x,
                              const float* weight, const float* bias, float* out);
void conv_transpose2d_backward(const ConvGeometry& geo, int64_t n, int64_t in_channels, const float* x,
                               const float* weight, const float* dout, const ConvGradients& grads);

// norm.cpp: batch norm over N, H, W per channel; see backend.h. forward writes each
// channel's mean and 1/sqrt(var + eps) and the normalised output in one pass per channel
// (while the channel is in cache); backward adds into whichever of dx, dgamma, dbeta is set.
void batch_norm_forward(bool training, int64_t n, int64_t c, int64_t hw, const float* x, const float* weight,
                        const float* bias, float* running_mean, float* running_var, float momentum, float eps,
                        float* mean, float* inv_std, float* out);
void batch_norm_backward(bool training, int64_t n, int64_t c, int64_t hw, const float* x, const float* weight,
                         const float* mean, const float* inv_std, const float* dy, float* dx, float* dgamma,
                         float* dbeta);
// The same, one float at a time into the double sums (the reference the tests compare with).
void batch_norm_forward_naive(bool training, int64_t n, int64_t c, int64_t hw, const float* x, const float* weight,
                              const float* bias, float* running_mean, float* running_var, float momentum, float eps,
                              float* mean, float* inv_std, float* out);
void batch_norm_backward_naive(bool training, int64_t n, int64_t c, int64_t hw, const float* x, const float* weight,
                               const float* mean, const float* inv_std, const float* dy, float* dx, float* dgamma,
                               float* dbeta);

// adam.cpp: one Adam update of n weights (PyTorch's formula, see nn/adam.h), and an
// exponential moving average: average = decay * average + (1 - decay) * live.
void adam_step(int64_t n, const float* grad, float* m, float* v, float* w, float beta1, float beta2, float eps,
               float step_size, float bias2_sqrt);
void ema_update(int64_t n, float decay, const float* live, float* average);

}  // namespace gan::cpu
