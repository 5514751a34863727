#include "ganomaly/train/augment.h"

#include <algorithm>
#include <vector>

namespace gan {

namespace {

// Each plane [H, W] of one image becomes source(y, x) for every output pixel.
template <typename Source>
void remap_image(float* image, int64_t channels, int64_t height, int64_t width, Source source) {
  std::vector<float> plane(height * width);
  for (int64_t c = 0; c < channels; ++c) {
    float* p = image + c * height * width;
    std::copy(p, p + height * width, plane.begin());
    for (int64_t y = 0; y < height; ++y)
      for (int64_t x = 0; x < width; ++x) {
        const auto [sy, sx] = source(y, x);
        p[y * width + x] = plane[sy * width + sx];
      }
  }
}

}  // namespace

void augment_batch(Tensor& images, Augment mode, Rng& rng) {
  GANOMALY_CHECK(images.ndim() == 4, "augment_batch: expected NCHW, got ", images.shape());
  if (mode == Augment::none) return;
  const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  for (int64_t i = 0; i < n; ++i) {
    float* image = images.data() + i * c * h * w;
    if (mode == Augment::flip) {
      const bool mirror_x = rng.uniform() < 0.5f, mirror_y = rng.uniform() < 0.5f;
      remap_image(image, c, h, w, [&](int64_t y, int64_t x) {
        return std::pair{mirror_y ? h - 1 - y : y, mirror_x ? w - 1 - x : x};
      });
    } else {  // shift
      const int64_t reach_y = std::max<int64_t>(1, h / 16), reach_x = std::max<int64_t>(1, w / 16);
      const int64_t dy = static_cast<int64_t>(rng.below(2 * reach_y + 1)) - reach_y;
      const int64_t dx = static_cast<int64_t>(rng.below(2 * reach_x + 1)) - reach_x;
      remap_image(image, c, h, w, [&](int64_t y, int64_t x) {
        return std::pair{std::clamp<int64_t>(y - dy, 0, h - 1), std::clamp<int64_t>(x - dx, 0, w - 1)};
      });
    }
  }
}

}  // namespace gan
