#include "ganomaly/eval/anomaly_map.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ganomaly/data/dataset.h"
#include "ganomaly/model/residual_neighbours.h"

namespace gan {

namespace {

Score choose_map(bool has_neighbours, bool has_statistics) {
  return has_neighbours ? Score::residual_nn : has_statistics ? Score::residual_z : Score::residual_max;
}

}  // namespace

Score map_score_of(const Ganomaly& model) {
  return choose_map(!model.residual_nn.empty(), !model.residual_z.empty());
}

Score map_score_of(const Scores& scores) {
  return choose_map(scores.has(Score::residual_nn), scores.has(Score::residual_z));
}

int64_t map_window(Score map_score, int64_t h, int64_t w) {
  if (map_score == Score::residual_max) return residual_max_window(h, w);
  GANOMALY_CHECK(map_score == Score::residual_nn || map_score == Score::residual_z, "anomaly map: no map for the score '",
                 to_string(map_score), "' (expected residual_nn, residual_z or residual_max)");
  return residual_z_window(h, w);
}

std::vector<float> smooth_map(const float* map, int64_t h, int64_t w, int64_t window) {
  window = clamped_window(h, w, window);
  const std::vector<float> means = window_means(map, h, w, window);
  const int64_t cols = w - window + 1, before = (window - 1) / 2;
  std::vector<float> out(h * w);
  for (int64_t y = 0; y < h; ++y) {
    const int64_t top = std::clamp<int64_t>(y - before, 0, h - window);
    for (int64_t x = 0; x < w; ++x) out[y * w + x] = means[top * cols + std::clamp<int64_t>(x - before, 0, w - window)];
  }
  return out;
}

std::vector<float> standardised_maps(const Ganomaly& model, Score map_score, const Tensor& images,
                                     const std::vector<float>& residuals) {
  const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  GANOMALY_CHECK(static_cast<int64_t>(residuals.size()) == n * h * w, "anomaly map: ", residuals.size(),
                 " residual values for ", n, " images of ", h, "x", w);
  if (map_score == Score::residual_max) return residuals;
  std::vector<float> out(residuals.size());
  if (map_score == Score::residual_z) {
    for (int64_t i = 0; i < n; ++i) model.residual_z.standardise(&residuals[i * h * w], &out[i * h * w]);
    return out;
  }
  GANOMALY_CHECK(map_score == Score::residual_nn, "anomaly map: no map for the score '", to_string(map_score), "'");
  // Matched by the image as scored (Ganomaly::score keys the unpadded, normalised image).
  const Tensor host = images.to(Device::cpu);
  for (int64_t i = 0; i < n; ++i)
    model.residual_nn.standardise(&residuals[i * h * w], image_key(host.data() + i * c * h * w, c, h, w),
                                          &out[i * h * w]);
  return out;
}

std::vector<float> anomaly_maps(const Ganomaly& model, Score map_score, const Tensor& images,
                                const std::vector<float>& residuals) {
  std::vector<float> maps = standardised_maps(model, map_score, images, residuals);
  const int64_t h = images.size(2), w = images.size(3), window = map_window(map_score, h, w);
  for (int64_t i = 0; i < images.size(0); ++i) {
    const std::vector<float> smoothed = smooth_map(&maps[i * h * w], h, w, window);
    std::copy(smoothed.begin(), smoothed.end(), maps.begin() + i * h * w);
  }
  return maps;
}

ScoredMaps score_with_maps(Ganomaly& model, const Calibration& calibration, const Tensor& images,
                           FeatureScore feature) {
  ScoredMaps out;
  std::vector<float> residuals;
  Decided decided = score_and_decide(model, calibration, images, feature, &residuals);
  out.scores = std::move(decided.scores);
  out.verdicts = std::move(decided.verdicts);
  out.map_score = map_score_of(model);
  out.height = images.size(2);
  out.width = images.size(3);
  out.maps = anomaly_maps(model, out.map_score, images, residuals);
  return out;
}

Tensor model_inputs(const Ganomaly& model, const std::vector<Image>& images) {
  const int size = model.config.image_size, channels = model.config.channels;
  GANOMALY_CHECK(!images.empty(), "model_inputs: no images");
  Tensor out = Tensor::empty(Shape{static_cast<int64_t>(images.size()), channels, size, size});
  const int64_t per_image = int64_t(channels) * size * size;
  for (size_t i = 0; i < images.size(); ++i) {
    GANOMALY_CHECK(images[i].channels == channels, "model_inputs: an image of ", images[i].channels,
                   " channels for a model of ", channels);
    normalize_image(resize_image(images[i], size, size), model.recipe.normalization, out.data() + i * per_image);
  }
  return out;
}

std::vector<float> resize_map(const float* map, int width, int height, int out_width, int out_height) {
  GANOMALY_CHECK(width > 0 && height > 0 && out_width > 0 && out_height > 0, "resize_map: bad sizes ", width,
                 "x", height, " -> ", out_width, "x", out_height);
  Image one_channel;
  one_channel.width = width, one_channel.height = height, one_channel.channels = 1;
  one_channel.pixels.assign(map, map + size_t(width) * height);
  return resize_image(one_channel, out_width, out_height).pixels;
}

MapSummary summarise_map(const float* map, int width, int height, float threshold) {
  MapSummary s;
  s.threshold = threshold;
  s.peak = -std::numeric_limits<float>::infinity();
  const size_t pixels = size_t(width) * height;
  for (size_t p = 0; p < pixels; ++p) {
    if (map[p] > s.peak) {
      s.peak = map[p];
      s.peak_x = static_cast<int>(p % width);
      s.peak_y = static_cast<int>(p / width);
    }
    if (map[p] > threshold) ++s.area_pixels;
  }
  s.area_fraction = pixels ? double(s.area_pixels) / pixels : 0.0;
  return s;
}

float fit_map_threshold(const std::vector<float>& peaks, const std::vector<int>& labels) {
  GANOMALY_CHECK(peaks.size() == labels.size(), "map threshold: ", peaks.size(), " peaks for ", labels.size(), " labels");
  float best = -std::numeric_limits<float>::infinity();
  for (size_t i = 0; i < peaks.size(); ++i)
    if (labels[i] == 0) best = std::max(best, peaks[i]);
  GANOMALY_CHECK(std::isfinite(best), "map threshold: no normal validation image with a finite map peak");
  return best;
}

float map_threshold(const Calibration& calibration, Score map_score) {
  if (calibration.map_score == map_score) return calibration.map_threshold;
  if (calibration.score == map_score) return calibration.threshold;
  if (map_score == Score::residual_nn || map_score == Score::residual_z) return kFallbackZThreshold;
  return std::numeric_limits<float>::infinity();
}

}  // namespace gan
