// L1, MSE, SmoothL1 and BCE losses with mean reduction, as PyTorch. Sums run in double.
#include <algorithm>
#include <cmath>

#include "tensor/backend.h"
#include "tensor/ops.h"

namespace gan {
namespace {

// The CUDA twin of pointwise_loss below: the same loss by its kernel.
Tensor cuda_loss(const char* name, const Tensor& input, const Tensor& target, bool target_grad, cuda::Loss kind,
                 float beta) {
  Tensor out = Tensor::empty(Shape{}, input.device());
  GANOMALY_CUDA_CALL(cuda::loss(kind, beta, input.numel(), input.data(), target.data(), out.data()));
  std::vector<Tensor> inputs{input};
  if (target_grad) inputs.push_back(target);
  return autograd::record(out, name, inputs, [input, target, target_grad, kind, beta](TensorImpl& o) {
    float* da = autograd::grad_sink(input);
    float* db = target_grad ? autograd::grad_sink(target) : nullptr;
    if (da || db)
      GANOMALY_CUDA_CALL(cuda::loss_backward(kind, beta, input.numel(), input.data(), target.data(), o.grad->data(),
                                             da, db));
  });
}

// A loss is sum_i f(input_i, target_i) / n with derivative f'(input_i, target_i) with
// respect to the input; the target gets -f' when it needs a gradient (not for BCE).
template <typename Value, typename Slope>
Tensor pointwise_loss(const char* name, const Tensor& input, const Tensor& target, bool target_grad, Value value,
                      Slope slope, cuda::Loss kind, float beta = 0.0f) {
  GANOMALY_CHECK(input.shape() == target.shape(), name, ": input ", input.shape(), " vs target ", target.shape());
  GANOMALY_CHECK(input.numel() > 0, name, ": empty input");
  check_same_device(name, {&input, &target});
  if (on_cuda(input)) return cuda_loss(name, input, target, target_grad, kind, beta);
  const int64_t n = input.numel();
  const float* a = input.data();
  const float* b = target.data();
  double total = 0.0;
#pragma omp parallel for reduction(+ : total) schedule(static) if (n >= (1 << 16))
  for (int64_t i = 0; i < n; ++i) total += value(a[i], b[i]);
  Tensor out = Tensor::scalar(static_cast<float>(total / static_cast<double>(n)));
  std::vector<Tensor> inputs{input};
  if (target_grad) inputs.push_back(target);
  return autograd::record(out, name, inputs, [input, target, target_grad, slope](TensorImpl& o) {
    const int64_t n = input.numel();
    const float scale = o.grad->data()[0] / static_cast<float>(n);
    float* da = autograd::grad_sink(input);
    float* db = target_grad ? autograd::grad_sink(target) : nullptr;
    const float* a = input.data();
    const float* b = target.data();
    for (int64_t i = 0; i < n; ++i) {
      const float g = scale * slope(a[i], b[i]);
      if (da) da[i] += g;
      if (db) db[i] -= g;
    }
  });
}

float sign(float d) { return static_cast<float>((d > 0.0f) - (d < 0.0f)); }

}  // namespace

Tensor l1_loss(const Tensor& input, const Tensor& target) {
  return pointwise_loss(
      "l1_loss", input, target, true, [](float a, float b) { return std::fabs(static_cast<double>(a) - b); },
      [](float a, float b) { return sign(a - b); }, cuda::Loss::l1);
}

Tensor mse_loss(const Tensor& input, const Tensor& target) {
  return pointwise_loss(
      "mse_loss", input, target, true,
      [](float a, float b) {
        const double d = static_cast<double>(a) - b;
        return d * d;
      },
      [](float a, float b) { return 2.0f * (a - b); }, cuda::Loss::mse);
}

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, float beta) {
  GANOMALY_CHECK(beta > 0.0f, "smooth_l1_loss: beta must be positive, got ", beta);
  return pointwise_loss(
      "smooth_l1_loss", input, target, true,
      [beta](float a, float b) {
        const double d = std::fabs(static_cast<double>(a) - b);
        return d < beta ? 0.5 * d * d / beta : d - 0.5 * beta;
      },
      [beta](float a, float b) {
        const float d = a - b;
        return std::fabs(d) < beta ? d / beta : sign(d);
      },
      cuda::Loss::smooth_l1, beta);
}

Tensor bce_loss(const Tensor& probability, const Tensor& target) {
  return pointwise_loss(
      "bce_loss", probability, target, false,
      [](float p, float t) {
        const double log_p = std::max(std::log(static_cast<double>(p)), -100.0);
        const double log_q = std::max(std::log1p(-static_cast<double>(p)), -100.0);
        return -(t * log_p + (1.0 - t) * log_q);
      },
      // PyTorch's binary_cross_entropy_backward: (p - t) / max(p (1 - p), 1e-12).
      [](float p, float t) { return (p - t) / std::max((1.0f - p) * p, 1e-12f); }, cuda::Loss::bce);
}

}  // namespace gan
