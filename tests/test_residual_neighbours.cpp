// residual_nn: the residual map standardised by the maps of the nearest training images.
// Thumbnails and standardisation against naive twins, the pose case residual_z misses,
// and the model file round trip.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "ganomaly/io/model_file.h"
#include "ganomaly/model/residual_neighbours.h"
#include "support/fixtures.h"
#include "support/run_app.h"

using namespace gan;
using gan::testing::uniform_values;

namespace {

// Every pixel standardised by the k nearest maps, found by sorting all distances.
std::vector<float> naive_standardise(const std::vector<float>& maps, const std::vector<float>& keys, int n, int pixels,
                                     const std::vector<float>& map, const std::vector<float>& key, int k, float floor) {
  const size_t key_size = key.size();
  std::vector<double> distance(n);
  for (int i = 0; i < n; ++i)
    for (size_t j = 0; j < key_size; ++j) distance[i] += std::pow(double(key[j]) - keys[i * key_size + j], 2);
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return distance[a] < distance[b]; });
  std::vector<float> z(pixels);
  for (int p = 0; p < pixels; ++p) {
    double mean = 0, var = 0;
    for (int i = 0; i < k; ++i) mean += maps[order[i] * pixels + p] / k;
    for (int i = 0; i < k; ++i) var += std::pow(maps[order[i] * pixels + p] - mean, 2) / k;
    z[p] = static_cast<float>((map[p] - mean) / (std::sqrt(var) + floor));
  }
  return z;
}

float mean_spread(const std::vector<float>& maps, int n, int pixels) {
  double total = 0;
  for (int p = 0; p < pixels; ++p) {
    double mean = 0, var = 0;
    for (int i = 0; i < n; ++i) mean += maps[i * pixels + p] / n;
    for (int i = 0; i < n; ++i) var += std::pow(maps[i * pixels + p] - mean, 2) / n;
    total += std::sqrt(var);
  }
  return static_cast<float>(total / pixels);
}

}  // namespace

TEST_CASE("image_key averages squares of side min(h, w) / 16 per channel; small images are their own key") {
  Rng rng(5);
  const std::vector<float> image = uniform_values(rng, 2 * 32 * 32, -1.0f, 1.0f);
  const std::vector<float> key = image_key(image.data(), 2, 32, 32);
  REQUIRE(key.size() == 2 * 16 * 16);
  CHECK(image_key_size(2, 32, 32) == key.size());
  for (int c = 0; c < 2; ++c)
    for (int y = 0; y < 16; ++y)
      for (int x = 0; x < 16; ++x) {
        const float* at = image.data() + (c * 32 + 2 * y) * 32 + 2 * x;
        const double expected = (at[0] + at[1] + at[32] + at[33]) / 4.0;
        CHECK(key[(c * 16 + y) * 16 + x] == doctest::Approx(expected).epsilon(1e-6));
      }
  const std::vector<float> small = uniform_values(rng, 8 * 8, 0.0f, 1.0f);
  CHECK(image_key(small.data(), 1, 8, 8) == small);
}

TEST_CASE("neighbour residuals standardise by the 20 nearest maps, floored by a tenth of the mean spread") {
  const int n = 45, h = 3, w = 4, pixels = h * w, key_size = 5;
  Rng rng(9);
  const std::vector<float> maps = uniform_values(rng, n * pixels, 0.0f, 2.0f);
  const std::vector<float> keys = uniform_values(rng, n * key_size, -1.0f, 1.0f);
  const ResidualNN r = ResidualNN::fit(maps, keys, n, h, w);
  const float floor = 0.1f * mean_spread(maps, n, pixels);
  for (int trial = 0; trial < 5; ++trial) {
    const std::vector<float> map = uniform_values(rng, pixels, 0.0f, 3.0f);
    const std::vector<float> key = uniform_values(rng, key_size, -1.0f, 1.0f);
    std::vector<float> z(pixels);
    r.standardise(map.data(), key, z.data());
    const std::vector<float> expected = naive_standardise(maps, keys, n, pixels, map, key, 20, floor);
    for (int p = 0; p < pixels; ++p) CHECK(z[p] == doctest::Approx(expected[p]).epsilon(1e-4));
    CHECK(r.score(map.data(), key) ==
          doctest::Approx(window_max(expected.data(), h, w, residual_z_window(h, w))).epsilon(1e-4));
  }
  // Fewer maps than neighbours: all of them are used.
  // Two 1x2 maps: pixel 0 takes 1 and 3 (mean 2, spread 1), pixel 1 takes 5 and 5 (spread 0).
  const ResidualNN few = ResidualNN::fit({1, 5, 3, 5}, {0, 1}, 2, 1, 2);
  float z[2];
  const float map[2] = {4, 6};
  few.standardise(map, {0.0f}, z);
  CHECK(z[0] == doctest::Approx((4.0 - 2) / (1 + 0.05)));
  CHECK(z[1] == doctest::Approx((6.0 - 5) / 0.05));
  CHECK_THROWS_AS(few.standardise(map, {0.0f, 1.0f}, z), Error);                      // a key of another size
  CHECK_THROWS_AS(ResidualNN::fit({1, 2}, {0}, 1, 1, 2), Error);                // one map has no spread
  CHECK_THROWS_AS(ResidualNN::fit({1, 2, 3, 4}, {0, 1, 2}, 2, 1, 2), Error);  // keys do not split
}

TEST_CASE("residual_nn finds a defect where another pose's residual is large; residual_z loses it in the mixed spread") {
  // Two poses of 40 images each: pose A leaves a large, varying residual in column 0,
  // pose B in column 5. The rest of the map is steady.
  const int h = 8, w = 8, n = 80, pixels = h * w;
  Rng rng(21);
  std::vector<float> maps(n * pixels), keys(n);
  for (int i = 0; i < n; ++i) {
    const bool pose_a = i % 2 == 0;
    keys[i] = pose_a ? rng.uniform(0.0f, 0.1f) : rng.uniform(1.0f, 1.1f);
    for (int p = 0; p < pixels; ++p) {
      const bool busy = p % w == (pose_a ? 0 : 5);
      maps[i * pixels + p] = busy ? rng.uniform(0.5f, 1.5f) : rng.uniform(0.09f, 0.11f);
    }
  }
  const ResidualNN nn = ResidualNN::fit(maps, keys, n, h, w);
  const ResidualZ global = ResidualZ::fit(maps, n, h, w);
  // A pose-A image with a residual of 0.6 in rows 3-4 of column 5: usual for pose B there,
  // a defect for pose A.
  std::vector<float> normal(maps.begin(), maps.begin() + pixels), defect = normal;
  for (int p : {3 * w + 5, 4 * w + 5}) defect[p] = 0.6f;
  const std::vector<float> key{0.05f};
  const float nn_jump = nn.score(defect.data(), key) - nn.score(normal.data(), key);
  const float z_jump = global.score(defect.data()) - global.score(normal.data());
  CHECK(nn_jump > 5.0f);
  CHECK(nn_jump > 3 * z_jump);
}

TEST_CASE("neighbour residuals travel as N.maps / N.keys / N.floor; a model file without them scores without residual_nn") {
  ModelConfig config;
  config.image_size = 32;
  config.n_features = 8;
  config.latent_size = 8;
  Ganomaly model(config, Recipe::of(RecipeName::paper), 7);
  Rng rng(2);
  const Tensor images = Tensor::from_vector(Shape{6, 3, 32, 32}, uniform_values(rng, 6 * 3 * 32 * 32, -1.0f, 1.0f));
  CHECK_FALSE(model.score(images, 4).has(Score::residual_nn));
  model.fit_residuals(images, 4);
  REQUIRE_FALSE(model.residual_nn.empty());
  CHECK(model.residual_nn.key_size() == image_key_size(3, 32, 32));
  const Scores fitted = model.score(images, 4);
  REQUIRE(fitted.has(Score::residual_nn));
  // Batches split anywhere give the same scores.
  CHECK(model.score(images, 5).residual_nn == fitted.residual_nn);

  testing::TempDir dir("residual_nn");
  Calibration c;
  save_model(dir / "with.gnm", model, c, {});
  LoadedModel loaded = load_model(dir / "with.gnm");
  CHECK(loaded.model->score(images, 4).residual_nn == fitted.residual_nn);

  model.residual_nn = ResidualNN();
  save_model(dir / "without.gnm", model, c, {});
  LoadedModel old = load_model(dir / "without.gnm");
  CHECK(old.model->residual_nn.empty());
  const Scores old_scores = old.model->score(images, 4);
  CHECK_FALSE(old_scores.has(Score::residual_nn));
  CHECK(old_scores.residual_z == fitted.residual_z);

  // Keys of another image size are refused, naming the file.
  nn::NamedTensors wrong = loaded.model->state();
  for (auto& [name, t] : wrong)
    if (name == "N.keys") t = Tensor::full(Shape{6, 10}, 1.0f);
  // (A model file loads for scoring only, so through load_scoring_state.)
  CHECK_THROWS_WITH_AS(old.model->load_scoring_state(wrong, old.model->ema_decay(), "x.gnm"),
                       doctest::Contains("x.gnm: "), Error);
  CHECK_THROWS_WITH_AS(old.model->load_scoring_state(wrong, old.model->ema_decay(), "x.gnm"),
                       doctest::Contains("do not fit image size 32"), Error);
}
