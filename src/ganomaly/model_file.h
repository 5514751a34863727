#pragma once
// A trained model on disk: the network's config and weights, the recipe, and the
// calibration (which score, its normaliser and decision threshold) so that new images
// score exactly as they did at the end of training. A resumable training checkpoint is
// the same file plus the optimizer state and the training loop's position.
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "ganomaly/ganomaly.h"
#include "ganomaly/metrics.h"

namespace gan {

struct Calibration {
  std::string score = "fused";           // which of selectable_score_names() decides
  float threshold = 0.0f;                // raw score at or above which an image is anomalous
  ScoreNormalizer normalizer;            // raw score -> [0, 1], threshold at 0.5
  std::string chosen_on = "heldout";     // "heldout" (train normals + pseudo-anomalies) or "test"
  // Mean and standard deviation over the validation normals of each fused score: the
  // fused score is the sum of those raw scores in these units.
  std::map<std::string, std::pair<float, float>> fusion;
  // Fuses those of fused_score_names() whose validation AUROC is within `margin` of the
  // best of them: a score that fails on this data (the latent score on thin scratches)
  // is left out rather than diluting the others. A margin of 1 fuses all of them.
  void fit_fusion(const Scores& scores, const std::vector<int>& labels, double margin = 1.0);
  void fuse(Scores& scores) const;  // fills scores.fused
  nlohmann::json to_json() const;
  static Calibration from_json(const nlohmann::json& j);
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

// Writes atomically (temporary file, fsync, rename). `training`, when not null, makes
// the file resumable: it stores the optimizer state too.
// `extra` tensors ride along (a resumable checkpoint keeps the best weights so far).
void save_model(const std::string& path, Ganomaly& model, const Calibration& calibration,
                const nlohmann::json& info, const nlohmann::json& training = nullptr,
                const nn::NamedTensors& extra = {});
// Checks the file (magic, version, checksum, every tensor's name and shape) and says what
// is wrong in one line naming the file.
LoadedModel load_model(const std::string& path);

}  // namespace gan
