// add, sub, mul and scalar ops, forward and backward.
#include "tensor/cpu/vec.h"
#include "tensor/ops.h"

namespace gan {
namespace {
using cpu::Batch;

void check_same(const char* op, const Tensor& a, const Tensor& b) {
  GANOMALY_CHECK(a.shape() == b.shape(), op, ": shapes differ: ", a.shape(), " vs ", b.shape());
}

// Adds s * g into the gradient of t, when t needs one.
void add_scaled_grad(const Tensor& t, const float* g, float s) {
  if (float* d = autograd::grad_sink(t)) cpu::map_add(t.numel(), d, [s](Batch x) { return x * s; }, g);
}
}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  check_same("add", a, b);
  Tensor out = Tensor::empty(a.shape());
  cpu::map(a.numel(), out.data(), [](Batch x, Batch y) { return x + y; }, a.data(), b.data());
  return autograd::record(out, "add", {a, b}, [a, b](TensorImpl& o) {
    add_scaled_grad(a, o.grad->data(), 1.0f);
    add_scaled_grad(b, o.grad->data(), 1.0f);
  });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  check_same("sub", a, b);
  Tensor out = Tensor::empty(a.shape());
  cpu::map(a.numel(), out.data(), [](Batch x, Batch y) { return x - y; }, a.data(), b.data());
  return autograd::record(out, "sub", {a, b}, [a, b](TensorImpl& o) {
    add_scaled_grad(a, o.grad->data(), 1.0f);
    add_scaled_grad(b, o.grad->data(), -1.0f);
  });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  check_same("mul", a, b);
  Tensor out = Tensor::empty(a.shape());
  cpu::map(a.numel(), out.data(), [](Batch x, Batch y) { return x * y; }, a.data(), b.data());
  return autograd::record(out, "mul", {a, b}, [a, b](TensorImpl& o) {
    const float* g = o.grad->data();
    if (float* da = autograd::grad_sink(a)) cpu::map_add(a.numel(), da, [](Batch gv, Batch y) { return gv * y; }, g, b.data());
    if (float* db = autograd::grad_sink(b)) cpu::map_add(b.numel(), db, [](Batch gv, Batch x) { return gv * x; }, g, a.data());
  });
}

Tensor add_scalar(const Tensor& a, float s) {
  Tensor out = Tensor::empty(a.shape());
  cpu::map(a.numel(), out.data(), [s](Batch x) { return x + s; }, a.data());
  return autograd::record(out, "add_scalar", {a}, [a](TensorImpl& o) { add_scaled_grad(a, o.grad->data(), 1.0f); });
}

Tensor mul_scalar(const Tensor& a, float s) {
  Tensor out = Tensor::empty(a.shape());
  cpu::map(a.numel(), out.data(), [s](Batch x) { return x * s; }, a.data());
  return autograd::record(out, "mul_scalar", {a}, [a, s](TensorImpl& o) { add_scaled_grad(a, o.grad->data(), s); });
}

}  // namespace gan
