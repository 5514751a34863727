// Elementwise kernels: binary ops, scaling, the accumulations autograd needs,
// activations, centred padding and the optimizer updates.
#include <cmath>
#include <cstring>

#include "tensor/backend/dispatch.h"
#include "tensor/cpu/vec.h"

namespace gan::backend {
namespace {
using cpu::Batch;

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

void binary(Device device, Binary op, int64_t n, const float* a, const float* b, float* out) {
  if (on_cuda(device)) return GANOMALY_CUDA_CALL(cuda::binary(op, n, a, b, out));
  switch (op) {
    case Binary::add:
      return cpu::map(n, out, [](Batch x, Batch y) { return x + y; }, a, b);
    case Binary::sub:
      return cpu::map(n, out, [](Batch x, Batch y) { return x - y; }, a, b);
    case Binary::mul:
      return cpu::map(n, out, [](Batch x, Batch y) { return x * y; }, a, b);
  }
}

void affine(Device device, int64_t n, const float* x, float scale, float shift, float* out) {
  if (on_cuda(device)) return GANOMALY_CUDA_CALL(cuda::affine(n, x, scale, shift, out));
  // The two common cases by themselves: x * 1 + s and x * s + 0 round as x + s and x * s.
  if (scale == 1.0f) return cpu::map(n, out, [shift](Batch v) { return v + shift; }, x);
  if (shift == 0.0f) return cpu::map(n, out, [scale](Batch v) { return v * scale; }, x);
  cpu::map(n, out, [scale, shift](Batch v) { return v * scale + shift; }, x);
}

void add_scaled(Device device, int64_t n, const float* x, float scale, float* out) {
  if (on_cuda(device)) return GANOMALY_CUDA_CALL(cuda::add_scaled(n, x, scale, out));
  cpu::map_add(n, out, [scale](Batch v) { return v * scale; }, x);
}

void add_product(Device device, int64_t n, const float* a, const float* b, float* out) {
  if (on_cuda(device)) return GANOMALY_CUDA_CALL(cuda::add_product(n, a, b, out));
  cpu::map_add(n, out, [](Batch x, Batch y) { return x * y; }, a, b);
}

void add_broadcast(Device device, int64_t n, const float* scalar, float scale, float* out) {
  if (on_cuda(device)) return GANOMALY_CUDA_CALL(cuda::add_broadcast(n, scalar, scale, out));
  const float g = scalar[0] * scale;
  cpu::map_add(n, out, [g](Batch) { return Batch(g); }, out);
}

void activation(Device device, Activation f, float slope, int64_t n, const float* x, float* out) {
  if (on_cuda(device)) return GANOMALY_CUDA_CALL(cuda::activation(f, slope, n, x, out));
  switch (f) {
    case Activation::relu:
      return cpu::map(n, out, [](Batch v) { return xsimd::max(v, Batch(0.0f)); }, x);
    case Activation::leaky_relu:
      return cpu::map(n, out, [slope](Batch v) { return xsimd::select(v > Batch(0.0f), v, v * slope); }, x);
    case Activation::tanh:
      return cpu::map(n, out, [](Batch v) { return xsimd::tanh(v); }, x);
    case Activation::sigmoid:
      return cpu::map(n, out, [](Batch v) { return Batch(1.0f) / (Batch(1.0f) + xsimd::exp(-v)); }, x);
    case Activation::abs:
      return cpu::map(n, out, [](Batch v) { return xsimd::abs(v); }, x);
  }
}

void activation_backward(Device device, Activation f, float slope, int64_t n, const float* grad, const float* saved,
                         float* dx) {
  if (on_cuda(device)) return GANOMALY_CUDA_CALL(cuda::activation_backward(f, slope, n, grad, saved, dx));
  const Batch zero(0.0f);
  switch (f) {
    case Activation::relu:
      return cpu::map_add(n, dx, [zero](Batch g, Batch y) { return xsimd::select(y > zero, g, zero); }, grad, saved);
    case Activation::leaky_relu:
      return cpu::map_add(
          n, dx, [zero, slope](Batch g, Batch y) { return xsimd::select(y > zero, g, g * slope); }, grad, saved);
    case Activation::tanh:
      return cpu::map_add(n, dx, [](Batch g, Batch t) { return g * (Batch(1.0f) - t * t); }, grad, saved);
    case Activation::sigmoid:
      return cpu::map_add(n, dx, [](Batch g, Batch s) { return g * s * (Batch(1.0f) - s); }, grad, saved);
    case Activation::abs:  // saved = input; the gradient at 0 is 0, as PyTorch's sign
      return cpu::map_add(
          n, dx, [zero](Batch g, Batch x) { return xsimd::select(x > zero, g, xsimd::select(x < zero, -g, zero)); },
          grad, saved);
  }
}

void pad_center(Device device, int64_t planes, int64_t h, int64_t w, int64_t height, int64_t width, int64_t top,
                int64_t left, const float* x, float* out) {
  if (on_cuda(device)) return GANOMALY_CUDA_CALL(cuda::pad_center(planes, h, w, height, width, top, left, x, out));
  fill(device, out, planes * height * width, 0.0f);
#pragma omp parallel for schedule(static) if (planes * height * width >= cpu::kParallelMin)
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t y = 0; y < h; ++y)
      std::memcpy(out + (p * height + top + y) * width + left, x + (p * h + y) * w, sizeof(float) * w);
}

void pad_center_backward(Device device, int64_t planes, int64_t h, int64_t w, int64_t height, int64_t width,
                         int64_t top, int64_t left, const float* grad, float* dx) {
  if (on_cuda(device))
    return GANOMALY_CUDA_CALL(cuda::pad_center_backward(planes, h, w, height, width, top, left, grad, dx));
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t xx = 0; xx < w; ++xx) dx[(p * h + y) * w + xx] += grad[(p * height + top + y) * width + left + xx];
}

void adam_step(Device device, int64_t n, const float* grad, float* m, float* v, float* w, float beta1, float beta2,
               float eps, float step_size, float bias2_sqrt) {
  if (on_cuda(device))
    return GANOMALY_CUDA_CALL(cuda::adam_step(n, grad, m, v, w, beta1, beta2, eps, step_size, bias2_sqrt));
  const int64_t body = n - n % cpu::kBatchWidth;
#pragma omp parallel for schedule(static) if (n >= cpu::kParallelMin)
  for (int64_t j = 0; j < body; j += cpu::kBatchWidth) {
    Batch mb = Batch::load_unaligned(m + j), vb = Batch::load_unaligned(v + j), wb = Batch::load_unaligned(w + j);
    adam_update(mb, vb, wb, Batch::load_unaligned(grad + j), beta1, beta2, eps, step_size, bias2_sqrt);
    mb.store_unaligned(m + j);
    vb.store_unaligned(v + j);
    wb.store_unaligned(w + j);
  }
  for (int64_t j = body; j < n; ++j) adam_update(m[j], v[j], w[j], grad[j], beta1, beta2, eps, step_size, bias2_sqrt);
}

void ema_update(Device device, int64_t n, float decay, const float* live, float* average) {
  if (on_cuda(device)) return GANOMALY_CUDA_CALL(cuda::ema_update(n, decay, live, average));
  for (int64_t j = 0; j < n; ++j) average[j] = decay * average[j] + (1.0f - decay) * live[j];
}

}  // namespace gan::backend
