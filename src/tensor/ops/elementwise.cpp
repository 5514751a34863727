// add, sub, mul and scalar ops, forward and backward.
#include "tensor/backend.h"
#include "tensor/cpu/vec.h"
#include "tensor/ops.h"

namespace gan {
namespace {
using cpu::Batch;

void check_same(const char* op, const Tensor& a, const Tensor& b) {
  GANOMALY_CHECK(a.shape() == b.shape(), op, ": shapes differ: ", a.shape(), " vs ", b.shape());
  check_same_device(op, {&a, &b});
}

// Adds s * g into the gradient of t, when t needs one.
void add_scaled_grad(const Tensor& t, const float* g, float s) {
  float* d = autograd::grad_sink(t);
  if (!d) return;
  if (on_cuda(t))
    GANOMALY_CUDA_CALL(cuda::add_scaled(t.numel(), g, s, d));
  else
    cpu::map_add(t.numel(), d, [s](Batch x) { return x * s; }, g);
}
}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  check_same("add", a, b);
  Tensor out = Tensor::empty(a.shape(), a.device());
  if (on_cuda(a))
    GANOMALY_CUDA_CALL(cuda::binary(cuda::Binary::add, a.numel(), a.data(), b.data(), out.data()));
  else
    cpu::map(a.numel(), out.data(), [](Batch x, Batch y) { return x + y; }, a.data(), b.data());
  return autograd::record(out, "add", {a, b}, [a, b](TensorImpl& o) {
    add_scaled_grad(a, o.grad->data(), 1.0f);
    add_scaled_grad(b, o.grad->data(), 1.0f);
  });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  check_same("sub", a, b);
  Tensor out = Tensor::empty(a.shape(), a.device());
  if (on_cuda(a))
    GANOMALY_CUDA_CALL(cuda::binary(cuda::Binary::sub, a.numel(), a.data(), b.data(), out.data()));
  else
    cpu::map(a.numel(), out.data(), [](Batch x, Batch y) { return x - y; }, a.data(), b.data());
  return autograd::record(out, "sub", {a, b}, [a, b](TensorImpl& o) {
    add_scaled_grad(a, o.grad->data(), 1.0f);
    add_scaled_grad(b, o.grad->data(), -1.0f);
  });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  check_same("mul", a, b);
  Tensor out = Tensor::empty(a.shape(), a.device());
  if (on_cuda(a))
    GANOMALY_CUDA_CALL(cuda::binary(cuda::Binary::mul, a.numel(), a.data(), b.data(), out.data()));
  else
    cpu::map(a.numel(), out.data(), [](Batch x, Batch y) { return x * y; }, a.data(), b.data());
  return autograd::record(out, "mul", {a, b}, [a, b](TensorImpl& o) {
    const float* g = o.grad->data();
    float* da = autograd::grad_sink(a);
    float* db = autograd::grad_sink(b);
    if (on_cuda(a)) {
      if (da) GANOMALY_CUDA_CALL(cuda::add_product(a.numel(), g, b.data(), da));
      if (db) GANOMALY_CUDA_CALL(cuda::add_product(b.numel(), g, a.data(), db));
      return;
    }
    if (da) cpu::map_add(a.numel(), da, [](Batch gv, Batch y) { return gv * y; }, g, b.data());
    if (db) cpu::map_add(b.numel(), db, [](Batch gv, Batch x) { return gv * x; }, g, a.data());
  });
}

Tensor add_scalar(const Tensor& a, float s) {
  Tensor out = Tensor::empty(a.shape(), a.device());
  if (on_cuda(a))
    GANOMALY_CUDA_CALL(cuda::affine(a.numel(), a.data(), 1.0f, s, out.data()));
  else
    cpu::map(a.numel(), out.data(), [s](Batch x) { return x + s; }, a.data());
  return autograd::record(out, "add_scalar", {a}, [a](TensorImpl& o) { add_scaled_grad(a, o.grad->data(), 1.0f); });
}

Tensor mul_scalar(const Tensor& a, float s) {
  Tensor out = Tensor::empty(a.shape(), a.device());
  if (on_cuda(a))
    GANOMALY_CUDA_CALL(cuda::affine(a.numel(), a.data(), s, 0.0f, out.data()));
  else
    cpu::map(a.numel(), out.data(), [s](Batch x) { return x * s; }, a.data());
  return autograd::record(out, "mul_scalar", {a}, [a, s](TensorImpl& o) { add_scaled_grad(a, o.grad->data(), s); });
}

}  // namespace gan
