#include "nn/adam.h"

#include <cmath>

#include "tensor/ops.h"

namespace gan::nn {

Adam::Adam(std::vector<Tensor> params, AdamOptions options) : options(options), params_(std::move(params)) {
  for (const Tensor& p : params_) {
    m_.push_back(Tensor::zeros(p.shape(), p.device()));  // the moments live with their parameter
    v_.push_back(Tensor::zeros(p.shape(), p.device()));
  }
}

void Adam::step() {
  ++steps_;
  const float b1 = options.beta1, b2 = options.beta2, eps = options.eps;
  const float bias1 = 1.0f - static_cast<float>(std::pow(static_cast<double>(b1), static_cast<double>(steps_)));
  const float bias2 = 1.0f - static_cast<float>(std::pow(static_cast<double>(b2), static_cast<double>(steps_)));
  const float step_size = options.lr / bias1;
  const float bias2_sqrt = std::sqrt(bias2);
  const AdamStep step{b1, b2, eps, step_size, bias2_sqrt};
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    if (p.has_grad()) adam_step(p, p.grad(), m_[i], v_[i], step);
  }
}

void Adam::to(Device device) {
  for (size_t i = 0; i < params_.size(); ++i) {
    params_[i].move_to(device);
    m_[i].move_to(device);
    v_[i].move_to(device);
  }
}

void Adam::zero_grad() {
  for (Tensor& p : params_) p.release_grad();
}

NamedTensors Adam::state() const {
  NamedTensors out;
  for (size_t i = 0; i < params_.size(); ++i) {
    out.emplace_back("m." + std::to_string(i), m_[i]);
    out.emplace_back("v." + std::to_string(i), v_[i]);
  }
  out.emplace_back("steps", Tensor::from_vector(Shape{1}, {static_cast<float>(steps_)}));
  return out;
}

void Adam::load_state(const NamedTensors& state) {
  GANOMALY_CHECK(state.size() == 2 * params_.size() + 1, "Adam::load_state: expected ", 2 * params_.size() + 1,
                 " tensors, got ", state.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    m_[i].copy_from(state[2 * i].second);
    v_[i].copy_from(state[2 * i + 1].second);
  }
  steps_ = static_cast<int64_t>(state.back().second.item());
}

}  // namespace gan::nn
