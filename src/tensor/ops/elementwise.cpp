// add, sub, mul and scalar ops, forward and backward.
#include "tensor/backend.h"
#include "tensor/ops.h"

namespace gan {
namespace {

void check_same(const char* op, const Tensor& a, const Tensor& b) {
  GANOMALY_CHECK(a.shape() == b.shape(), op, ": shapes differ: ", a.shape(), " vs ", b.shape());
  check_same_device(op, {&a, &b});
}

// Adds s * g into the gradient of t, when t needs one.
void add_scaled_grad(const Tensor& t, const float* g, float s) {
  if (float* d = autograd::grad_sink(t)) backend::add_scaled(t.device(), t.numel(), g, s, d);
}

Tensor binary(const char* name, backend::Binary op, const Tensor& a, const Tensor& b) {
  check_same(name, a, b);
  Tensor out = Tensor::empty(a.shape(), a.device());
  backend::binary(a.device(), op, a.numel(), a.data(), b.data(), out.data());
  return out;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary("add", backend::Binary::add, a, b);
  return autograd::record(out, "add", {a, b}, [a, b](TensorImpl& o) {
    add_scaled_grad(a, o.grad->data(), 1.0f);
    add_scaled_grad(b, o.grad->data(), 1.0f);
  });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary("sub", backend::Binary::sub, a, b);
  return autograd::record(out, "sub", {a, b}, [a, b](TensorImpl& o) {
    add_scaled_grad(a, o.grad->data(), 1.0f);
    add_scaled_grad(b, o.grad->data(), -1.0f);
  });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary("mul", backend::Binary::mul, a, b);
  return autograd::record(out, "mul", {a, b}, [a, b](TensorImpl& o) {
    const float* g = o.grad->data();
    if (float* da = autograd::grad_sink(a)) backend::add_product(a.device(), a.numel(), g, b.data(), da);
    if (float* db = autograd::grad_sink(b)) backend::add_product(b.device(), b.numel(), g, a.data(), db);
  });
}

Tensor add_scalar(const Tensor& a, float s) {
  Tensor out = Tensor::empty(a.shape(), a.device());
  backend::affine(a.device(), a.numel(), a.data(), 1.0f, s, out.data());
  return autograd::record(out, "add_scalar", {a}, [a](TensorImpl& o) { add_scaled_grad(a, o.grad->data(), 1.0f); });
}

Tensor mul_scalar(const Tensor& a, float s) {
  Tensor out = Tensor::empty(a.shape(), a.device());
  backend::affine(a.device(), a.numel(), a.data(), s, 0.0f, out.data());
  return autograd::record(out, "mul_scalar", {a}, [a, s](TensorImpl& o) { add_scaled_grad(a, o.grad->data(), s); });
}

}  // namespace gan
