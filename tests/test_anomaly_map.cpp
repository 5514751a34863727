// The anomaly map (eval/anomaly_map.h): smoothing whose peak is the score, resampling
// that keeps the peak, peak and area, the decision map (its peak the deciding score, so
// one threshold decides the verdict and the outline), and the map of a model against its
// own residual scores.
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

TEST_CASE("resize_map: enlarging from the corners' larger neighbours, shrinking by the largest overlapped") {
  const std::vector<float> two = {0.0f, 4.0f};
  // Corners at 0 (the edge: 0), 1 (max(0, 4) = 4) and 2 (the edge: 4); centres of four new
  // pixels at 0.25, 0.75, 1.25 and 1.75 old pixels from the left edge.
  CHECK(resize_map(two.data(), 2, 1, 4, 1) == std::vector<float>{1.0f, 3.0f, 4.0f, 4.0f});
  CHECK(resize_map(two.data(), 2, 1, 2, 3) == std::vector<float>{0, 4, 0, 4, 0, 4});
  CHECK(resize_map(two.data(), 2, 1, 1, 1) == std::vector<float>{4.0f});
  const std::vector<float> three = {1.0f, 7.0f, 2.0f};
  CHECK(resize_map(three.data(), 3, 1, 2, 1) == std::vector<float>{7.0f, 7.0f});  // pixel 1 overlaps both halves
  CHECK(resize_map(three.data(), 1, 3, 1, 1) == std::vector<float>{7.0f});
  Rng rng(2);
  const std::vector<float> map = random_values(rng, 5 * 7, -1.0f, 2.0f);
  CHECK(resize_map(map.data(), 7, 5, 7, 5) == map);  // same size: a copy
  CHECK_THROWS_AS(resize_map(map.data(), 7, 5, 0, 5), Error);
}

TEST_CASE("resize_map keeps the map's largest value exactly at any size, and the region at a threshold") {
  Rng rng(12);
  for (auto [w, h] : {std::pair{32, 32}, std::pair{7, 5}, std::pair{1, 1}, std::pair{1, 9}}) {
    const std::vector<float> map = random_values(rng, size_t(w) * h, -3.0f, 9.0f);
    const float peak = *std::max_element(map.begin(), map.end());
    const float threshold = 0.5f * (peak + *std::min_element(map.begin(), map.end()));
    for (auto [ow, oh] : {std::pair{1, 1}, std::pair{7, 7}, std::pair{3, 40}, std::pair{45, 28}, std::pair{100, 1},
                          std::pair{97, 131}, std::pair{w, h}}) {
      CAPTURE(w);
      CAPTURE(h);
      CAPTURE(ow);
      CAPTURE(oh);
      const std::vector<float> out = resize_map(map.data(), w, h, ow, oh);
      REQUIRE(out.size() == size_t(ow) * oh);
      CHECK(*std::max_element(out.begin(), out.end()) == peak);
      // A value at or above `threshold` somewhere, and nothing above the peak: the region
      // is nonempty at every size, as it is at the old one.
      CHECK(summarise_map(out.data(), ow, oh, threshold).area_pixels > 0);
      CHECK(summarise_map(out.data(), ow, oh, std::nextafter(peak, 1e9f)).area_pixels == 0);
    }
  }
  // Enlarging: every old pixel at or above a threshold stays so over its whole area.
  std::vector<float> one_hot(6 * 4, 0.0f);
  one_hot[2 * 6 + 3] = 5.0f;  // (3, 2)
  const std::vector<float> big = resize_map(one_hot.data(), 6, 4, 60, 40);
  for (int y = 20; y < 30; ++y)
    for (int x = 30; x < 40; ++x) CHECK(big[size_t(y) * 60 + x] == 5.0f);
  CHECK(summarise_map(big.data(), 60, 40, 5.0f).area_pixels == 100);
}

TEST_CASE("summarise_map: the first largest value, the pixels at or above the threshold") {
  const std::vector<float> map = {0, 1, 5, 2,  //
                                  5, 3, 1, 0};
  const MapSummary s = summarise_map(map.data(), 4, 2, 2.0f);
  CHECK(s.peak == 5.0f);
  CHECK(s.peak_x == 2);
  CHECK(s.peak_y == 0);
  CHECK(s.area_pixels == 4);  // 5, 5, 3 and the 2 at the threshold (a score at it is anomalous)
  CHECK(s.area_fraction == doctest::Approx(4.0 / 8));
  CHECK(summarise_map(map.data(), 4, 2, std::numeric_limits<float>::infinity()).area_pixels == 0);
}

TEST_CASE("to_decision_maps: the deciding score at the peak exactly, the residual part's shape below it") {
  std::vector<float> maps = {1, 4, 2, 4,  //
                             0.5f, 0.25f, 0.125f, 0.0625f};
  to_decision_maps(maps, 4, {10.3f, -2.7f}, 0.5f);
  CHECK(maps == std::vector<float>{10.3f + 0.5f * -3, 10.3f, 10.3f + 0.5f * -2, 10.3f,  //
                                   -2.7f, -2.7f + 0.5f * -0.25f, -2.7f + 0.5f * -0.375f, -2.7f + 0.5f * -0.4375f});
  std::vector<float> flat = {1, 2, 3};
  to_decision_maps(flat, 3, {0.7f}, 0.0f);  // no residual part: the decision has no place
  CHECK(flat == std::vector<float>{0.7f, 0.7f, 0.7f});
  CHECK_THROWS_AS(to_decision_maps(flat, 2, {0.7f}, 1.0f), Error);
  CHECK_THROWS_AS(to_decision_maps(flat, 3, {0.7f}, std::numeric_limits<float>::infinity()), Error);
}

TEST_CASE("map_part_of: the residual map the deciding score reads, and its slope") {
  Ganomaly model(tiny_model_config(), Recipe::of(RecipeName::paper), 7);
  Calibration c;
  for (const Score s : {Score::residual_nn, Score::residual_z, Score::residual_max}) {
    c.score = s;
    CHECK(map_part_of(c, model).score == s);
    CHECK(map_part_of(c, model).slope == 1.0f);
  }
  c.score = Score::fused;
  c.fusion[Score::latent] = {0.5f, 2.0f, 1.0f};
  c.fusion[Score::residual_nn] = {3.0f, 4.0f, 0.5f};
  CHECK(map_part_of(c, model).score == Score::residual_nn);
  CHECK(map_part_of(c, model).slope == 0.125f);  // weight / stddev: what one unit of residual_nn adds
  c.fusion.erase(Score::residual_nn);
  c.fusion[Score::residual_z] = {3.0f, 2.0f, 1.0f};  // an older file's fused parts
  CHECK(map_part_of(c, model).score == Score::residual_z);
  CHECK(map_part_of(c, model).slope == 0.5f);
  c.fusion.erase(Score::residual_z);
  CHECK(map_part_of(c, model).slope == 0.0f);  // no residual part: flat
  CHECK(map_part_of(c, model).score == map_score_of(model));
  c.score = Score::latent;
  CHECK(map_part_of(c, model).slope == 0.0f);
}

TEST_CASE("the anomaly map's peak at the model's size is its score, for each kind of map") {
  SmallModel m;
  Calibration c;
  for (const Score kind : {Score::residual_nn, Score::residual_z, Score::residual_max}) {
    CAPTURE(to_string(kind));
    if (kind == Score::residual_z) m.model.residual_nn = ResidualNN();
    if (kind == Score::residual_max) m.model.residual_z = ResidualZ();
    c.score = kind;  // a score the model computes: score_with_maps decides with it
    CHECK(map_score_of(m.model) == kind);
    const ScoredMaps s = score_with_maps(m.model, c, m.images, FeatureScore::skip);
    CHECK(s.part.score == kind);
    CHECK(s.part.slope == 1.0f);
    CHECK(map_score_of(s.scores) == kind);
    REQUIRE(s.height == 32);
    REQUIRE(s.width == 32);
    REQUIRE(s.maps.size() == 6u * 32 * 32);
    const std::vector<float>& score = s.scores.get(kind);
    // The maps from the residuals alone (as evaluate computes them): their peaks are the
    // scores, bit for bit; the decision maps are them moved to peak at the verdict's score.
    std::vector<float> residuals;
    m.model.score(m.images, 32, &residuals, FeatureScore::skip);
    std::vector<float> maps = anomaly_maps(m.model, kind, m.images, residuals);
    for (int i = 0; i < 6; ++i) {
      CHECK(*std::max_element(&maps[i * 32 * 32], &maps[(i + 1) * 32 * 32]) == score[i]);
      CHECK(*std::max_element(s.map(i), s.map(i) + 32 * 32) == score[i]);
      CHECK(s.verdicts[i].raw == score[i]);
    }
    to_decision_maps(maps, 32 * 32, score, 1.0f);
    CHECK(maps == s.maps);
  }
  CHECK_THROWS_AS(map_window(Score::latent, 32, 32), Error);
}

TEST_CASE("one threshold: the map shows a region exactly when the verdict is anomalous, wherever the threshold is") {
  SmallModel m;
  // A fused calibration as training fits it, deciding with the fused score.
  Calibration c;
  Scores scores = m.model.score(m.images, 32, nullptr, FeatureScore::compute);
  std::vector<int> labels = {0, 0, 0, 1, 1, 1};
  c.fit_fusion(scores, labels);
  c.fuse(scores);
  const std::vector<float>& fused = scores.get(Score::fused);
  c.score = Score::fused;
  c.threshold = fused[0];
  c.normalizer = ScoreNormalizer::fit(fused, c.threshold);
  REQUIRE(c.fusion.count(Score::residual_nn));
  std::vector<float> sorted = fused;
  std::sort(sorted.begin(), sorted.end());
  for (const bool by_sensitivity : {false, true})
    for (size_t cut = 0; cut <= sorted.size(); ++cut) {
      // Thresholds at, between and beyond the scores; by raw value and by sensitivity.
      const float raw = cut == sorted.size() ? sorted.back() + 1 : sorted[cut];
      const Calibration moved =
          by_sensitivity ? with_decision_threshold(c, std::nullopt, 1 - c.normalizer.apply(raw))
                         : with_decision_threshold(c, raw, std::nullopt);
      CAPTURE(moved.threshold);
      const ScoredMaps s = score_with_maps(m.model, moved, m.images, FeatureScore::compute);
      CHECK(s.part.score == Score::residual_nn);
      CHECK(s.part.slope > 0);
      for (size_t i = 0; i < 6; ++i) {
        CAPTURE(i);
        // At the model's size, and at an input's size of 1x1, 7x7 and larger.
        for (auto [w, h] : {std::pair{32, 32}, std::pair{1, 1}, std::pair{7, 7}, std::pair{45, 28}}) {
          const std::vector<float> map = resize_map(s.map(i), 32, 32, w, h);
          const MapSummary summary = summarise_map(map.data(), w, h, moved.threshold);
          CHECK(summary.peak == s.verdicts[i].raw);
          CHECK((summary.area_pixels > 0) == s.verdicts[i].anomalous);
        }
      }
    }
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

TEST_CASE("a model file from 0.2 with its own map threshold loads; the decision threshold outlines") {
  const testing::TinyRun run = testing::train_tiny_run("anomaly_map");
  LoadedModel loaded = load_model(run.out + "/model.gnm");
  CHECK_FALSE(loaded.config["calibration"].contains("map"));  // no second threshold is written
  nlohmann::json old = loaded.calibration.to_json();
  old["map"] = {{"score", "residual_nn"}, {"threshold", 1e9}};  // as 0.2 stored it
  const Calibration c = Calibration::from_json(old);
  CHECK(c.threshold == loaded.calibration.threshold);
  // With a threshold far below every score, every map has a region; 0.2's would have none.
  Calibration low = with_decision_threshold(c, -1e6f, std::nullopt);
  const ScoredMaps s = score_with_maps(*loaded.model, low, model_inputs(*loaded.model, {load_image(
                                                                            run.data + "/train/good/000.png", 3)}),
                                       low.feature_needed());
  CHECK(s.verdicts.at(0).anomalous);
  CHECK(summarise_map(s.map(0), 32, 32, low.threshold).area_pixels == 32 * 32);
}
