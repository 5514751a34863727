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
  // Matched by the image as scored (Ganomaly::score keys the unpadded, normalised image,
  // after the photometric normalisation).
  const Tensor host = model.photometric.apply(images).to(Device::cpu);
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

MapPart map_part_of(const Calibration& calibration, const Ganomaly& model) {
  const Score decides = calibration.score;
  if (decides == Score::residual_nn || decides == Score::residual_z || decides == Score::residual_max)
    return {decides, 1.0f};
  if (decides == Score::fused)
    for (const Score s : {Score::residual_nn, Score::residual_z, Score::residual_max}) {
      const auto part = calibration.fusion.find(s);
      if (part != calibration.fusion.end()) return {s, part->second.weight / part->second.stddev};
    }
  return {map_score_of(model), 0.0f};
}

void to_decision_maps(std::vector<float>& maps, size_t pixels, const std::vector<float>& decided, float slope) {
  GANOMALY_CHECK(maps.size() == decided.size() * pixels, "decision maps: ", maps.size(), " values for ",
                 decided.size(), " maps of ", pixels);
  GANOMALY_CHECK(std::isfinite(slope) && slope >= 0, "decision maps: the slope is ", slope);
  for (size_t i = 0; i < decided.size(); ++i) {
    float* m = maps.data() + i * pixels;
    const float top = *std::max_element(m, m + pixels);
    for (size_t p = 0; p < pixels; ++p) m[p] = decided[i] + slope * (m[p] - top);
  }
}

ScoredMaps score_with_maps(Ganomaly& model, const Calibration& calibration, const Tensor& images,
                           FeatureScore feature) {
  ScoredMaps out;
  std::vector<float> residuals;
  Decided decided = score_and_decide(model, calibration, images, feature, &residuals);
  out.scores = std::move(decided.scores);
  out.verdicts = std::move(decided.verdicts);
  out.part = map_part_of(calibration, model);
  out.height = images.size(2);
  out.width = images.size(3);
  out.maps = anomaly_maps(model, out.part.score, images, residuals);
  std::vector<float> raw;
  for (const Verdict& v : out.verdicts) raw.push_back(v.raw);
  to_decision_maps(out.maps, size_t(out.height) * out.width, raw, out.part.slope);
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

namespace {

// One line of resize_map along one axis: `in` values `from_step` apart to `out` values
// `to_step` apart.
void resize_line(const float* from, size_t from_step, int in, float* to, size_t to_step, int out) {
  if (out == in) {
    for (int j = 0; j < in; ++j) to[j * to_step] = from[j * from_step];
  } else if (out < in) {  // shrinking: the largest of the pixels each new pixel's area overlaps
    for (int o = 0; o < out; ++o) {
      const int first = int(int64_t(o) * in / out), end = int((int64_t(o + 1) * in + out - 1) / out);
      float top = from[first * from_step];
      for (int j = first + 1; j < end; ++j) top = std::max(top, from[j * from_step]);
      to[o * to_step] = top;
    }
  } else {  // enlarging: corner k sits at k - 0.5, between pixels k - 1 and k, the larger of them
    std::vector<float> corners(in + 1);
    corners[0] = from[0];
    corners[in] = from[(in - 1) * from_step];
    for (int k = 1; k < in; ++k) corners[k] = std::max(from[(k - 1) * from_step], from[k * from_step]);
    for (int o = 0; o < out; ++o) {
      const double at = (o + 0.5) * double(in) / out;  // from the first corner, in old pixels: (0, in)
      const int k = std::min(static_cast<int>(at), in - 1);
      const float a = corners[k], b = corners[k + 1], t = static_cast<float>(at - k);
      // a + t (b - a) is a exactly when b == a, so a pixel no smaller than its neighbours
      // keeps its value; clamped, so that rounding never takes a value past its corners.
      to[o * to_step] = std::clamp(a + t * (b - a), std::min(a, b), std::max(a, b));
    }
  }
}

}  // namespace

std::vector<float> resize_map(const float* map, int width, int height, int out_width, int out_height) {
  GANOMALY_CHECK(width > 0 && height > 0 && out_width > 0 && out_height > 0, "resize_map: bad sizes ", width,
                 "x", height, " -> ", out_width, "x", out_height);
  // Along x, row by row, then along y, column by column. Each pass keeps every line's
  // largest value, so the two keep the map's.
  std::vector<float> rows(size_t(out_width) * height), out(size_t(out_width) * out_height);
  for (int y = 0; y < height; ++y) resize_line(map + size_t(y) * width, 1, width, &rows[size_t(y) * out_width], 1, out_width);
  for (int x = 0; x < out_width; ++x) resize_line(&rows[x], out_width, height, &out[x], out_width, out_height);
  return out;
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
    if (map[p] >= threshold) ++s.area_pixels;
  }
  s.area_fraction = pixels ? double(s.area_pixels) / pixels : 0.0;
  return s;
}

}  // namespace gan
