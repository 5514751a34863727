// sum and mean, over all elements or over chosen dimensions, forward and backward. Sums
// run in double in an order fixed by the shape (cpu/reduce.cpp), so results do not
// depend on the thread count or the device.
#include <algorithm>

#include "tensor/backend.h"
#include "tensor/ops.h"

namespace gan {
namespace {

Tensor reduce_all(const Tensor& x, float scale, const char* name) {
  Tensor out = Tensor::empty(Shape{}, x.device());
  backend::sum(x.device(), x.numel(), x.data(), scale, out.data());
  return autograd::record(out, name, {x}, [x, scale](TensorImpl& o) {
    if (float* dx = autograd::grad_sink(x)) backend::add_broadcast(x.device(), x.numel(), o.grad->data(), scale, dx);
  });
}

// The reduction of x over `dims`: the kernel's view of x, and the output's shape.
struct Reduction {
  backend::ReduceDims dims;
  Shape shape;
};

Reduction plan_reduction(const char* name, const Shape& in, const std::vector<int>& dims, bool keepdim) {
  bool reduced[Shape::kMaxDims] = {};
  for (int d : dims) {
    const int at = d < 0 ? d + in.ndim() : d;
    GANOMALY_CHECK(at >= 0 && at < in.ndim(), name, ": dimension ", d, " out of range for ", in);
    GANOMALY_CHECK(!reduced[at], name, ": dimension ", d, " given twice");
    reduced[at] = true;
  }
  Reduction r;
  std::vector<int64_t> out_dims;
  for (int i = 0; i < in.ndim(); ++i) {
    if (!reduced[i] || keepdim) out_dims.push_back(reduced[i] ? 1 : in[i]);
    if (in[i] == 1) continue;  // a dimension of 1 is both kinds: no boundary
    backend::ReduceDims& k = r.dims;
    if (k.ndim > 0 && k.reduced[k.ndim - 1] == reduced[i]) {
      k.size[k.ndim - 1] *= in[i];
    } else {
      k.size[k.ndim] = in[i];
      k.reduced[k.ndim++] = reduced[i];
    }
  }
  r.shape = Shape(out_dims);
  return r;
}

Tensor reduce_dims(const Tensor& x, const std::vector<int>& dims, bool keepdim, bool average, const char* name) {
  Reduction r = plan_reduction(name, x.shape(), dims, keepdim);
  const int64_t count = r.dims.reduced_count();
  GANOMALY_CHECK(!average || count > 0, name, ": empty dimensions of ", x.shape());
  const float scale = average ? 1.0f / static_cast<float>(count) : 1.0f;
  Tensor out = Tensor::empty(r.shape, x.device());
  if (count == 0)
    out.fill(0.0f);  // a sum over nothing
  else
    backend::sum_dims(x.device(), r.dims, x.data(), scale, out.data());
  return autograd::record(out, name, {x}, [x, plan = r.dims, scale, count](TensorImpl& o) {
    float* dx = autograd::grad_sink(x);
    if (dx && count > 0) backend::sum_dims_backward(x.device(), plan, o.grad->data(), scale, dx);
  });
}

}  // namespace

Tensor sum(const Tensor& x) { return reduce_all(x, 1.0f, "sum"); }

Tensor mean(const Tensor& x) {
  GANOMALY_CHECK(x.numel() > 0, "mean: empty tensor of shape ", x.shape());
  return reduce_all(x, 1.0f / static_cast<float>(x.numel()), "mean");
}

Tensor sum(const Tensor& x, const std::vector<int>& dims, bool keepdim) {
  return reduce_dims(x, dims, keepdim, false, "sum");
}

Tensor mean(const Tensor& x, const std::vector<int>& dims, bool keepdim) {
  return reduce_dims(x, dims, keepdim, true, "mean");
}

}  // namespace gan
