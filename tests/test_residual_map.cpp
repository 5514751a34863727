// Scores from the residual map: the window maximum against a naive reference, and the
// per-pixel standardisation behind residual_z (fit, units, file round trip).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "ganomaly/io/model_file.h"
#include "ganomaly/model/residual_map.h"
#include "support/run_app.h"

using namespace gan;

namespace {

float naive_window_max(const std::vector<float>& map, int h, int w, int k) {
  float best = -std::numeric_limits<float>::infinity();
  for (int y = 0; y + k <= h; ++y)
    for (int x = 0; x + k <= w; ++x) {
      double s = 0;
      for (int dy = 0; dy < k; ++dy)
        for (int dx = 0; dx < k; ++dx) s += map[(y + dy) * w + x + dx];
      best = std::max(best, static_cast<float>(s / (k * k)));
    }
  return best;
}

std::vector<float> random_map(Rng& rng, int n, float lo, float hi) {
  std::vector<float> v(n);
  for (float& x : v) x = rng.uniform(lo, hi);
  return v;
}

}  // namespace

TEST_CASE("window_max equals the naive window mean maximum, negative maps included") {
  Rng rng(3);
  for (int h : {1, 5, 12})
    for (int w : {1, 7, 12})
      for (int k : {1, 2, 3, 5}) {
        const std::vector<float> map = random_map(rng, h * w, -2.0f, 1.0f);
        const int fit = std::min({k, h, w});  // a window larger than the map shrinks to it
        CHECK_MESSAGE(window_max(map.data(), h, w, k) == doctest::Approx(naive_window_max(map, h, w, fit)).epsilon(1e-5),
                      h, "x", w, " window ", k);
      }
  // All below zero: the best window is negative, not clamped to 0.
  const std::vector<float> negative(16, -3.0f);
  CHECK(window_max(negative.data(), 4, 4, 2) == doctest::Approx(-3.0));
  CHECK(residual_max_window(64, 64) == 8);
  CHECK(residual_z_window(64, 64) == 2);
  CHECK(residual_z_window(256, 256) == 8);
}

TEST_CASE("residual statistics: per-pixel mean, spread plus a tenth of its image mean, standardised maps") {
  // Two 1x2 maps: pixel 0 takes 1 and 3 (mean 2, spread 1), pixel 1 takes 5 and 5 (spread 0).
  const ResidualZ r = ResidualZ::fit({1, 5, 3, 5}, 2, 1, 2);
  const float floor = 0.1f * 0.5f;  // a tenth of the mean spread (1 + 0) / 2
  float z[2];
  const float map[2] = {4, 6};
  r.standardise(map, z);
  CHECK(z[0] == doctest::Approx((4.0 - 2) / (1 + floor)));
  CHECK(z[1] == doctest::Approx((6.0 - 5) / (0 + floor)));
  CHECK_THROWS_AS(ResidualZ::fit({1, 2}, 1, 1, 2), Error);   // one map has no spread
  CHECK_THROWS_AS(ResidualZ::fit({1, 2, 3}, 2, 1, 2), Error);  // sizes disagree
  // A generator exact everywhere: no division by zero.
  const ResidualZ exact = ResidualZ::fit(std::vector<float>(8, 0.0f), 2, 2, 2);
  CHECK(std::isfinite(exact.score(std::vector<float>(4, 1.0f).data())));
}

TEST_CASE("residual_z finds a small defect on a steady pixel that a rim's larger residual hides from residual_max") {
  // 8x8 maps: the rim column 0 always has a large, varying residual; the rest is steady.
  const int h = 8, w = 8, n = 40;
  Rng rng(11);
  std::vector<float> normals(n * h * w);
  for (int i = 0; i < n; ++i)
    for (int p = 0; p < h * w; ++p) normals[i * h * w + p] = p % w == 0 ? rng.uniform(0.5f, 1.5f) : rng.uniform(0.09f, 0.11f);
  const ResidualZ r = ResidualZ::fit(normals, n, h, w);
  std::vector<float> normal(normals.begin(), normals.begin() + h * w), defect = normal;
  for (int p : {4 * w + 4, 4 * w + 5, 5 * w + 4, 5 * w + 5}) defect[p] = 0.4f;  // a 2x2 scratch, weaker than the rim
  const int64_t k = residual_max_window(h, w);
  CHECK(window_max(defect.data(), h, w, k) <= window_max(normal.data(), h, w, k) + 0.1f);  // residual_max barely moves
  CHECK(r.score(defect.data()) > r.score(normal.data()) + 5.0f);                          // residual_z jumps
}

TEST_CASE("residual statistics travel as R.mean / R.scale; a model file without them scores without residual_z") {
  ModelConfig config;
  config.image_size = 32;
  config.n_features = 8;
  config.latent_size = 8;
  Ganomaly model(config, Recipe::of(RecipeName::paper), 7);
  Rng rng(2);
  const Tensor images = Tensor::from_vector(Shape{6, 3, 32, 32}, random_map(rng, 6 * 3 * 32 * 32, -1.0f, 1.0f));
  const Scores before = model.score(images, 4);
  CHECK_FALSE(before.has(Score::residual_z));
  CHECK_THROWS_AS(before.get(Score::residual_z), Error);

  model.fit_residuals(images, 4);
  const Scores fitted = model.score(images, 4);
  REQUIRE(fitted.has(Score::residual_z));
  CHECK(fitted.residual_max == before.residual_max);
  // Scored on the images the statistics came from, the z values average to about 0.
  std::vector<float> maps;
  model.score(images, 4, &maps, FeatureScore::skip);
  std::vector<float> z(32 * 32);
  double mean_z = 0;
  for (int i = 0; i < 6; ++i) {
    model.residual_z.standardise(maps.data() + i * 1024, z.data());
    for (float v : z) mean_z += v / (6 * 1024);
  }
  CHECK(std::fabs(mean_z) < 1e-4);

  testing::TempDir dir("residual_stats");
  Calibration c;
  save_model(dir / "with.gnm", model, c, {});
  LoadedModel loaded = load_model(dir / "with.gnm");
  CHECK(loaded.model->score(images, 4).residual_z == fitted.residual_z);

  model.residual_z = ResidualZ();
  save_model(dir / "without.gnm", model, c, {});
  LoadedModel old = load_model(dir / "without.gnm");
  CHECK(old.model->residual_z.empty());
  CHECK_FALSE(old.model->score(images, 4).has(Score::residual_z));

  // Statistics of another image size are refused, naming the file.
  nn::NamedTensors wrong = loaded.model->state();
  for (auto& [name, t] : wrong)
    if (name.rfind("R.", 0) == 0) t = Tensor::full(Shape{16, 16}, 1.0f);
  // (A model file loads for scoring only, so through load_scoring_state.)
  CHECK_THROWS_WITH_AS(old.model->load_scoring_state(wrong, old.model->ema_decay(), "x.gnm"),
                       doctest::Contains("x.gnm: "), Error);
  CHECK_THROWS_WITH_AS(old.model->load_scoring_state(wrong, old.model->ema_decay(), "x.gnm"),
                       doctest::Contains("do not fit image size 32"), Error);
}
