// The optimizer updates: Adam and the exponential moving average (cuda/adam.cu on the GPU).
#include <cmath>

#include "tensor/cpu/kernels.h"
#include "tensor/cpu/vec.h"
#include "tensor/profile.h"

namespace gan::cpu {
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

void adam_step(int64_t n, const float* grad, float* m, float* v, float* w, float beta1, float beta2, float eps,
               float step_size, float bias2_sqrt) {
  profile::Scope scope(profile::Op::optimizer);
  const int64_t body = n - n % kBatchWidth;
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t j = 0; j < body; j += kBatchWidth) {
    Batch mb = Batch::load_unaligned(m + j), vb = Batch::load_unaligned(v + j), wb = Batch::load_unaligned(w + j);
    adam_update(mb, vb, wb, Batch::load_unaligned(grad + j), beta1, beta2, eps, step_size, bias2_sqrt);
    mb.store_unaligned(m + j);
    vb.store_unaligned(v + j);
    wb.store_unaligned(w + j);
  }
  for (int64_t j = body; j < n; ++j) adam_update(m[j], v[j], w[j], grad[j], beta1, beta2, eps, step_size, bias2_sqrt);
}

void ema_update(int64_t n, float decay, const float* live, float* average) {
  profile::Scope scope(profile::Op::optimizer);
  for (int64_t j = 0; j < n; ++j) average[j] = decay * average[j] + (1.0f - decay) * live[j];
}

}  // namespace gan::cpu
