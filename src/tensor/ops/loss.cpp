// L1, MSE, SmoothL1 and BCE losses with mean reduction, as PyTorch, forward and backward
// (the pointwise formulas are in cpu/loss.cpp and cuda/loss.cu). Sums run in double.
#include "tensor/backend.h"
#include "tensor/ops.h"

namespace gan {
namespace {

// A loss is sum_i f(input_i, target_i) / n; the target gets -f' when it needs a gradient
// (not for BCE).
Tensor pointwise_loss(const char* name, backend::Loss kind, const Tensor& input, const Tensor& target,
                      bool target_grad, float beta = 0.0f) {
  GANOMALY_CHECK(input.shape() == target.shape(), name, ": input ", input.shape(), " vs target ", target.shape());
  GANOMALY_CHECK(input.numel() > 0, name, ": empty input");
  check_same_device(name, {&input, &target});
  Tensor out = Tensor::empty(Shape{}, input.device());
  backend::loss(input.device(), kind, beta, input.numel(), input.data(), target.data(), out.data());
  std::vector<Tensor> inputs{input};
  if (target_grad) inputs.push_back(target);
  return autograd::record(out, name, inputs, [input, target, target_grad, kind, beta](TensorImpl& o) {
    float* da = autograd::grad_sink(input);
    float* db = target_grad ? autograd::grad_sink(target) : nullptr;
    if (da || db)
      backend::loss_backward(input.device(), kind, beta, input.numel(), input.data(), target.data(), o.grad->data(),
                             da, db);
  });
}

}  // namespace

Tensor l1_loss(const Tensor& input, const Tensor& target) {
  return pointwise_loss("l1_loss", backend::Loss::l1, input, target, true);
}

Tensor mse_loss(const Tensor& input, const Tensor& target) {
  return pointwise_loss("mse_loss", backend::Loss::mse, input, target, true);
}

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, float beta) {
  GANOMALY_CHECK(beta > 0.0f, "smooth_l1_loss: beta must be positive, got ", beta);
  return pointwise_loss("smooth_l1_loss", backend::Loss::smooth_l1, input, target, true, beta);
}

Tensor bce_loss(const Tensor& probability, const Tensor& target) {
  return pointwise_loss("bce_loss", backend::Loss::bce, probability, target, false);
}

}  // namespace gan
