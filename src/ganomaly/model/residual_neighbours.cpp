#include "ganomaly/model/residual_neighbours.h"

#include <algorithm>
#include <cmath>
#include <numeric>


namespace gan {

std::vector<float> image_key(const float* image, int64_t channels, int64_t h, int64_t w) {
  const int64_t cell = std::max<int64_t>(1, std::min(h, w) / 16), kh = h / cell, kw = w / cell;
  std::vector<float> key(image_key_size(channels, h, w), 0.0f);
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t y = 0; y < kh * cell; ++y)
      for (int64_t x = 0; x < kw * cell; ++x) key[(c * kh + y / cell) * kw + x / cell] += image[(c * h + y) * w + x];
  for (float& v : key) v /= static_cast<float>(cell * cell);
  return key;
}

size_t image_key_size(int64_t channels, int64_t h, int64_t w) {
  const int64_t cell = std::max<int64_t>(1, std::min(h, w) / 16);
  return static_cast<size_t>(channels * (h / cell) * (w / cell));
}

std::vector<int64_t> nearest_keys(const std::vector<float>& keys, size_t key_size, const std::vector<float>& key,
                                  int64_t k, const char* what) {
  GANOMALY_CHECK(key.size() == key_size, what, ": an image key of ", key.size(), " values, expected ", key_size);
  const int64_t count = key_size ? static_cast<int64_t>(keys.size() / key_size) : 0;
  std::vector<double> distance(count);
  for (int64_t i = 0; i < count; ++i) {
    double d = 0;
    const float* stored = keys.data() + i * key_size;
    for (size_t j = 0; j < key_size; ++j) d += double(key[j] - stored[j]) * (key[j] - stored[j]);
    distance[i] = d;
  }
  std::vector<int64_t> order(count);
  std::iota(order.begin(), order.end(), 0);
  k = std::min(k, count);
  std::partial_sort(order.begin(), order.begin() + k, order.end(),
                    [&](int64_t a, int64_t b) { return distance[a] < distance[b] || (distance[a] == distance[b] && a < b); });
  order.resize(k);
  return order;
}

void standardise_by_neighbours(const std::vector<float>& stored, int64_t per_sample,
                               const std::vector<int64_t>& neighbours, const float* values, float floor, float* out) {
  const double k = static_cast<double>(neighbours.size());
  for (int64_t v = 0; v < per_sample; ++v) {
    double sum = 0, sum_sq = 0;
    for (int64_t i : neighbours) {
      const double s = stored[i * per_sample + v];
      sum += s;
      sum_sq += s * s;
    }
    const double mean = sum / k, spread = std::sqrt(std::max(0.0, sum_sq / k - mean * mean));
    out[v] = static_cast<float>((values[v] - mean) / (spread + floor));
  }
}

float neighbour_floor(const std::vector<float>& samples, int64_t n, int64_t per_sample) {
  double spread_sum = 0;
  for (int64_t v = 0; v < per_sample; ++v) {
    double sum = 0, sum_sq = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double s = samples[i * per_sample + v];
      sum += s;
      sum_sq += s * s;
    }
    const double mean = sum / n;
    spread_sum += std::sqrt(std::max(0.0, sum_sq / n - mean * mean));
  }
  // 1e-6: a generator that is exact everywhere, or identical images (as residual_z's).
  return std::max(static_cast<float>(ResidualZ::kFloorFraction * spread_sum / per_sample), 1e-6f);
}

ResidualNN ResidualNN::fit(const std::vector<float>& maps, const std::vector<float>& keys, int64_t n,
                                           int64_t h, int64_t w) {
  GANOMALY_CHECK(n >= 2 && h > 0 && w > 0 && static_cast<int64_t>(maps.size()) == n * h * w && !keys.empty() &&
                     keys.size() % n == 0,
                 "neighbour residuals: expected at least 2 maps of ", h, "x", w, " and their keys, got ", maps.size(),
                 " map values and ", keys.size(), " key values");
  ResidualNN r;
  r.count_ = n;
  r.height_ = h;
  r.width_ = w;
  r.key_size_ = keys.size() / n;
  r.floor_ = neighbour_floor(maps, n, h * w);
  r.maps_ = maps;
  r.keys_ = keys;
  return r;
}

void ResidualNN::standardise(const float* map, const std::vector<float>& key, float* out) const {
  standardise_by_neighbours(maps_, height_ * width_, nearest_keys(keys_, key_size_, key, kNeighbours, "residual_nn"), map,
                            floor_, out);
}

float ResidualNN::score(const float* map, const std::vector<float>& key) const {
  std::vector<float> z(height_ * width_);
  standardise(map, key, z.data());
  return window_max(z.data(), height_, width_, residual_z_window(height_, width_));
}

nn::NamedTensors ResidualNN::state() const {
  if (empty()) return {};
  return {{"maps", Tensor::from_vector(Shape{count_, height_, width_}, maps_)},
          {"keys", Tensor::from_vector(Shape{count_, static_cast<int64_t>(key_size_)}, keys_)},
          {"floor", Tensor::full(Shape{1}, floor_)}};
}

void ResidualNN::load_state(const nn::NamedTensors& tensors, const std::string& what) {
  *this = ResidualNN();
  const Tensor *maps = nullptr, *keys = nullptr, *floor = nullptr;
  for (const auto& [name, t] : tensors) {
    if (name == "maps") maps = &t;
    if (name == "keys") keys = &t;
    if (name == "floor") floor = &t;
  }
  if (!maps && !keys && !floor) return;
  GANOMALY_CHECK(maps && keys && floor && maps->ndim() == 3 && keys->ndim() == 2 && floor->numel() == 1 &&
                     maps->size(0) == keys->size(0) && maps->size(0) >= 2,
                 what, ": neighbour residuals: expected 'maps' [N, H, W], 'keys' [N, K] and 'floor' [1], N >= 2");
  count_ = maps->size(0);
  height_ = maps->size(1);
  width_ = maps->size(2);
  key_size_ = static_cast<size_t>(keys->size(1));
  floor_ = floor->item();
  maps_ = maps->to_vector();
  keys_ = keys->to_vector();
  GANOMALY_CHECK(std::isfinite(floor_) && floor_ > 0, what, ": neighbour residuals: the floor must be positive");
  GANOMALY_CHECK(std::all_of(maps_.begin(), maps_.end(), [](float v) { return std::isfinite(v) && v >= 0; }), what,
                 ": neighbour residuals: every map value must be finite and not negative");
}

}  // namespace gan
