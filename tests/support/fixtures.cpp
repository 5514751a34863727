#include "support/fixtures.h"

#include "ganomaly/data/synth.h"
#include "support/run_app.h"

namespace gan::testing {

std::string write_tiny_dataset(const std::string& tag) {
  gan::SynthOptions o;
  o.out = temp_dir(tag);
  o.category = "bottle";
  o.size = 32;
  o.train = 10;
  o.test_good = 3;
  o.test_bad = 3;
  return gan::write_synthetic_dataset(o);
}

gan::ModelConfig tiny_model_config() {
  gan::ModelConfig c;
  c.image_size = 32;
  c.n_features = 8;
  c.latent_size = 8;
  return c;
}

}  // namespace gan::testing
