#pragma once
// A trained model on disk: the network's config and weights, the recipe, and the
// calibration (which score, its normaliser and decision threshold) so that new images
// score exactly as they did at the end of training. A resumable training checkpoint is
// the same file plus the optimizer state and the training loop's position.
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "ganomaly/model/ganomaly.h"
#include "ganomaly/eval/metrics.h"
#include "ganomaly/io/checkpoint_io.h"

namespace gan {

// The weight a fused score gets when its validation AUROC is `auroc_gap` below the best
// of the fused scores (see Calibration::fit_fusion).
double fusion_weight(double auroc_gap, double margin);

struct Calibration {
  std::string score = "fused";           // which of selectable_score_names() decides
  float threshold = 0.0f;                // raw score at or above which an image is anomalous
  ScoreNormalizer normalizer;            // raw score -> [0, 1], threshold at 0.5
  std::string chosen_on = "heldout";     // "heldout" (train normals + pseudo-anomalies) or "test"
  // Each fused score's mean and standard deviation over the validation normals, and its
  // weight: the fused score is the weighted sum of those raw scores in these units.
  struct FusionPart {
    float mean = 0, stddev = 1, weight = 1;
  };
  std::map<std::string, FusionPart> fusion;
  // Weighs each of fused_score_names() by how close its validation AUROC is to the best
  // of them: weight 1 - gap / margin, so a score `margin` or more below the best (the
  // latent score on thin scratches) is left out rather than diluting the others. The
  // weight tapers instead of switching, so a score hovering near the cut cannot flip
  // the fused score from one epoch to the next. Margin 0 keeps only the best.
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
                const nn::NamedTensors& extra = {}, const WriteFaults& faults = {});
// Checks the file (magic, version, checksum, every tensor's name and shape) and says what
// is wrong in one line naming the file.
LoadedModel load_model(const std::string& path);

}  // namespace gan
