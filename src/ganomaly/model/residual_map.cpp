#include "ganomaly/model/residual_map.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace gan {

int64_t clamped_window(int64_t h, int64_t w, int64_t window) { return std::max<int64_t>(1, std::min({window, h, w})); }

std::vector<float> window_means(const float* map, int64_t h, int64_t w, int64_t window) {
  window = clamped_window(h, w, window);
  std::vector<double> integral((h + 1) * (w + 1), 0.0);
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      integral[(y + 1) * (w + 1) + x + 1] =
          map[y * w + x] + integral[y * (w + 1) + x + 1] + integral[(y + 1) * (w + 1) + x] - integral[y * (w + 1) + x];
  const int64_t rows = std::max<int64_t>(0, h - window + 1), cols = std::max<int64_t>(0, w - window + 1);
  std::vector<float> means(rows * cols);
  for (int64_t y = 0; y < rows; ++y)
    for (int64_t x = 0; x < cols; ++x) {
      const double s = integral[(y + window) * (w + 1) + x + window] - integral[y * (w + 1) + x + window] -
                       integral[(y + window) * (w + 1) + x] + integral[y * (w + 1) + x];
      means[y * cols + x] = static_cast<float>(s / (window * window));
    }
  return means;
}

float window_max(const float* map, int64_t h, int64_t w, int64_t window) {
  const std::vector<float> means = window_means(map, h, w, window);
  // Standardised maps go negative: the best window may be below 0.
  if (means.empty()) return -std::numeric_limits<float>::infinity();
  return *std::max_element(means.begin(), means.end());
}

int64_t residual_max_window(int64_t h, int64_t w) { return std::max<int64_t>(2, std::min(h, w) / 8); }
int64_t residual_z_window(int64_t h, int64_t w) { return std::max<int64_t>(2, std::min(h, w) / 32); }

ResidualZ ResidualZ::fit(const std::vector<float>& maps, int64_t n, int64_t h, int64_t w) {
  GANOMALY_CHECK(n >= 2 && h > 0 && w > 0 && static_cast<int64_t>(maps.size()) == n * h * w,
                 "residual statistics: expected at least 2 maps of ", h, "x", w, ", got ", maps.size(), " values");
  ResidualZ r;
  r.height_ = h;
  r.width_ = w;
  const int64_t pixels = h * w;
  std::vector<double> sum(pixels, 0.0), sum_sq(pixels, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t p = 0; p < pixels; ++p) {
      const double v = maps[i * pixels + p];
      sum[p] += v;
      sum_sq[p] += v * v;
    }
  r.mean_.resize(pixels);
  r.scale_.resize(pixels);
  double spread_sum = 0;
  for (int64_t p = 0; p < pixels; ++p) {
    const double mean = sum[p] / n;
    r.mean_[p] = static_cast<float>(mean);
    r.scale_[p] = static_cast<float>(std::sqrt(std::max(0.0, sum_sq[p] / n - mean * mean)));
    spread_sum += r.scale_[p];
  }
  const float floor = static_cast<float>(kFloorFraction * spread_sum / pixels);
  for (float& s : r.scale_) s = std::max(s + floor, 1e-6f);  // 1e-6: a generator that is exact everywhere
  return r;
}

void ResidualZ::standardise(const float* map, float* out) const {
  for (size_t p = 0; p < mean_.size(); ++p) out[p] = (map[p] - mean_[p]) / scale_[p];
}

float ResidualZ::score(const float* map) const {
  std::vector<float> z(mean_.size());
  standardise(map, z.data());
  return window_max(z.data(), height_, width_, residual_z_window(height_, width_));
}

nn::NamedTensors ResidualZ::state() const {
  if (empty()) return {};
  return {{"mean", Tensor::from_vector(Shape{height_, width_}, mean_)},
          {"scale", Tensor::from_vector(Shape{height_, width_}, scale_)}};
}

void ResidualZ::load_state(const nn::NamedTensors& tensors, const std::string& what) {
  *this = ResidualZ();
  const Tensor *mean = nullptr, *scale = nullptr;
  for (const auto& [name, t] : tensors) {
    if (name == "mean") mean = &t;
    if (name == "scale") scale = &t;
  }
  if (!mean && !scale) return;
  GANOMALY_CHECK(mean && scale && mean->ndim() == 2 && mean->shape() == scale->shape(), what,
                 ": residual statistics: expected 'mean' and 'scale' of one [H, W] shape");
  height_ = mean->size(0);
  width_ = mean->size(1);
  mean_ = mean->to_vector();
  scale_ = scale->to_vector();
  GANOMALY_CHECK(std::all_of(scale_.begin(), scale_.end(), [](float v) { return v > 0 && std::isfinite(v); }), what,
                 ": residual statistics: every scale must be positive");
}

}  // namespace gan
