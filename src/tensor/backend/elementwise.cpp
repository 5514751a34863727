// Elementwise dispatch: binary ops, scaling, the accumulations autograd needs (cpu/ and
// cuda/elementwise), activations (activation), centred padding (shape) and the optimizer
// updates (adam).
#include "tensor/backend/dispatch.h"

namespace gan::backend {

void binary(Device device, Binary op, int64_t n, const float* a, const float* b, float* out) {
  if (on_cuda(device)) return GANOMALY_CUDA_CALL(cuda::binary(op, n, a, b, out));
  cpu::binary(op, n, a, b, out);
}

void affine(Device device, int64_t n, const float* x, float scale, float shift, float* out) {
  if (on_cuda(device)) return GANOMALY_CUDA_CALL(cuda::affine(n, x, scale, shift, out));
  cpu::affine(n, x, scale, shift, out);
}

void add_scaled(Device device, int64_t n, const float* x, float scale, float* out) {
  if (on_cuda(device)) return GANOMALY_CUDA_CALL(cuda::add_scaled(n, x, scale, out));
  cpu::add_scaled(n, x, scale, out);
}

void add_product(Device device, int64_t n, const float* a, const float* b, float* out) {
  if (on_cuda(device)) return GANOMALY_CUDA_CALL(cuda::add_product(n, a, b, out));
  cpu::add_product(n, a, b, out);
}

void add_broadcast(Device device, int64_t n, const float* scalar, float scale, float* out) {
  if (on_cuda(device)) return GANOMALY_CUDA_CALL(cuda::add_broadcast(n, scalar, scale, out));
  cpu::add_broadcast(n, scalar, scale, out);
}

void activation(Device device, Activation f, float slope, int64_t n, const float* x, float* out) {
  if (on_cuda(device)) return GANOMALY_CUDA_CALL(cuda::activation(f, slope, n, x, out));
  cpu::activation(f, slope, n, x, out);
}

void activation_backward(Device device, Activation f, float slope, int64_t n, const float* grad, const float* saved,
                         float* dx) {
  if (on_cuda(device)) return GANOMALY_CUDA_CALL(cuda::activation_backward(f, slope, n, grad, saved, dx));
  cpu::activation_backward(f, slope, n, grad, saved, dx);
}

void pad_center(Device device, int64_t planes, int64_t h, int64_t w, int64_t height, int64_t width, int64_t top,
                int64_t left, const float* x, float* out) {
  if (on_cuda(device)) return GANOMALY_CUDA_CALL(cuda::pad_center(planes, h, w, height, width, top, left, x, out));
  cpu::pad_center(planes, h, w, height, width, top, left, x, out);
}

void pad_center_backward(Device device, int64_t planes, int64_t h, int64_t w, int64_t height, int64_t width,
                         int64_t top, int64_t left, const float* grad, float* dx) {
  if (on_cuda(device))
    return GANOMALY_CUDA_CALL(cuda::pad_center_backward(planes, h, w, height, width, top, left, grad, dx));
  cpu::pad_center_backward(planes, h, w, height, width, top, left, grad, dx);
}

void adam_step(Device device, int64_t n, const float* grad, float* m, float* v, float* w, float beta1, float beta2,
               float eps, float step_size, float bias2_sqrt) {
  if (on_cuda(device))
    return GANOMALY_CUDA_CALL(cuda::adam_step(n, grad, m, v, w, beta1, beta2, eps, step_size, bias2_sqrt));
  cpu::adam_step(n, grad, m, v, w, beta1, beta2, eps, step_size, bias2_sqrt);
}

void ema_update(Device device, int64_t n, float decay, const float* live, float* average) {
  if (on_cuda(device)) return GANOMALY_CUDA_CALL(cuda::ema_update(n, decay, live, average));
  cpu::ema_update(n, decay, live, average);
}

}  // namespace gan::backend
