// fill, binary ops, scaling and the accumulations autograd needs.
#include "tensor/cuda/common.cuh"

namespace gan::cuda {

void fill(int64_t n, float value, float* out) {
  for_each(n, [=] __device__(int64_t i) { out[i] = value; }, "fill");
}

void binary(Binary op, int64_t n, const float* a, const float* b, float* out) {
  switch (op) {
    case Binary::add:
      for_each(n, [=] __device__(int64_t i) { out[i] = a[i] + b[i]; }, "add");
      break;
    case Binary::sub:
      for_each(n, [=] __device__(int64_t i) { out[i] = a[i] - b[i]; }, "sub");
      break;
    case Binary::mul:
      for_each(n, [=] __device__(int64_t i) { out[i] = a[i] * b[i]; }, "mul");
      break;
  }
}

void affine(int64_t n, const float* x, float scale, float shift, float* out) {
  for_each(n, [=] __device__(int64_t i) { out[i] = x[i] * scale + shift; }, "affine");
}

void add_scaled(int64_t n, const float* x, float scale, float* out) {
  for_each(n, [=] __device__(int64_t i) { out[i] += x[i] * scale; }, "add_scaled");
}

void add_product(int64_t n, const float* a, const float* b, float* out) {
  for_each(n, [=] __device__(int64_t i) { out[i] += a[i] * b[i]; }, "add_product");
}

void add_broadcast(int64_t n, const float* scalar, float scale, float* out) {
  for_each(n, [=] __device__(int64_t i) { out[i] += scalar[0] * scale; }, "add_broadcast");
}

}  // namespace gan::cuda
