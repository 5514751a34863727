// conv2d and conv_transpose2d, forward and backward: the arguments are checked here, the
// work is the facade's (backend/conv.cpp: cpu/conv.cpp or cuda/conv.cu, im2col and GEMM).
#include "tensor/backend.h"
#include "tensor/ops.h"

namespace gan {
namespace {

using backend::ConvGeometry;

void check_conv_args(const char* op, const Tensor& x, const Tensor& w, const Tensor& bias, int64_t weight_in_dim,
                     int stride, int padding) {
  GANOMALY_CHECK(x.ndim() == 4, op, ": input must be NCHW, got ", x.shape());
  GANOMALY_CHECK(w.ndim() == 4 && w.size(2) == w.size(3), op, ": weight must be [*, *, K, K], got ", w.shape());
  GANOMALY_CHECK(x.size(1) == w.size(weight_in_dim), op, ": input ", x.shape(), " has ", x.size(1),
                 " channels but weight ", w.shape(), " expects ", w.size(weight_in_dim));
  check_same_device(op, {&x, &w, &bias});
  GANOMALY_CHECK(stride >= 1 && padding >= 0, op, ": stride ", stride, " and padding ", padding, " are invalid");
  const int64_t out_channels = weight_in_dim == 1 ? w.size(0) : w.size(1);
  GANOMALY_CHECK(!bias.defined() || (bias.ndim() == 1 && bias.size(0) == out_channels), op, ": bias ",
                 bias.defined() ? bias.shape().str() : "", " does not match ", out_channels, " output channels");
}

const float* data_or_null(const Tensor& t) { return t.defined() ? t.data() : nullptr; }

backend::ConvGradients gradient_sinks(const Tensor& x, const Tensor& w, const Tensor& bias) {
  return {autograd::grad_sink(x), autograd::grad_sink(w), autograd::grad_sink(bias)};
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, int stride, int padding) {
  check_conv_args("conv2d", x, w, bias, 1, stride, padding);
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), wd = x.size(3);
  const int64_t oc = w.size(0), k = w.size(2);
  GANOMALY_CHECK(h + 2 * padding >= k && wd + 2 * padding >= k, "conv2d: input ", x.shape(), " is smaller than kernel ",
                 w.shape(), " with padding ", padding);
  const int64_t oh = (h + 2 * padding - k) / stride + 1, ow = (wd + 2 * padding - k) / stride + 1;
  const ConvGeometry geo{c, h, wd, k, stride, padding, oh, ow};
  Tensor out = Tensor::empty(Shape{n, oc, oh, ow}, x.device());
  backend::conv2d_forward(x.device(), geo, n, oc, x.data(), w.data(), data_or_null(bias), out.data());
  return autograd::record(out, "conv2d", {x, w, bias}, [x, w, bias, geo](TensorImpl& o) {
    const backend::ConvGradients grads = gradient_sinks(x, w, bias);
    if (grads.dx || grads.dweight || grads.dbias)
      backend::conv2d_backward(x.device(), geo, x.size(0), w.size(0), x.data(), w.data(), o.grad->data(), grads);
  });
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& bias, int stride, int padding) {
  check_conv_args("conv_transpose2d", x, w, bias, 0, stride, padding);
  const int64_t n = x.size(0), ic = x.size(1), h = x.size(2), wd = x.size(3);
  const int64_t oc = w.size(1), k = w.size(2);
  const int64_t oh = (h - 1) * stride - 2 * padding + k, ow = (wd - 1) * stride - 2 * padding + k;
  GANOMALY_CHECK(oh > 0 && ow > 0, "conv_transpose2d: input ", x.shape(), " with weight ", w.shape(),
                 " gives an empty output");
  // The geometry of the convolution this op is the adjoint of: output image -> input grid.
  const ConvGeometry geo{oc, oh, ow, k, stride, padding, h, wd};
  Tensor out = Tensor::empty(Shape{n, oc, oh, ow}, x.device());
  backend::conv_transpose2d_forward(x.device(), geo, n, ic, x.data(), w.data(), data_or_null(bias), out.data());
  return autograd::record(out, "conv_transpose2d", {x, w, bias}, [x, w, bias, geo](TensorImpl& o) {
    const backend::ConvGradients grads = gradient_sinks(x, w, bias);
    if (grads.dx || grads.dweight || grads.dbias)
      backend::conv_transpose2d_backward(x.device(), geo, x.size(0), x.size(1), x.data(), w.data(), o.grad->data(),
                                         grads);
  });
}

}  // namespace gan
