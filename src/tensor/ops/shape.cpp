// reshape (a view), flatten, centred zero-padding, and the ops along dimension 0:
// narrow, index_select and cat (copies: tensors are contiguous and start at their
// buffer's start), forward and backward.
#include "tensor/backend.h"
#include "tensor/ops.h"

namespace gan {
namespace {

// The floats of one index along dimension 0.
int64_t row_size(const Tensor& x) { return x.size(0) == 0 ? 0 : x.numel() / x.size(0); }

}  // namespace

Tensor reshape(const Tensor& x, const Shape& shape) {
  GANOMALY_CHECK(shape.numel() == x.numel(), "reshape: cannot view ", x.shape(), " as ", shape);
  Tensor out = x.detach();
  out.impl().shape = shape;
  return autograd::record(out, "reshape", {x}, [x](TensorImpl& o) {
    if (float* dx = autograd::grad_sink(x)) backend::add_scaled(x.device(), x.numel(), o.grad->data(), 1.0f, dx);
  });
}

Tensor flatten(const Tensor& x) {
  GANOMALY_CHECK(x.ndim() >= 1, "flatten: needs at least one dimension, got ", x.shape());
  const int64_t n = x.size(0);
  return reshape(x, Shape{n, n ? x.numel() / n : 0});
}

Tensor pad_center(const Tensor& x, int64_t height, int64_t width) {
  GANOMALY_CHECK(x.ndim() == 4, "pad_center: expected NCHW, got ", x.shape());
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  GANOMALY_CHECK(height >= h && width >= w, "pad_center: cannot pad ", x.shape(), " to ", height, "x", width);
  const int64_t top = (height - h + 1) / 2, left = (width - w + 1) / 2;
  Tensor out = Tensor::empty(Shape{n, c, height, width}, x.device());
  backend::pad_center(x.device(), n * c, h, w, height, width, top, left, x.data(), out.data());
  return autograd::record(out, "pad_center", {x}, [x, top, left, height, width](TensorImpl& o) {
    if (float* dx = autograd::grad_sink(x))
      backend::pad_center_backward(x.device(), x.size(0) * x.size(1), x.size(2), x.size(3), height, width, top, left,
                                   o.grad->data(), dx);
  });
}

Tensor narrow(const Tensor& x, int64_t begin, int64_t count) {
  GANOMALY_CHECK(x.ndim() >= 1, "narrow: needs at least one dimension, got ", x.shape());
  GANOMALY_CHECK(begin >= 0 && count >= 0 && begin + count <= x.size(0), "narrow: rows [", begin, ", ", begin + count,
                 ") out of range for ", x.shape());
  const int64_t row = row_size(x);
  Tensor out = Tensor::empty(x.shape().with(0, count), x.device());
  backend::copy(x.device(), out.data(), x.device(), x.data() + begin * row, count * row);
  return autograd::record(out, "narrow", {x}, [x, begin, row](TensorImpl& o) {
    if (float* dx = autograd::grad_sink(x))
      backend::add_scaled(x.device(), o.shape.numel(), o.grad->data(), 1.0f, dx + begin * row);
  });
}

Tensor index_select(const Tensor& x, const std::vector<int64_t>& indices) {
  GANOMALY_CHECK(x.ndim() >= 1, "index_select: needs at least one dimension, got ", x.shape());
  for (int64_t i : indices)
    GANOMALY_CHECK(i >= 0 && i < x.size(0), "index_select: index ", i, " out of range for ", x.shape());
  const int64_t row = row_size(x), n = static_cast<int64_t>(indices.size());
  Tensor out = Tensor::empty(x.shape().with(0, n), x.device());
  // One copy per row: a gather kernel would serve many small rows better, but rows here
  // are images.
  for (int64_t k = 0; k < n; ++k)
    backend::copy(x.device(), out.data() + k * row, x.device(), x.data() + indices[k] * row, row);
  return autograd::record(out, "index_select", {x}, [x, indices, row](TensorImpl& o) {
    float* dx = autograd::grad_sink(x);
    if (!dx) return;
    // In order, one row at a time: a repeated index adds each of its rows.
    for (size_t k = 0; k < indices.size(); ++k)
      backend::add_scaled(x.device(), row, o.grad->data() + k * row, 1.0f, dx + indices[k] * row);
  });
}

Tensor cat(const std::vector<Tensor>& tensors) {
  GANOMALY_CHECK(!tensors.empty(), "cat: no tensors");
  const Tensor& first = tensors.front();
  GANOMALY_CHECK(first.ndim() >= 1, "cat: needs at least one dimension, got ", first.shape());
  int64_t rows = 0;
  for (const Tensor& t : tensors) {
    GANOMALY_CHECK(t.ndim() == first.ndim() && t.shape().with(0, 0) == first.shape().with(0, 0), "cat: shape ",
                   t.shape(), " does not match ", first.shape(), " beyond dimension 0");
    check_same_device("cat", {&first, &t});
    rows += t.size(0);
  }
  Tensor out = Tensor::empty(first.shape().with(0, rows), first.device());
  int64_t at = 0;
  for (const Tensor& t : tensors) {
    backend::copy(out.device(), out.data() + at, t.device(), t.data(), t.numel());
    at += t.numel();
  }
  return autograd::record(out, "cat", tensors, [tensors](TensorImpl& o) {
    int64_t at = 0;
    for (const Tensor& t : tensors) {
      if (float* dt = autograd::grad_sink(t)) backend::add_scaled(t.device(), t.numel(), o.grad->data() + at, 1.0f, dt);
      at += t.numel();
    }
  });
}

}  // namespace gan
