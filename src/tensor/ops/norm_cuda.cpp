// batch_norm2d on a CUDA device: norm.cpp's arithmetic (per-channel sums in double, two
// passes) on CUDA kernels; the per-channel mean and 1/std stay on the device for backward.
#include "tensor/ops/cuda_ops.h"

namespace gan {

Tensor batch_norm2d_cuda(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                         Tensor& running_var, bool training, float momentum, float eps) {
  const Device dev = x.device();
  const int64_t n = x.size(0), c = x.size(1), hw = x.size(2) * x.size(3);
  Tensor mean = Tensor::empty(Shape{c}, dev), inv_std = Tensor::empty(Shape{c}, dev);
  Tensor out = Tensor::empty(x.shape(), dev);
  const float* gamma = weight.defined() ? weight.data() : nullptr;
  const float* beta = bias.defined() ? bias.data() : nullptr;
  GANOMALY_CUDA_CALL(cuda::batch_norm_stats(training, n, c, hw, x.data(), running_mean.data(), running_var.data(),
                                            momentum, eps, mean.data(), inv_std.data()));
  GANOMALY_CUDA_CALL(cuda::batch_norm_apply(n, c, hw, x.data(), gamma, beta, mean.data(), inv_std.data(), out.data()));

  return autograd::record(out, "batch_norm2d", {x, weight, bias}, [x, weight, bias, mean, inv_std, training](TensorImpl& o) {
    float* dx = autograd::grad_sink(x);
    float* dgamma = autograd::grad_sink(weight);
    float* dbeta = autograd::grad_sink(bias);
    if (!dx && !dgamma && !dbeta) return;
    const int64_t n = x.size(0), c = x.size(1), hw = x.size(2) * x.size(3);
    const float* gamma = weight.defined() ? weight.data() : nullptr;
    GANOMALY_CUDA_CALL(cuda::batch_norm_backward(training, n, c, hw, x.data(), gamma, mean.data(), inv_std.data(),
                                                 o.grad->data(), dx, dgamma, dbeta));
  });
}

}  // namespace gan
