#include "nn/clip_grad.h"

#include <cmath>

#include "tensor/backend.h"
#include "tensor/ops.h"

namespace gan::nn {

float clip_grad_norm(const std::vector<Tensor>& params, float max_norm) {
  GANOMALY_CHECK(std::isfinite(max_norm) && max_norm > 0, "clip_grad_norm: expected a positive norm, got ", max_norm);
  NoGradGuard no_grad;
  double squares = 0;
  for (const Tensor& p : params)
    if (p.has_grad()) {
      const Tensor g = p.grad();
      squares += sum(mul(g, g)).item();
    }
  const double norm = std::sqrt(squares);
  const double factor = max_norm / (norm + 1e-6);
  if (factor < 1.0)
    for (Tensor p : params)
      if (p.has_grad()) {
        const Tensor scaled = mul_scalar(p.grad(), static_cast<float>(factor));
        backend::copy(p.device(), p.grad_data(), scaled.device(), scaled.data(), p.numel());
      }
  return static_cast<float>(norm);
}

}  // namespace gan::nn
