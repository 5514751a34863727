// Centred zero-padding of planes and its adjoint (ops/shape.cpp's pad_center).
#include "tensor/cuda/common.cuh"

namespace gan::cuda {

void pad_center(int64_t planes, int64_t h, int64_t w, int64_t height, int64_t width, int64_t top, int64_t left,
                const float* x, float* out) {
  for_each(
      planes * height * width,
      [=] __device__(int64_t at) {
        const int64_t xx = at % width, y = (at / width) % height, p = at / (width * height);
        const int64_t sy = y - top, sx = xx - left;
        out[at] = (sy >= 0 && sy < h && sx >= 0 && sx < w) ? x[(p * h + sy) * w + sx] : 0.0f;
      },
      "pad_center");
}

void pad_center_backward(int64_t planes, int64_t h, int64_t w, int64_t height, int64_t width, int64_t top,
                         int64_t left, const float* grad, float* dx) {
  for_each(
      planes * h * w,
      [=] __device__(int64_t at) {
        const int64_t xx = at % w, y = (at / w) % h, p = at / (w * h);
        dx[at] += grad[(p * height + top + y) * width + left + xx];
      },
      "pad_center_backward");
}

}  // namespace gan::cuda
