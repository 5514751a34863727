// conv2d and conv_transpose2d: the CPU algorithm is in conv_cpu.cpp; on a CUDA device the
// same grouping (images whose column matrices sit side by side, one GEMM per group) runs
// on CUDA kernels and cuBLAS, below.
#include <algorithm>

#include "tensor/backend/conv_cpu.h"
#include "tensor/backend/dispatch.h"
#include "tensor/storage.h"

namespace gan::backend {
namespace {

// Column matrices are capped at this many floats (256 MiB) by shrinking the group.
constexpr int64_t kCudaColumnBudget = 64 << 20;

int64_t cuda_group_size(const ConvGeometry& geo, int64_t batch) {
  const int64_t per_image = std::max<int64_t>(1, geo.rows() * geo.cols());
  return std::max<int64_t>(1, std::min<int64_t>(batch, kCudaColumnBudget / per_image));
}

// Scratch space on the CUDA device, from the pool.
Storage cuda_buffer(int64_t floats) { return Storage(static_cast<size_t>(floats), Device::cuda); }

void cuda_conv2d_forward(const ConvGeometry& geo, int64_t n, int64_t oc, const float* x, const float* w,
                         const float* bias, float* out) {
  const int64_t group = cuda_group_size(geo, n);
  Storage columns = cuda_buffer(geo.rows() * group * geo.cols()), product = cuda_buffer(oc * group * geo.cols());
  for (int64_t n0 = 0; n0 < n; n0 += group) {
    const int64_t g = std::min(group, n - n0), cols = g * geo.cols();
    GANOMALY_CUDA_CALL(cuda::im2col_group(geo, x, n0, g, columns.data()));
    GANOMALY_CUDA_CALL(cuda::gemm(false, false, oc, cols, geo.rows(), 1.0f, w, geo.rows(), columns.data(), cols, 0.0f,
                                  product.data(), cols));
    GANOMALY_CUDA_CALL(cuda::scatter_channels(product.data(), n0, g, oc, geo.cols(), out, false));
  }
  if (bias) GANOMALY_CUDA_CALL(cuda::add_bias(out, bias, n, oc, geo.cols()));
}

void cuda_conv2d_backward(const ConvGeometry& geo, int64_t n, int64_t oc, const float* x, const float* w,
                          const float* dout, const ConvGradients& grads) {
  float *dx = grads.dx, *dw = grads.dweight;
  if (grads.dbias) GANOMALY_CUDA_CALL(cuda::bias_backward(grads.dbias, dout, n, oc, geo.cols()));
  if (!dx && !dw) return;
  const int64_t group = cuda_group_size(geo, n);
  Storage columns = cuda_buffer(geo.rows() * group * geo.cols()), dy = cuda_buffer(oc * group * geo.cols());
  for (int64_t n0 = 0; n0 < n; n0 += group) {
    const int64_t g = std::min(group, n - n0), cols = g * geo.cols();
    GANOMALY_CUDA_CALL(cuda::gather_channels(dout, n0, g, oc, geo.cols(), dy.data()));
    if (dw) {  // dW += dY col^T
      GANOMALY_CUDA_CALL(cuda::im2col_group(geo, x, n0, g, columns.data()));
      GANOMALY_CUDA_CALL(cuda::gemm(false, true, oc, geo.rows(), cols, 1.0f, dy.data(), cols, columns.data(), cols,
                                    1.0f, dw, geo.rows()));
    }
    if (dx) {  // dcol = W^T dY, then dx += col2im(dcol)
      GANOMALY_CUDA_CALL(cuda::gemm(true, false, geo.rows(), cols, oc, 1.0f, w, geo.rows(), dy.data(), cols, 0.0f,
                                    columns.data(), cols));
      GANOMALY_CUDA_CALL(cuda::col2im_group_add(geo, columns.data(), n0, g, dx));
    }
  }
}

void cuda_conv_transpose2d_forward(const ConvGeometry& geo, int64_t n, int64_t ic, const float* x, const float* w,
                                   const float* bias, float* out) {
  const int64_t oc = geo.channels, group = cuda_group_size(geo, n);
  fill(Device::cuda, out, n * oc * geo.height * geo.width, 0.0f);  // col2im adds into it
  Storage columns = cuda_buffer(geo.rows() * group * geo.cols()), xs = cuda_buffer(ic * group * geo.cols());
  for (int64_t n0 = 0; n0 < n; n0 += group) {
    const int64_t g = std::min(group, n - n0), cols = g * geo.cols();
    GANOMALY_CUDA_CALL(cuda::gather_channels(x, n0, g, ic, geo.cols(), xs.data()));
    GANOMALY_CUDA_CALL(cuda::gemm(true, false, geo.rows(), cols, ic, 1.0f, w, geo.rows(), xs.data(), cols, 0.0f,
                                  columns.data(), cols));
    GANOMALY_CUDA_CALL(cuda::col2im_group_add(geo, columns.data(), n0, g, out));
  }
  if (bias) GANOMALY_CUDA_CALL(cuda::add_bias(out, bias, n, oc, geo.height * geo.width));
}

void cuda_conv_transpose2d_backward(const ConvGeometry& geo, int64_t n, int64_t ic, const float* x, const float* w,
                                    const float* dout, const ConvGradients& grads) {
  float *dx = grads.dx, *dw = grads.dweight;
  if (grads.dbias)
    GANOMALY_CUDA_CALL(cuda::bias_backward(grads.dbias, dout, n, geo.channels, geo.height * geo.width));
  if (!dx && !dw) return;
  const int64_t group = cuda_group_size(geo, n);
  Storage columns = cuda_buffer(geo.rows() * group * geo.cols()), xs = cuda_buffer(ic * group * geo.cols());
  for (int64_t n0 = 0; n0 < n; n0 += group) {
    const int64_t g = std::min(group, n - n0), cols = g * geo.cols();
    GANOMALY_CUDA_CALL(cuda::im2col_group(geo, dout, n0, g, columns.data()));  // dcol = im2col(dout)
    if (dw) {  // dW[IC, OC K K] += X dcol^T
      GANOMALY_CUDA_CALL(cuda::gather_channels(x, n0, g, ic, geo.cols(), xs.data()));
      GANOMALY_CUDA_CALL(cuda::gemm(false, true, ic, geo.rows(), cols, 1.0f, xs.data(), cols, columns.data(), cols,
                                    1.0f, dw, geo.rows()));
    }
    if (dx) {  // dX += W dcol
      GANOMALY_CUDA_CALL(cuda::gemm(false, false, ic, cols, geo.rows(), 1.0f, w, geo.rows(), columns.data(), cols,
                                    0.0f, xs.data(), cols));
      GANOMALY_CUDA_CALL(cuda::scatter_channels(xs.data(), n0, g, ic, geo.cols(), dx, true));
    }
  }
}

}  // namespace

void conv2d_forward(Device device, const ConvGeometry& geo, int64_t n, int64_t out_channels, const float* x,
                    const float* weight, const float* bias, float* out) {
  if (device == Device::cuda) return cuda_conv2d_forward(geo, n, out_channels, x, weight, bias, out);
  conv_cpu::conv2d_forward(geo, n, out_channels, x, weight, bias, out);
}

void conv2d_backward(Device device, const ConvGeometry& geo, int64_t n, int64_t out_channels, const float* x,
                     const float* weight, const float* dout, const ConvGradients& grads) {
  if (device == Device::cuda) return cuda_conv2d_backward(geo, n, out_channels, x, weight, dout, grads);
  conv_cpu::conv2d_backward(geo, n, out_channels, x, weight, dout, grads);
}

void conv_transpose2d_forward(Device device, const ConvGeometry& geo, int64_t n, int64_t in_channels, const float* x,
                              const float* weight, const float* bias, float* out) {
  if (device == Device::cuda) return cuda_conv_transpose2d_forward(geo, n, in_channels, x, weight, bias, out);
  conv_cpu::conv_transpose2d_forward(geo, n, in_channels, x, weight, bias, out);
}

void conv_transpose2d_backward(Device device, const ConvGeometry& geo, int64_t n, int64_t in_channels,
                               const float* x, const float* weight, const float* dout, const ConvGradients& grads) {
  if (device == Device::cuda) return cuda_conv_transpose2d_backward(geo, n, in_channels, x, weight, dout, grads);
  conv_cpu::conv_transpose2d_backward(geo, n, in_channels, x, weight, dout, grads);
}

}  // namespace gan::backend
