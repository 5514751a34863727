// reshape (a view), flatten, and centred zero-padding.
#include <cstring>

#include "tensor/backend.h"
#include "tensor/cpu/vec.h"
#include "tensor/ops.h"

namespace gan {

Tensor reshape(const Tensor& x, const Shape& shape) {
  GANOMALY_CHECK(shape.numel() == x.numel(), "reshape: cannot view ", x.shape(), " as ", shape);
  Tensor out = x.detach();
  out.impl().shape = shape;
  return autograd::record(out, "reshape", {x}, [x](TensorImpl& o) {
    float* dx = autograd::grad_sink(x);
    if (!dx) return;
    if (on_cuda(x))
      GANOMALY_CUDA_CALL(cuda::add_scaled(x.numel(), o.grad->data(), 1.0f, dx));
    else
      cpu::map_add(x.numel(), dx, [](cpu::Batch g) { return g; }, o.grad->data());
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
  const int64_t planes = n * c;
  if (on_cuda(x)) {
    Tensor out = Tensor::empty(Shape{n, c, height, width}, x.device());
    GANOMALY_CUDA_CALL(cuda::pad_center(planes, h, w, height, width, top, left, x.data(), out.data()));
    return autograd::record(out, "pad_center", {x}, [x, top, left, height, width](TensorImpl& o) {
      if (float* dx = autograd::grad_sink(x))
        GANOMALY_CUDA_CALL(cuda::pad_center_backward(x.size(0) * x.size(1), x.size(2), x.size(3), height, width,
                                                     top, left, o.grad->data(), dx));
    });
  }
  Tensor out = Tensor::zeros(Shape{n, c, height, width});
  const float* src = x.data();
  float* dst = out.data();
#pragma omp parallel for schedule(static) if (planes * height * width >= cpu::kParallelMin)
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t y = 0; y < h; ++y)
      std::memcpy(dst + (p * height + top + y) * width + left, src + (p * h + y) * w, sizeof(float) * w);
  return autograd::record(out, "pad_center", {x}, [x, top, left, height, width](TensorImpl& o) {
    float* dx = autograd::grad_sink(x);
    if (!dx) return;
    const int64_t planes = x.size(0) * x.size(1), h = x.size(2), w = x.size(3);
    const float* g = o.grad->data();
    for (int64_t p = 0; p < planes; ++p)
      for (int64_t y = 0; y < h; ++y)
        for (int64_t xx = 0; xx < w; ++xx) dx[(p * h + y) * w + xx] += g[(p * height + top + y) * width + left + xx];
  });
}

}  // namespace gan
