// The anomaly map (eval/anomaly_map.h): smoothing whose peak is the score, bilinear
// resampling, peak and area, the map threshold (fitted, stored, and its fallbacks for
// older model files), and the map of a model against its own residual scores.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "ganomaly/eval/anomaly_map.h"
#include "ganomaly/io/model_file.h"
#include "support/fixtures.h"
#include "support/run_app.h"

using namespace gan;
using gan::testing::tiny_model_config;

namespace {

std::vector<float> random_values(Rng& rng, size_t n, float lo, float hi) {
  std::vector<float> v(n);
  for (float& x : v) x = rng.uniform(lo, hi);
  return v;
}

// An untrained small model whose residual statistics and neighbours are fitted on
// random images: every map kind, in a fraction of a second.
struct SmallModel {
  Ganomaly model;
  Tensor images;
  SmallModel() : model(tiny_model_config(), Recipe::of(RecipeName::paper), 7) {
    Rng rng(4);
    images = Tensor::from_vector(Shape{6, 3, 32, 32}, random_values(rng, 6 * 3 * 32 * 32, -1.0f, 1.0f));
    model.fit_residuals(images, 4);
  }
};

}  // namespace

TEST_CASE("smooth_map: each pixel a window mean that holds it; the largest is window_max") {
  Rng rng(1);
  for (int h : {1, 4, 9})
    for (int w : {1, 6, 9})
      for (int k : {1, 2, 3, 4, 12}) {
        CAPTURE(h);
        CAPTURE(w);
        CAPTURE(k);
        const std::vector<float> map = random_values(rng, size_t(h) * w, -2.0f, 3.0f);
        const std::vector<float> smooth = smooth_map(map.data(), h, w, k);
        REQUIRE(smooth.size() == map.size());
        CHECK(*std::max_element(smooth.begin(), smooth.end()) == window_max(map.data(), h, w, k));
        const int fit = std::min({k, h, w});
        for (int y = 0; y < h; ++y)
          for (int x = 0; x < w; ++x) {
            // Some fitting window holding (x, y) has this mean.
            bool found = false;
            for (int top = std::max(0, y - fit + 1); top <= std::min(y, h - fit) && !found; ++top)
              for (int left = std::max(0, x - fit + 1); left <= std::min(x, w - fit) && !found; ++left) {
                double s = 0;
                for (int dy = 0; dy < fit; ++dy)
                  for (int dx = 0; dx < fit; ++dx) s += map[(top + dy) * w + left + dx];
                found = std::fabs(s / (fit * fit) - smooth[y * w + x]) < 1e-5;
              }
            CHECK_MESSAGE(found, "pixel ", x, ",", y);
          }
      }
}

TEST_CASE("resize_map: half-pixel centres, edges clamped, the peak never grows") {
  const std::vector<float> two = {0.0f, 4.0f};
  CHECK(resize_map(two.data(), 2, 1, 4, 1) == std::vector<float>{0.0f, 1.0f, 3.0f, 4.0f});
  CHECK(resize_map(two.data(), 2, 1, 2, 3) == std::vector<float>{0, 4, 0, 4, 0, 4});
  CHECK(resize_map(two.data(), 2, 1, 1, 1) == std::vector<float>{2.0f});
  Rng rng(2);
  const std::vector<float> map = random_values(rng, 5 * 7, -1.0f, 2.0f);
  CHECK(resize_map(map.data(), 7, 5, 7, 5) == map);  // same size: a copy
  const float peak = *std::max_element(map.begin(), map.end());
  for (auto [w, h] : {std::pair{16, 9}, std::pair{3, 2}, std::pair{100, 1}}) {
    const std::vector<float> big = resize_map(map.data(), 7, 5, w, h);
    REQUIRE(big.size() == size_t(w) * h);
    CHECK(*std::max_element(big.begin(), big.end()) <= peak);
  }
  CHECK_THROWS_AS(resize_map(map.data(), 7, 5, 0, 5), Error);
}

TEST_CASE("summarise_map: the first largest value, the pixels strictly above the threshold") {
  const std::vector<float> map = {0, 1, 5, 2,  //
                                  5, 3, 1, 0};
  const MapSummary s = summarise_map(map.data(), 4, 2, 2.0f);
  CHECK(s.peak == 5.0f);
  CHECK(s.peak_x == 2);
  CHECK(s.peak_y == 0);
  CHECK(s.area_pixels == 3);  // 5, 5 and 3; the 2 is not above 2
  CHECK(s.area_fraction == doctest::Approx(3.0 / 8));
  CHECK(summarise_map(map.data(), 4, 2, std::numeric_limits<float>::infinity()).area_pixels == 0);
}

TEST_CASE("the map threshold: the largest normal peak; stored, or a documented fallback") {
  CHECK(fit_map_threshold({1, 9, 4, 2}, {0, 1, 0, 1}) == 4.0f);
  CHECK_THROWS_AS(fit_map_threshold({1, 2}, {1, 1}), Error);
  CHECK_THROWS_AS(fit_map_threshold({1}, {0, 1}), Error);

  Calibration c;
  c.score = Score::fused;
  c.threshold = 0.7f;
  c.map_score = Score::residual_nn;
  c.map_threshold = 6.5f;
  CHECK(map_threshold(c, Score::residual_nn) == 6.5f);
  const Calibration back = Calibration::from_json(c.to_json());
  CHECK(back.map_score == Score::residual_nn);
  CHECK(back.map_threshold == 6.5f);

  // A calibration from before the maps: its JSON has no "map".
  nlohmann::json old = c.to_json();
  old.erase("map");
  const Calibration older = Calibration::from_json(old);
  CHECK_FALSE(older.map_score.has_value());
  CHECK(map_threshold(older, Score::residual_nn) == kFallbackZThreshold);
  CHECK(map_threshold(older, Score::residual_z) == kFallbackZThreshold);
  CHECK(std::isinf(map_threshold(older, Score::residual_max)));
  Calibration deciding = older;
  deciding.score = Score::residual_max;  // the map's own score decides: its threshold outlines
  CHECK(map_threshold(deciding, Score::residual_max) == 0.7f);
  // Fitted for another map than the model shows (cannot happen in one file, but safe).
  CHECK(map_threshold(c, Score::residual_z) == kFallbackZThreshold);

  nlohmann::json bad = c.to_json();
  bad["map"]["threshold"] = nullptr;
  CHECK_THROWS(Calibration::from_json(bad));
}

TEST_CASE("the anomaly map's peak at the model's size is its score, for each kind of map") {
  SmallModel m;
  Calibration c;
  c.score = Score::residual_nn;
  for (const Score kind : {Score::residual_nn, Score::residual_z, Score::residual_max}) {
    CAPTURE(to_string(kind));
    if (kind == Score::residual_z) m.model.residual_nn = ResidualNN();
    if (kind == Score::residual_max) m.model.residual_z = ResidualZ();
    c.score = kind;  // a score the model computes: score_with_maps decides with it
    CHECK(map_score_of(m.model) == kind);
    const ScoredMaps s = score_with_maps(m.model, c, m.images, FeatureScore::skip);
    CHECK(s.map_score == kind);
    CHECK(map_score_of(s.scores) == kind);
    REQUIRE(s.height == 32);
    REQUIRE(s.width == 32);
    REQUIRE(s.maps.size() == 6u * 32 * 32);
    const std::vector<float>& score = s.scores.get(kind);
    for (int i = 0; i < 6; ++i) {
      const float* map = s.map(i);
      CHECK(*std::max_element(map, map + 32 * 32) == score[i]);
    }
    // The same maps from the residuals alone (as evaluate computes them).
    std::vector<float> residuals;
    m.model.score(m.images, 32, &residuals, FeatureScore::skip);
    CHECK(anomaly_maps(m.model, kind, m.images, residuals) == s.maps);
  }
  CHECK_THROWS_AS(map_window(Score::latent, 32, 32), Error);
}

TEST_CASE("model_inputs: the image resized and normalised as load_images does it") {
  testing::TempDir dir("anomaly_map_inputs");
  Image image;
  image.width = 45, image.height = 30, image.channels = 3;
  Rng rng(6);
  image.pixels = random_values(rng, size_t(45) * 30 * 3, 0.0f, 1.0f);
  write_png(dir / "a.png", image);
  SmallModel m;
  const Image decoded = load_image(dir / "a.png", 3);
  const Tensor ours = model_inputs(m.model, {decoded});
  const Tensor theirs = load_images({Sample{dir / "a.png", 0, "", ""}}, 32, 3, m.model.recipe.normalization);
  CHECK(ours.to_vector() == theirs.to_vector());
  image.channels = 1;
  CHECK_THROWS_AS(model_inputs(m.model, {image}), Error);
}

TEST_CASE("training calibrates the map threshold on validation normals and stores it in model.gnm") {
  const testing::TinyRun run = testing::train_tiny_run("anomaly_map");
  LoadedModel loaded = load_model(run.out + "/model.gnm");
  const Calibration& c = loaded.calibration;
  CHECK(c.map_score == Score::residual_nn);
  CHECK(std::isfinite(c.map_threshold));
  CHECK(map_threshold(c, map_score_of(*loaded.model)) == c.map_threshold);
  // A model file written without it (as before the maps) still loads and falls back.
  Calibration old = c;
  old.map_score.reset();
  testing::TempDir dir("anomaly_map_old");
  save_model(dir / "old.gnm", *loaded.model, old, {});
  const LoadedModel reloaded = load_model(dir / "old.gnm");
  CHECK_FALSE(reloaded.calibration.map_score.has_value());
  CHECK_FALSE(reloaded.config["calibration"].contains("map"));
  CHECK(map_threshold(reloaded.calibration, Score::residual_nn) ==
        (c.score == Score::residual_nn ? c.threshold : kFallbackZThreshold));
}
