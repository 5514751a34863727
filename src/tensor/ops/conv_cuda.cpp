// conv2d and conv_transpose2d on a CUDA device: conv.cpp's algorithm (groups of images
// whose column matrices sit side by side, one GEMM per group) on CUDA kernels and cuBLAS.
#include <algorithm>

#include "tensor/ops/cuda_ops.h"

namespace gan {
namespace {

using backend::ConvGeometry;

// Column matrices are capped at this many floats (256 MiB) by shrinking the group.
constexpr int64_t kColumnBudget = 64 << 20;

int64_t group_size(int64_t batch, int64_t floats_per_image) {
  return std::max<int64_t>(1, std::min<int64_t>(batch, kColumnBudget / std::max<int64_t>(1, floats_per_image)));
}

}  // namespace

Tensor conv2d_cuda(const Tensor& x, const Tensor& w, const Tensor& bias, const ConvGeometry& geo) {
  const Device dev = x.device();
  const int64_t n = x.size(0), oc = w.size(0);
  Tensor out = Tensor::empty(Shape{n, oc, geo.out_height, geo.out_width}, dev);
  const int64_t group = group_size(n, geo.rows() * geo.cols());
  Tensor columns = Tensor::empty(Shape{geo.rows() * group * geo.cols()}, dev);
  Tensor product = Tensor::empty(Shape{oc * group * geo.cols()}, dev);
  for (int64_t n0 = 0; n0 < n; n0 += group) {
    const int64_t g = std::min(group, n - n0), cols = g * geo.cols();
    GANOMALY_CUDA_CALL(cuda::im2col_group(geo, x.data(), n0, g, columns.data()));
    GANOMALY_CUDA_CALL(cuda::gemm(false, false, oc, cols, geo.rows(), 1.0f, w.data(), geo.rows(), columns.data(), cols,
                                  0.0f, product.data(), cols));
    GANOMALY_CUDA_CALL(cuda::scatter_channels(product.data(), n0, g, oc, geo.cols(), out.data(), false));
  }
  if (bias.defined()) GANOMALY_CUDA_CALL(cuda::add_bias(out.data(), bias.data(), n, oc, geo.cols()));

  return autograd::record(out, "conv2d", {x, w, bias}, [x, w, bias, geo, group, dev](TensorImpl& o) {
    float* dx = autograd::grad_sink(x);
    float* dw = autograd::grad_sink(w);
    const int64_t n = x.size(0), oc = w.size(0);
    const float* dout = o.grad->data();
    if (float* db = autograd::grad_sink(bias)) GANOMALY_CUDA_CALL(cuda::bias_backward(db, dout, n, oc, geo.cols()));
    if (!dx && !dw) return;
    Tensor columns = Tensor::empty(Shape{geo.rows() * group * geo.cols()}, dev);
    Tensor dy = Tensor::empty(Shape{oc * group * geo.cols()}, dev);
    for (int64_t n0 = 0; n0 < n; n0 += group) {
      const int64_t g = std::min(group, n - n0), cols = g * geo.cols();
      GANOMALY_CUDA_CALL(cuda::gather_channels(dout, n0, g, oc, geo.cols(), dy.data()));
      if (dw) {  // dW += dY col^T
        GANOMALY_CUDA_CALL(cuda::im2col_group(geo, x.data(), n0, g, columns.data()));
        GANOMALY_CUDA_CALL(cuda::gemm(false, true, oc, geo.rows(), cols, 1.0f, dy.data(), cols, columns.data(), cols,
                                      1.0f, dw, geo.rows()));
      }
      if (dx) {  // dcol = W^T dY, then dx += col2im(dcol)
        GANOMALY_CUDA_CALL(cuda::gemm(true, false, geo.rows(), cols, oc, 1.0f, w.data(), geo.rows(), dy.data(), cols,
                                      0.0f, columns.data(), cols));
        GANOMALY_CUDA_CALL(cuda::col2im_group_add(geo, columns.data(), n0, g, dx));
      }
    }
  });
}

Tensor conv_transpose2d_cuda(const Tensor& x, const Tensor& w, const Tensor& bias, const ConvGeometry& geo) {
  const Device dev = x.device();
  const int64_t n = x.size(0), ic = x.size(1), oc = w.size(1);
  Tensor out = Tensor::zeros(Shape{n, oc, geo.height, geo.width}, dev);
  const int64_t group = group_size(n, geo.rows() * geo.cols());
  Tensor columns = Tensor::empty(Shape{geo.rows() * group * geo.cols()}, dev);
  Tensor xs = Tensor::empty(Shape{ic * group * geo.cols()}, dev);
  for (int64_t n0 = 0; n0 < n; n0 += group) {
    const int64_t g = std::min(group, n - n0), cols = g * geo.cols();
    GANOMALY_CUDA_CALL(cuda::gather_channels(x.data(), n0, g, ic, geo.cols(), xs.data()));
    GANOMALY_CUDA_CALL(cuda::gemm(true, false, geo.rows(), cols, ic, 1.0f, w.data(), geo.rows(), xs.data(), cols, 0.0f,
                                  columns.data(), cols));
    GANOMALY_CUDA_CALL(cuda::col2im_group_add(geo, columns.data(), n0, g, out.data()));
  }
  if (bias.defined()) GANOMALY_CUDA_CALL(cuda::add_bias(out.data(), bias.data(), n, oc, geo.height * geo.width));

  return autograd::record(out, "conv_transpose2d", {x, w, bias}, [x, w, bias, geo, group, dev](TensorImpl& o) {
    float* dx = autograd::grad_sink(x);
    float* dw = autograd::grad_sink(w);
    const int64_t n = x.size(0), ic = x.size(1), oc = w.size(1);
    const float* dout = o.grad->data();
    if (float* db = autograd::grad_sink(bias))
      GANOMALY_CUDA_CALL(cuda::bias_backward(db, dout, n, oc, geo.height * geo.width));
    if (!dx && !dw) return;
    Tensor columns = Tensor::empty(Shape{geo.rows() * group * geo.cols()}, dev);
    Tensor xs = Tensor::empty(Shape{ic * group * geo.cols()}, dev);
    for (int64_t n0 = 0; n0 < n; n0 += group) {
      const int64_t g = std::min(group, n - n0), cols = g * geo.cols();
      GANOMALY_CUDA_CALL(cuda::im2col_group(geo, dout, n0, g, columns.data()));  // dcol = im2col(dout)
      if (dw) {  // dW[IC, OC K K] += X dcol^T
        GANOMALY_CUDA_CALL(cuda::gather_channels(x.data(), n0, g, ic, geo.cols(), xs.data()));
        GANOMALY_CUDA_CALL(cuda::gemm(false, true, ic, geo.rows(), cols, 1.0f, xs.data(), cols, columns.data(), cols,
                                      1.0f, dw, geo.rows()));
      }
      if (dx) {  // dX = W dcol
        GANOMALY_CUDA_CALL(cuda::gemm(false, false, ic, cols, geo.rows(), 1.0f, w.data(), geo.rows(), columns.data(),
                                      cols, 0.0f, xs.data(), cols));
        GANOMALY_CUDA_CALL(cuda::scatter_channels(xs.data(), n0, g, ic, geo.cols(), dx, true));
      }
    }
  });
}

}  // namespace gan
