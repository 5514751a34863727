// fill, binary ops, scaling and the accumulations autograd needs (cuda/elementwise.cu on
// the GPU).
#include <algorithm>

#include "tensor/cpu/kernels.h"
#include "tensor/cpu/vec.h"
#include "tensor/profile.h"

namespace gan::cpu {

void fill(int64_t n, float value, float* out) {
  profile::Scope scope(profile::Op::copy_fill);
  // Zeroing a fresh gradient or transposed-convolution output is a large share of the
  // memory traffic of a step: both cores take part.
  constexpr int64_t kChunk = 1 << 15;
#pragma omp parallel for schedule(static) if (n >= 2 * kChunk)
  for (int64_t begin = 0; begin < n; begin += kChunk) std::fill(out + begin, out + std::min(n, begin + kChunk), value);
}

void binary(Binary op, int64_t n, const float* a, const float* b, float* out) {
  profile::Scope scope(profile::Op::elementwise);
  switch (op) {
    case Binary::add:
      return map(n, out, [](Batch x, Batch y) { return x + y; }, a, b);
    case Binary::sub:
      return map(n, out, [](Batch x, Batch y) { return x - y; }, a, b);
    case Binary::mul:
      return map(n, out, [](Batch x, Batch y) { return x * y; }, a, b);
  }
}

void affine(int64_t n, const float* x, float scale, float shift, float* out) {
  profile::Scope scope(profile::Op::elementwise);
  // The two common cases by themselves: x * 1 + s and x * s + 0 round as x + s and x * s.
  if (scale == 1.0f) return map(n, out, [shift](Batch v) { return v + shift; }, x);
  if (shift == 0.0f) return map(n, out, [scale](Batch v) { return v * scale; }, x);
  map(n, out, [scale, shift](Batch v) { return v * scale + shift; }, x);
}

void add_scaled(int64_t n, const float* x, float scale, float* out) {
  profile::Scope scope(profile::Op::elementwise);
  map_add(n, out, [scale](Batch v) { return v * scale; }, x);
}

void add_product(int64_t n, const float* a, const float* b, float* out) {
  profile::Scope scope(profile::Op::elementwise);
  map_add(n, out, [](Batch x, Batch y) { return x * y; }, a, b);
}

void add_broadcast(int64_t n, const float* scalar, float scale, float* out) {
  profile::Scope scope(profile::Op::elementwise);
  const float g = scalar[0] * scale;
  map_add(n, out, [g](Batch) { return Batch(g); }, out);
}

}  // namespace gan::cpu
