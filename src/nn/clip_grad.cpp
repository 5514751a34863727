#include "nn/clip_grad.h"

#include <cmath>

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
    for (const Tensor& p : params)
      if (p.has_grad()) {
        Tensor g = p.grad();  // shares the gradient's buffer: the copy scales it in place
        g.copy_from(mul_scalar(g, static_cast<float>(factor)));
      }
  return static_cast<float>(norm);
}

}  // namespace gan::nn
