#pragma once
// Small things many tests build: generated data sets, a tiny network, its training
// options and random images for it.
#include <string>
#include <vector>

#include "ganomaly/model/ganomaly.h"
#include "ganomaly/train/options.h"
#include "tensor/random.h"

namespace gan::testing {

// A generated MVTec-style bottle category, `size` px, in a fresh temporary folder named
// after `tag`. Returns the category's folder.
std::string write_generated_category(const std::string& tag, int size, int train, int test_good, int test_bad);

// A 32 px category with 10 train, 3 good and 3 anomalous test images.
std::string write_tiny_dataset(const std::string& tag);

// A 32 px network with 8 features and a latent of 8: every layer, in milliseconds.
gan::ModelConfig tiny_model_config();

// Training the tiny network into `out` for `epochs` epochs, 4 images a batch, with no
// early stop and no scaling up to --min-steps, so a test gets exactly what it asks for.
gan::TrainOptions tiny_train_options(const std::string& out, int epochs);

// `n` images for the tiny network, [n, 3, 32, 32], uniform in [-1, 1], the same each call.
gan::Tensor random_images(int n = 8);

// n values drawn uniformly from [lo, hi).
std::vector<float> uniform_values(gan::Rng& rng, size_t n, float lo, float hi);

}  // namespace gan::testing
