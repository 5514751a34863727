// Centred zero-padding and its adjoint (cuda/shape.cu on the GPU).
#include <cstring>

#include "tensor/cpu/kernels.h"
#include "tensor/cpu/vec.h"
#include "tensor/profile.h"

namespace gan::cpu {

void pad_center(int64_t planes, int64_t h, int64_t w, int64_t height, int64_t width, int64_t top, int64_t left,
                const float* x, float* out) {
  profile::Scope scope(profile::Op::copy_fill);
  fill(planes * height * width, 0.0f, out);
#pragma omp parallel for schedule(static) if (planes * height * width >= kParallelMin)
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t y = 0; y < h; ++y)
      std::memcpy(out + (p * height + top + y) * width + left, x + (p * h + y) * w, sizeof(float) * w);
}

void pad_center_backward(int64_t planes, int64_t h, int64_t w, int64_t height, int64_t width, int64_t top,
                         int64_t left, const float* grad, float* dx) {
  profile::Scope scope(profile::Op::copy_fill);
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t xx = 0; xx < w; ++xx) dx[(p * h + y) * w + xx] += grad[(p * height + top + y) * width + left + xx];
}

}  // namespace gan::cpu
