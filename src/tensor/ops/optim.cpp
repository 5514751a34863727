// Optimizer updates: in place, outside autograd, on the tensors' own device.
#include "tensor/backend.h"
#include "tensor/ops.h"

namespace gan {

void adam_step(Tensor& weight, const Tensor& grad, Tensor& m, Tensor& v, const AdamStep& step) {
  for (const Tensor* t : std::initializer_list<const Tensor*>{&grad, &m, &v})
    GANOMALY_CHECK(t->shape() == weight.shape(), "adam_step: shape ", t->shape(), " vs weight ", weight.shape());
  check_same_device("adam_step", {&weight, &grad, &m, &v});
  backend::adam_step(weight.device(), weight.numel(), grad.data(), m.data(), v.data(), weight.data(), step.beta1,
                     step.beta2, step.eps, step.step_size, step.bias2_sqrt);
}

void ema_update(Tensor& average, const Tensor& live, float decay) {
  GANOMALY_CHECK(average.shape() == live.shape(), "ema_update: shapes differ: ", average.shape(), " vs ", live.shape());
  check_same_device("ema_update", {&average, &live});
  backend::ema_update(average.device(), average.numel(), decay, live.data(), average.data());
}

}  // namespace gan
