#include "ganomaly/train/pseudo_anomaly.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "ganomaly/data/dataset.h"
#include "ganomaly/data/synth.h"

namespace gan {

namespace {

struct Plane {
  float* data;
  int64_t channels, height, width;
  float& at(int64_t c, int64_t y, int64_t x) { return data[(c * height + y) * width + x]; }
};

float spread(const Plane& p) {
  double s = 0, ss = 0;
  const int64_t n = p.channels * p.height * p.width;
  for (int64_t i = 0; i < n; ++i) {
    s += p.data[i];
    ss += double(p.data[i]) * p.data[i];
  }
  const double mean = s / n;
  return static_cast<float>(std::sqrt(std::max(1e-6, ss / n - mean * mean)));
}

// Sizes are fractions of the side, so the defects scale with the image.
void cutpaste(Plane& p, Rng& rng, float strength) {
  const int64_t side = std::min(p.height, p.width);
  const int64_t ph = std::max<int64_t>(2, static_cast<int64_t>(side * rng.uniform(0.08f, 0.2f)));
  const int64_t pw = std::max<int64_t>(2, static_cast<int64_t>(side * rng.uniform(0.08f, 0.2f)));
  const int64_t sy = rng.below(p.height - ph + 1), sx = rng.below(p.width - pw + 1);
  const int64_t dy = rng.below(p.height - ph + 1), dx = rng.below(p.width - pw + 1);
  std::vector<float> patch(p.channels * ph * pw);
  for (int64_t c = 0; c < p.channels; ++c)
    for (int64_t y = 0; y < ph; ++y)
      for (int64_t x = 0; x < pw; ++x) patch[(c * ph + y) * pw + x] = p.at(c, sy + y, sx + x);
  for (int64_t c = 0; c < p.channels; ++c)
    for (int64_t y = 0; y < ph; ++y)
      for (int64_t x = 0; x < pw; ++x) {
        float& to = p.at(c, dy + y, dx + x);
        to = strength >= 1.0f ? patch[(c * ph + y) * pw + x] : to + strength * (patch[(c * ph + y) * pw + x] - to);
      }
}

void blob(Plane& p, Rng& rng, float unit) {
  const int64_t side = std::min(p.height, p.width);
  const float radius = side * rng.uniform(0.03f, 0.08f);
  const float cy = rng.uniform(radius, p.height - radius), cx = rng.uniform(radius, p.width - radius);
  const float amount = (rng.uniform() < 0.5f ? -1.0f : 1.0f) * unit * rng.uniform(1.0f, 2.0f);
  for (int64_t y = 0; y < p.height; ++y)
    for (int64_t x = 0; x < p.width; ++x) {
      const float d2 = ((y - cy) * (y - cy) + (x - cx) * (x - cx)) / (radius * radius);
      if (d2 > 4.0f) continue;
      const float weight = std::exp(-d2);
      for (int64_t c = 0; c < p.channels; ++c) p.at(c, y, x) += amount * weight;
    }
}

void scratch(Plane& p, Rng& rng, float unit) {
  const int64_t side = std::min(p.height, p.width);
  const float length = side * rng.uniform(0.15f, 0.35f);
  const float angle = rng.uniform(0.0f, 3.14159265f);
  const float y0 = rng.uniform(0.0f, p.height - 1.0f), x0 = rng.uniform(0.0f, p.width - 1.0f);
  const float amount = (rng.uniform() < 0.5f ? -1.0f : 1.0f) * unit * rng.uniform(1.5f, 2.5f);
  const int steps = static_cast<int>(length * 2);
  for (int s = 0; s <= steps; ++s) {
    const int64_t y = static_cast<int64_t>(y0 + std::sin(angle) * s * 0.5f);
    const int64_t x = static_cast<int64_t>(x0 + std::cos(angle) * s * 0.5f);
    if (y < 0 || y >= p.height || x < 0 || x >= p.width) continue;
    for (int64_t c = 0; c < p.channels; ++c) p.at(c, y, x) += amount;
  }
}

void colour(Plane& p, Rng& rng, float unit) {
  const int64_t side = std::min(p.height, p.width);
  const int64_t h = std::max<int64_t>(2, static_cast<int64_t>(side * rng.uniform(0.1f, 0.2f)));
  const int64_t w = std::max<int64_t>(2, static_cast<int64_t>(side * rng.uniform(0.1f, 0.2f)));
  const int64_t y0 = rng.below(p.height - h + 1), x0 = rng.below(p.width - w + 1);
  std::vector<float> shift(p.channels);
  for (float& s : shift) s = unit * rng.uniform(-1.5f, 1.5f);
  for (int64_t c = 0; c < p.channels; ++c)
    for (int64_t y = y0; y < y0 + h; ++y)
      for (int64_t x = x0; x < x0 + w; ++x) p.at(c, y, x) += shift[c];
}

// 1 where some channel of `after` differs from `before` by more than `epsilon`.
void changed_pixels(const Plane& before, const Plane& after, float epsilon, float* mask) {
  const int64_t pixels = before.height * before.width;
  for (int64_t q = 0; q < pixels; ++q) {
    bool changed = false;
    for (int64_t c = 0; c < before.channels && !changed; ++c)
      changed = std::fabs(after.data[c * pixels + q] - before.data[c * pixels + q]) > epsilon;
    mask[q] = changed ? 1.0f : 0.0f;
  }
}

}  // namespace

Tensor make_pseudo_anomalies(const Tensor& normals, Rng& rng, float strength, Tensor* masks) {
  GANOMALY_CHECK(normals.ndim() == 4, "make_pseudo_anomalies: expected NCHW, got ", normals.shape());
  GANOMALY_CHECK(strength > 0.0f && strength <= 1.0f, "make_pseudo_anomalies: expected a strength in (0, 1], got ",
                 strength);
  const Tensor host = normals.to(Device::cpu);
  Tensor out = host.clone();
  const int64_t n = out.size(0), per_image = out.numel() / std::max<int64_t>(1, n);
  if (masks) *masks = Tensor::zeros(Shape{n, 1, out.size(2), out.size(3)});
  for (int64_t i = 0; i < n; ++i) {
    Plane p{out.data() + i * per_image, out.size(1), out.size(2), out.size(3)};
    const float unit = spread(p) * strength;
    switch (i % 4) {
      case 0: cutpaste(p, rng, strength); break;
      case 1: blob(p, rng, unit); break;
      case 2: scratch(p, rng, unit); break;
      default: colour(p, rng, unit); break;
    }
    if (masks) {
      const Plane before{const_cast<float*>(host.data()) + i * per_image, p.channels, p.height, p.width};
      changed_pixels(before, p, kPseudoMaskFraction * unit, masks->data() + i * p.height * p.width);
    }
  }
  return out;
}

}  // namespace gan

namespace gan {

Tensor relit(const Tensor& normals, const std::string& normalization, double strength, uint64_t seed) {
  const Tensor host = normals.to(Device::cpu);
  const int64_t n = host.size(0), c = host.size(1), plane = host.size(2) * host.size(3);
  const PixelNormalization unit = pixel_normalization(normalization, int(c));
  Tensor out = Tensor::empty(host.shape());
  Image image;
  image.height = int(host.size(2));
  image.width = int(host.size(3));
  image.channels = int(c);
  image.pixels.resize(size_t(c * plane));
  for (int64_t i = 0; i < n; ++i) {
    const float* x = host.data() + i * c * plane;
    for (int64_t k = 0; k < c; ++k)  // back to [0, 1], HWC
      for (int64_t p = 0; p < plane; ++p) image.pixels[p * c + k] = x[k * plane + p] * unit.stdev[k] + unit.mean[k];
    change_lighting(image, strength, seed, int(i));
    normalize_image(image, normalization, out.data() + i * c * plane);
  }
  return out;
}

}  // namespace gan
