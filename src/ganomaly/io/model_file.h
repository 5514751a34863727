#pragma once
// A trained model on disk: the network's config and weights, the recipe, and the
// calibration (eval/calibration.h: which score, its normaliser and decision threshold)
// so that new images score exactly as they did at the end of training. A model file
// (model.gnm) keeps only what scoring needs (Ganomaly::scoring_state: one generator, the
// one that scores). A resumable training checkpoint (last.gnm) keeps the whole model
// (Ganomaly::state: the live generator beside the average), the optimizer state and the
// training loop's position.
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "ganomaly/eval/calibration.h"
#include "ganomaly/model/ganomaly.h"
#include "ganomaly/model/names.h"
#include "ganomaly/io/checkpoint_io.h"

namespace gan {

// How a model file stores the networks' convolution weights (4-D tensors, nearly all of
// its bytes): float32, or IEEE binary16 (half the size; each single score stays within
// 1e-3 relative of float32's, tests/test_model_file.cpp; the fused one, a sum of
// standardised parts that crosses 0, within a small absolute difference). Batch-norm, bias and residual
// statistics stay float32, and a resumable checkpoint is float32 throughout, so that
// resuming is bitwise.
enum class WeightStorage { fp32, fp16 };
template <>
struct NameTable<WeightStorage> {
  static constexpr std::pair<WeightStorage, const char*> all[] = {{WeightStorage::fp32, "fp32"},
                                                                  {WeightStorage::fp16, "fp16"}};
};

struct LoadedModel {
  std::unique_ptr<Ganomaly> model;
  Calibration calibration;
  nlohmann::json config;                // everything stored in the file's config
  nlohmann::json training;              // resume state; null for a final model
  std::vector<std::pair<std::string, Tensor>> tensors;  // all tensors, for resuming
};

nlohmann::json model_config_json(const ModelConfig& config);
ModelConfig model_config_from_json(const nlohmann::json& j, const std::string& file);

// Writes atomically (io/atomic_file.h). `training`, when not null, makes
// the file resumable: it stores the whole model and the optimizer state; null, the
// model's scoring_state() alone.
// `extra` tensors ride along (a resumable checkpoint keeps the best weights so far).
// `weights`: fp16 for a model file only (a resumable one refuses it).
void save_model(const std::string& path, Ganomaly& model, const Calibration& calibration,
                const nlohmann::json& info, const nlohmann::json& training = nullptr,
                const nn::NamedTensors& extra = {}, WeightStorage weights = WeightStorage::fp32);
// Checks the file (magic, version, checksum, every tensor's name and shape) and says what
// is wrong in one line naming the file. A model file (no training state) loads for
// scoring only (Ganomaly::load_scoring_state), model files from before lean ones too.
LoadedModel load_model(const std::string& path);

}  // namespace gan
