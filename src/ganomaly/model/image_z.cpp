#include "ganomaly/model/image_z.h"

#include <cmath>

#include "tensor/check.h"

namespace gan {

ImageZ ImageZ::fit(const std::vector<float>& images, int64_t n, int64_t c, int64_t h, int64_t w) {
  GANOMALY_CHECK(c > 0, "image statistics: expected at least one channel, got ", c);
  ImageZ z;
  z.stats_ = ResidualZ::fit(images, n, c, h * w);
  return z;
}

void ImageZ::map(const float* image, int64_t h, int64_t w, float* out) const {
  GANOMALY_CHECK(h * w == pixels(), "image_z: images of ", h, "x", w, ", image statistics of ", pixels(), " pixels");
  const int64_t c = channels(), n = h * w;
  std::vector<float> z(static_cast<size_t>(c * n));
  stats_.standardise(image, z.data());
  for (int64_t p = 0; p < n; ++p) {
    float sum = 0;
    for (int64_t ch = 0; ch < c; ++ch) sum += std::fabs(z[ch * n + p]);
    out[p] = sum / static_cast<float>(c);
  }
}

float ImageZ::score(const float* image, int64_t h, int64_t w) const {
  std::vector<float> m(static_cast<size_t>(h * w));
  map(image, h, w, m.data());
  return window_max(m.data(), h, w, residual_z_window(h, w));
}

}  // namespace gan
