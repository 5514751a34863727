// Photometric normalisation (model/photometric.h): it undoes a global change of light
// exactly, leaves images alone when off, survives the model file; and relit() (the
// validation set's lighting drift) changes each image as change_lighting does.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "ganomaly/data/dataset.h"
#include "ganomaly/data/synth.h"
#include "ganomaly/model/ganomaly.h"
#include "ganomaly/train/pseudo_anomaly.h"
#include "tensor/random.h"

using namespace gan;

namespace {

Tensor random_images(int64_t n, int64_t c, int64_t s, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(size_t(n * c * s * s));
  for (float& x : v) x = rng.uniform(-0.8f, 0.6f);
  return Tensor::from_vector({n, c, s, s}, v);
}

float max_difference(const Tensor& a, const Tensor& b) {
  const std::vector<float> x = a.to_vector(), y = b.to_vector();
  float d = 0;
  for (size_t i = 0; i < x.size(); ++i) d = std::max(d, std::abs(x[i] - y[i]));
  return d;
}

}  // namespace

TEST_CASE("photometric: a per-channel change of gain and offset is undone") {
  const Tensor normals = random_images(6, 3, 8, 1);
  const Photometric p = Photometric::fit(normals);
  REQUIRE(p.on());
  // The same images, each channel through its own gain and offset: the normalised
  // results are the same.
  Tensor lit = normals.clone();
  const int64_t plane = 64;
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t j = 0; j < plane; ++j) {
        float& x = lit.data()[(i * 3 + c) * plane + j];
        x = x * (0.8f + 0.05f * float(c)) - 0.1f * float(i % 3);
      }
  CHECK(max_difference(p.apply(normals), p.apply(lit)) < 1e-5f);
  // Applied, every image has the reference's channel means and spreads.
  const Tensor out = p.apply(lit);
  std::vector<float> mean(3), stddev(3);
  channel_statistics(out.data() + 2 * 3 * plane, 3, plane, mean.data(), stddev.data());
  for (int c = 0; c < 3; ++c) {
    CHECK(mean[c] == doctest::Approx(p.mean()[c]).epsilon(1e-4));
    CHECK(stddev[c] == doctest::Approx(p.stddev()[c]).epsilon(1e-4));
  }
  // The reference: the mean of the images' own statistics (a naive count).
  double sum = 0;
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t j = 0; j < plane; ++j) sum += normals.data()[(i * 3 + 1) * plane + j];
  CHECK(p.mean()[1] == doctest::Approx(sum / (6.0 * plane)).epsilon(1e-5));
}

TEST_CASE("photometric: off leaves images alone; a flat channel is only shifted") {
  const Tensor images = random_images(2, 1, 4, 2);
  const Photometric off;
  CHECK_FALSE(off.on());
  CHECK(max_difference(off.apply(images), images) == 0.0f);
  const Photometric p = Photometric::fit(images);
  const Tensor flat = Tensor::full({1, 1, 4, 4}, 0.25f);
  const std::vector<float> out = p.apply(flat).to_vector();
  for (float v : out) CHECK(v == doctest::Approx(p.mean()[0]));
}

TEST_CASE("photometric: the model's state carries it, and a wrong one is refused") {
  ModelConfig config;
  config.image_size = 32;
  config.channels = 3;
  config.n_features = 8;
  config.latent_size = 4;
  Ganomaly model(config, Recipe::of(RecipeName::paper), 1);
  const Tensor normals = random_images(4, 3, 32, 3);
  const Scores before = model.score(normals);
  model.photometric = Photometric::fit(normals);
  const Scores after = model.score(normals);
  CHECK(before.reconstruction != after.reconstruction);  // it is applied to what is scored

  Ganomaly reloaded(config, Recipe::of(RecipeName::paper), 2);
  reloaded.load_state(model.state(), "test");
  REQUIRE(reloaded.photometric.on());
  CHECK(reloaded.photometric.mean() == model.photometric.mean());
  CHECK(reloaded.score(normals).reconstruction == after.reconstruction);

  nn::NamedTensors bad = model.state();
  for (auto& [name, t] : bad)
    if (name == "P.std") t = Tensor::full({2}, 1.0f);
  CHECK_THROWS_WITH_AS(reloaded.load_state(bad, "m.gnm"),
                       "m.gnm: photometric reference: expected 'mean' and 'std' of 3 values", Error);
}

TEST_CASE("relit: each validation normal as change_lighting changes it") {
  // Through the tanh normalisation and back: relit() is change_lighting in [0, 1] units.
  SynthSample s = render_synthetic("bottle", 32, 4, 1, "good");
  Tensor normal = Tensor::empty({1, 3, 32, 32});
  normalize_image(s.image, "tanh", normal.data());
  const Tensor lit = relit(normal, "tanh", 0.1, 9);
  change_lighting(s.image, 0.1, 9, 0);
  Tensor expected = Tensor::empty({1, 3, 32, 32});
  normalize_image(s.image, "tanh", expected.data());
  CHECK(max_difference(lit, expected) < 1e-5f);
  CHECK(max_difference(lit, normal) > 0.01f);
}
