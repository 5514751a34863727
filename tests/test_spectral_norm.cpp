// Spectral normalisation: the op against a naive power iteration and a matrix whose
// singular values are known, its buffers' life cycle, and the discriminator that uses it.
// (Its gradient: test_ops_gradcheck; against PyTorch: test_golden.)
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "ganomaly/model/model.h"
#include "ganomaly/io/model_file.h"
#include "nn/init.h"
#include "support/gradcheck.h"

using namespace gan;
using gan::testing::random_tensor;

namespace {

// The largest singular value of a rows x cols matrix by 500 power-iteration steps in
// double: the reference the op's one-step-per-call estimate must converge to.
double naive_sigma(const std::vector<float>& w, int64_t rows, int64_t cols) {
  std::vector<double> u(rows, 1.0), v(cols);
  for (int step = 0; step < 500; ++step) {
    double norm = 0;
    for (int64_t c = 0; c < cols; ++c) {
      v[c] = 0;
      for (int64_t r = 0; r < rows; ++r) v[c] += w[r * cols + c] * u[r];
      norm += v[c] * v[c];
    }
    for (double& e : v) e /= std::sqrt(norm);
    norm = 0;
    for (int64_t r = 0; r < rows; ++r) {
      u[r] = 0;
      for (int64_t c = 0; c < cols; ++c) u[r] += w[r * cols + c] * v[c];
      norm += u[r] * u[r];
    }
    for (double& e : u) e /= std::sqrt(norm);
  }
  double sigma = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) sigma += u[r] * w[r * cols + c] * v[c];
  return sigma;
}

}  // namespace

TEST_CASE("spectral_normalize: a matrix with known singular values is divided by the largest") {
  // Rows 3, cols 4 (as a [3, 1, 2, 2] conv weight): singular values 3, 2 and 0.5.
  const std::vector<float> w = {0, 3, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0.5f};
  Tensor weight = Tensor::from_vector(Shape{3, 1, 2, 2}, w);
  Tensor u = Tensor::zeros(Shape{3}), v = Tensor::zeros(Shape{4});
  const Tensor out = spectral_normalize(weight, u, v, /*power_iteration=*/false);  // fresh: 15 steps anyway
  for (size_t i = 0; i < w.size(); ++i) CHECK(out.data()[i] == doctest::Approx(w[i] / 3.0).epsilon(1e-4));
  // The estimate's vectors are the top singular pair: u = e0, v = e1 (up to sign, both the same).
  CHECK(std::fabs(u.data()[0]) == doctest::Approx(1.0).epsilon(1e-4));
  CHECK(std::fabs(v.data()[1]) == doctest::Approx(1.0).epsilon(1e-4));
  CHECK(u.data()[0] * v.data()[1] > 0);
}

TEST_CASE("spectral_normalize: training steps converge to the naive power iteration; eval leaves u, v alone") {
  Tensor weight = random_tensor(Shape{8, 4, 3, 3}, 21);
  const std::vector<float> w = weight.to_vector();
  const double sigma = naive_sigma(w, 8, 36);
  Tensor u = Tensor::zeros(Shape{8}), v = Tensor::zeros(Shape{36});
  for (int call = 0; call < 30; ++call) spectral_normalize(weight, u, v, /*power_iteration=*/true);
  const std::vector<float> u_trained = u.to_vector(), v_trained = v.to_vector();
  const Tensor out = spectral_normalize(weight, u, v, /*power_iteration=*/false);
  CHECK(u.to_vector() == u_trained);
  CHECK(v.to_vector() == v_trained);
  for (size_t i = 0; i < w.size(); ++i) CHECK(out.data()[i] == doctest::Approx(w[i] / sigma).epsilon(1e-4));
  double norm = 0;
  for (float e : u_trained) norm += double(e) * e;
  CHECK(norm == doctest::Approx(1.0).epsilon(1e-5));
}

TEST_CASE("spectral_normalize: wrong shapes and an all-zero weight are refused") {
  Tensor weight = random_tensor(Shape{4, 2, 2, 2}, 3);
  Tensor u = Tensor::zeros(Shape{4}), v_short = Tensor::zeros(Shape{7}), v = Tensor::zeros(Shape{8});
  CHECK_THROWS_WITH(spectral_normalize(weight, u, v_short, true),
                    doctest::Contains("needs u of 4 and v of 8 values"));
  Tensor vector = Tensor::zeros(Shape{4});
  CHECK_THROWS_WITH(spectral_normalize(vector, u, v, true), doctest::Contains("at least 2 dimensions"));
  Tensor zero = Tensor::zeros(Shape{4, 2, 2, 2});
  CHECK_THROWS_WITH(spectral_normalize(zero, u, v, true), doctest::Contains("expected a non-zero number"));
}

TEST_CASE("Conv2d with spectral norm: buffers, gradient to the raw weight, reset by re-initialisation") {
  nn::Conv2d conv(2, 3, 2, 1, 0, /*bias=*/false);
  Rng rng(5);
  nn::init_gan_normal(conv, rng);
  conv.use_spectral_norm();
  conv.use_spectral_norm();  // idempotent
  const auto buffers = conv.named_buffers();
  REQUIRE(buffers.size() == 2);
  CHECK(buffers[0].first == "weight_u");
  CHECK(buffers[1].first == "weight_v");
  CHECK(buffers[1].second.numel() == 8);

  conv.train();
  const Tensor x = random_tensor(Shape{2, 2, 3, 3}, 6);
  const Tensor y = conv(x);
  // The same convolution by hand with the normalised weight.
  const double sigma = naive_sigma(conv.weight().to_vector(), 3, 8);
  const Tensor expected = conv2d(x, mul_scalar(conv.weight(), static_cast<float>(1.0 / sigma)), Tensor(), 1, 0);
  for (int64_t i = 0; i < y.numel(); ++i) CHECK(y.data()[i] == doctest::Approx(expected.data()[i]).epsilon(1e-4));
  sum(y).backward();
  CHECK(conv.weight().has_grad());

  nn::init_gan_normal(conv, rng);  // new weights: the estimate of the old ones is dropped
  for (const auto& [name, t] : conv.named_buffers())
    for (float e : t.to_vector()) CHECK(e == 0.0f);
}

TEST_CASE("Discriminator with spectral_norm: every convolution normalised, config in the model file") {
  ModelConfig config;
  config.image_size = 32;
  config.n_features = 4;
  config.spectral_norm = true;
  Discriminator d(config);
  int convs = 0;
  for (auto& [name, m] : d.named_modules())
    if (auto* conv = dynamic_cast<nn::Conv2d*>(m)) {
      CHECK(conv->spectral_norm());
      ++convs;
    }
  CHECK(convs == 4);  // three in the features, one in the classifier
  Rng rng(7);
  nn::init_gan_normal(d, rng);
  d.train();
  const Tensor x = random_tensor(Shape{3, 3, 32, 32}, 8);
  d.run(x);
  // A copy of the state, buffers included, scores the same in eval mode.
  Discriminator copy(config);
  copy.load_state(d.state(), "discriminator");
  d.eval();
  copy.eval();
  CHECK(d.run(x).probability.to_vector() == copy.run(x).probability.to_vector());

  const ModelConfig back = model_config_from_json(model_config_json(config), "test");
  CHECK(back.spectral_norm);
  nlohmann::json old = model_config_json(ModelConfig{});
  old.erase("spectral_norm");  // files from before the option read as without it
  CHECK_FALSE(model_config_from_json(old, "old").spectral_norm);
}
