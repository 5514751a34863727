#include "nn/adam.h"

#include <cmath>

#include "tensor/backend.h"
#include "tensor/cpu/vec.h"

namespace gan::nn {
namespace {

// One Adam update in PyTorch's order of operations; T is an xsimd batch for the body and
// a float for the tail, so both run the same formula.
template <class T>
void adam_update(T& m, T& v, T& w, T g, float b1, float b2, float eps, float step_size, float bias2_sqrt) {
  using std::sqrt;
  using xsimd::sqrt;
  m = T(b1) * m + T(1.0f - b1) * g;
  v = T(b2) * v + T(1.0f - b2) * g * g;
  const T denom = sqrt(v) / T(bias2_sqrt) + T(eps);
  w = w - T(step_size) * m / denom;
}

}  // namespace

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
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    if (!p.has_grad()) continue;
    const float* g = p.grad_data();
    float* m = m_[i].data();
    float* v = v_[i].data();
    float* w = p.data();
    const int64_t n = p.numel(), body = n - n % cpu::kBatchWidth;
    if (on_cuda(p)) {
      GANOMALY_CUDA_CALL(cuda::adam_step(n, g, m, v, w, b1, b2, eps, step_size, bias2_sqrt));
      continue;
    }
#pragma omp parallel for schedule(static) if (n >= cpu::kParallelMin)
    for (int64_t j = 0; j < body; j += cpu::kBatchWidth) {
      cpu::Batch mb = cpu::Batch::load_unaligned(m + j), vb = cpu::Batch::load_unaligned(v + j);
      cpu::Batch wb = cpu::Batch::load_unaligned(w + j);
      adam_update(mb, vb, wb, cpu::Batch::load_unaligned(g + j), b1, b2, eps, step_size, bias2_sqrt);
      mb.store_unaligned(m + j);
      vb.store_unaligned(v + j);
      wb.store_unaligned(w + j);
    }
    for (int64_t j = body; j < n; ++j) adam_update(m[j], v[j], w[j], g[j], b1, b2, eps, step_size, bias2_sqrt);
  }
}

void Adam::to(Device device) {
  for (size_t i = 0; i < params_.size(); ++i) {
    params_[i].move_to(device);
    m_[i].move_to(device);
    v_[i].move_to(device);
  }
}

void ema_update(Tensor& average, const Tensor& live, float decay) {
  GANOMALY_CHECK(average.shape() == live.shape(), "ema_update: shapes differ: ", average.shape(), " vs ", live.shape());
  check_same_device("ema_update", {&average, &live});
  float* a = average.data();
  const float* p = live.data();
  if (on_cuda(average)) {
    GANOMALY_CUDA_CALL(cuda::ema_update(average.numel(), decay, p, a));
    return;
  }
  for (int64_t j = 0; j < live.numel(); ++j) a[j] = decay * a[j] + (1.0f - decay) * p[j];
}

void Adam::zero_grad() {
  for (Tensor& p : params_) p.release_grad();
}

void Adam::reset_state() {
  for (size_t i = 0; i < params_.size(); ++i) {
    m_[i].fill(0.0f);
    v_[i].fill(0.0f);
  }
  steps_ = 0;
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
