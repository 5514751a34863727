#include "support/fixtures.h"

#include <vector>

#include "ganomaly/data/synth.h"
#include "support/run_app.h"
#include "tensor/random.h"

namespace gan::testing {

std::string write_generated_category(const std::string& tag, int size, int train, int test_good, int test_bad) {
  gan::SynthOptions o;
  o.out = temp_dir(tag);
  o.category = "bottle";
  o.size = size;
  o.train = train;
  o.test_good = test_good;
  o.test_bad = test_bad;
  return gan::write_synthetic_dataset(o);
}

std::string write_tiny_dataset(const std::string& tag) { return write_generated_category(tag, 32, 10, 3, 3); }

gan::ModelConfig tiny_model_config() {
  gan::ModelConfig c;
  c.image_size = 32;
  c.n_features = 8;
  c.latent_size = 8;
  return c;
}

gan::TrainOptions tiny_train_options(const std::string& out, int epochs) {
  gan::TrainOptions o;
  o.model = tiny_model_config();
  o.epochs = epochs;
  o.batch_size = 4;
  o.patience = 0;
  o.min_steps = 0;
  o.out_dir = out;
  return o;
}

gan::Tensor random_images(int n) {
  gan::Rng rng(5);
  std::vector<float> pixels(size_t(n) * 3 * 32 * 32);
  for (float& v : pixels) v = rng.uniform(-1.0f, 1.0f);
  return gan::Tensor::from_vector(gan::Shape{n, 3, 32, 32}, pixels);
}

std::vector<float> uniform_values(gan::Rng& rng, size_t n, float lo, float hi) {
  std::vector<float> v(n);
  for (float& x : v) x = rng.uniform(lo, hi);
  return v;
}

}  // namespace gan::testing
