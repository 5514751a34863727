// conv2d and conv_transpose2d on the GPU, with the grouping of cpu/conv.cpp: images whose
// column matrices sit side by side, one cuBLAS GEMM per group, on the kernels of im2col.cu.
// Host code (scratch buffers from Storage's pool); the facade, backend/conv.cpp, dispatches.
#include <algorithm>

#include "tensor/cuda/common.cuh"
#include "tensor/storage.h"

namespace gan::cuda {
namespace {

// Column matrices are capped at this many floats (256 MiB) by shrinking the group.
constexpr int64_t kColumnBudget = 64 << 20;

int64_t group_size(const ConvGeometry& geo, int64_t batch) {
  const int64_t per_image = std::max<int64_t>(1, geo.rows() * geo.cols());
  return std::max<int64_t>(1, std::min<int64_t>(batch, kColumnBudget / per_image));
}

// Scratch space on the CUDA device, from the pool.
Storage device_buffer(int64_t floats) { return Storage(static_cast<size_t>(floats), Device::cuda); }

}  // namespace

void conv2d_forward(const ConvGeometry& geo, int64_t n, int64_t oc, const float* x, const float* w, const float* bias,
                    float* out) {
  const int64_t group = group_size(geo, n);
  Storage columns = device_buffer(geo.rows() * group * geo.cols()), product = device_buffer(oc * group * geo.cols());
  for (int64_t n0 = 0; n0 < n; n0 += group) {
    const int64_t g = std::min(group, n - n0), cols = g * geo.cols();
    im2col_group(geo, x, n0, g, columns.data());
    gemm(false, false, oc, cols, geo.rows(), 1.0f, w, geo.rows(), columns.data(), cols, 0.0f, product.data(), cols);
    scatter_channels(product.data(), n0, g, oc, geo.cols(), out, false);
  }
  if (bias) add_bias(out, bias, n, oc, geo.cols());
}

void conv2d_backward(const ConvGeometry& geo, int64_t n, int64_t oc, const float* x, const float* w, const float* dout,
                     const ConvGradients& grads) {
  float *dx = grads.dx, *dw = grads.dweight;
  if (grads.dbias) bias_backward(grads.dbias, dout, n, oc, geo.cols());
  if (!dx && !dw) return;
  const int64_t group = group_size(geo, n);
  Storage columns = device_buffer(geo.rows() * group * geo.cols()), dy = device_buffer(oc * group * geo.cols());
  for (int64_t n0 = 0; n0 < n; n0 += group) {
    const int64_t g = std::min(group, n - n0), cols = g * geo.cols();
    gather_channels(dout, n0, g, oc, geo.cols(), dy.data());
    if (dw) {  // dW += dY col^T
      im2col_group(geo, x, n0, g, columns.data());
      gemm(false, true, oc, geo.rows(), cols, 1.0f, dy.data(), cols, columns.data(), cols, 1.0f, dw, geo.rows());
    }
    if (dx) {  // dcol = W^T dY, then dx += col2im(dcol)
      gemm(true, false, geo.rows(), cols, oc, 1.0f, w, geo.rows(), dy.data(), cols, 0.0f, columns.data(), cols);
      col2im_group_add(geo, columns.data(), n0, g, dx);
    }
  }
}

void conv_transpose2d_forward(const ConvGeometry& geo, int64_t n, int64_t ic, const float* x, const float* w,
                              const float* bias, float* out) {
  const int64_t oc = geo.channels, group = group_size(geo, n);
  fill(n * oc * geo.height * geo.width, 0.0f, out);  // col2im adds into it
  Storage columns = device_buffer(geo.rows() * group * geo.cols()), xs = device_buffer(ic * group * geo.cols());
  for (int64_t n0 = 0; n0 < n; n0 += group) {
    const int64_t g = std::min(group, n - n0), cols = g * geo.cols();
    gather_channels(x, n0, g, ic, geo.cols(), xs.data());
    gemm(true, false, geo.rows(), cols, ic, 1.0f, w, geo.rows(), xs.data(), cols, 0.0f, columns.data(), cols);
    col2im_group_add(geo, columns.data(), n0, g, out);
  }
  if (bias) add_bias(out, bias, n, oc, geo.height * geo.width);
}

void conv_transpose2d_backward(const ConvGeometry& geo, int64_t n, int64_t ic, const float* x, const float* w,
                               const float* dout, const ConvGradients& grads) {
  float *dx = grads.dx, *dw = grads.dweight;
  if (grads.dbias) bias_backward(grads.dbias, dout, n, geo.channels, geo.height * geo.width);
  if (!dx && !dw) return;
  const int64_t group = group_size(geo, n);
  Storage columns = device_buffer(geo.rows() * group * geo.cols()), xs = device_buffer(ic * group * geo.cols());
  for (int64_t n0 = 0; n0 < n; n0 += group) {
    const int64_t g = std::min(group, n - n0), cols = g * geo.cols();
    im2col_group(geo, dout, n0, g, columns.data());  // dcol = im2col(dout)
    if (dw) {  // dW[IC, OC K K] += X dcol^T
      gather_channels(x, n0, g, ic, geo.cols(), xs.data());
      gemm(false, true, ic, geo.rows(), cols, 1.0f, xs.data(), cols, columns.data(), cols, 1.0f, dw, geo.rows());
    }
    if (dx) {  // dX += W dcol
      gemm(false, false, ic, cols, geo.rows(), 1.0f, w, geo.rows(), columns.data(), cols, 0.0f, xs.data(), cols);
      scatter_channels(xs.data(), n0, g, ic, geo.cols(), dx, true);
    }
  }
}

}  // namespace gan::cuda
