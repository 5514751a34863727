#pragma once
// Small things many tests build: a tiny generated data set and a tiny network.
#include <string>

#include "ganomaly/model/ganomaly.h"

namespace gan::testing {

// A 32 px MVTec-style bottle set in a fresh temporary folder named after `tag`: 10 train,
// 3 good and 3 anomalous test images. Returns the category's folder.
std::string write_tiny_dataset(const std::string& tag);

// A 32 px network with 8 features and a latent of 8: every layer, in milliseconds.
gan::ModelConfig tiny_model_config();

}  // namespace gan::testing
