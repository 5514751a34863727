// batch_norm2d: per-channel normalisation over N, H and W, forward and backward. The
// per-channel mean and 1/std are saved on the tensor's device for the backward pass.
#include "tensor/backend.h"
#include "tensor/ops.h"

namespace gan {

Tensor batch_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                    Tensor& running_var, bool training, float momentum, float eps) {
  GANOMALY_CHECK(x.ndim() == 4, "batch_norm2d: input must be NCHW, got ", x.shape());
  const int64_t n = x.size(0), c = x.size(1), hw = x.size(2) * x.size(3);
  for (const Tensor* t : std::initializer_list<const Tensor*>{&weight, &bias, &running_mean, &running_var})
    GANOMALY_CHECK(!t->defined() || (t->ndim() == 1 && t->size(0) == c), "batch_norm2d: input ", x.shape(),
                   " has ", c, " channels but a parameter has shape ", t->defined() ? t->shape().str() : "");
  GANOMALY_CHECK(!training || n * hw > 1,
                 "batch_norm2d: training needs more than one value per channel, got input ", x.shape());
  GANOMALY_CHECK(running_mean.defined() && running_var.defined(), "batch_norm2d: running statistics are required");
  check_same_device("batch_norm2d", {&x, &weight, &bias, &running_mean, &running_var});
  const Device device = x.device();
  Tensor mean = Tensor::empty(Shape{c}, device), inv_std = Tensor::empty(Shape{c}, device);
  Tensor out = Tensor::empty(x.shape(), device);
  const float* gamma = weight.defined() ? weight.data() : nullptr;
  const float* beta = bias.defined() ? bias.data() : nullptr;
  backend::batch_norm_forward(device, training, n, c, hw, x.data(), gamma, beta, running_mean.data(),
                              running_var.data(), momentum, eps, mean.data(), inv_std.data(), out.data());

  return autograd::record(out, "batch_norm2d", {x, weight, bias}, [x, weight, bias, mean, inv_std, training](TensorImpl& o) {
    float* dx = autograd::grad_sink(x);
    float* dgamma = autograd::grad_sink(weight);
    float* dbeta = autograd::grad_sink(bias);
    if (!dx && !dgamma && !dbeta) return;
    const float* gamma = weight.defined() ? weight.data() : nullptr;
    backend::batch_norm_backward(x.device(), training, x.size(0), x.size(1), x.size(2) * x.size(3), x.data(), gamma,
                                 mean.data(), inv_std.data(), o.grad->data(), dx, dgamma, dbeta);
  });
}

}  // namespace gan
