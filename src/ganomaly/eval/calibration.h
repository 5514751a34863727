#pragma once
// How a trained model decides: which score, its normaliser, the fusion weights of the
// fused score and the decision threshold, fitted on validation data at the end of
// training. The model file stores it (io/model_file.h) so that new images score exactly
// as they did then.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ganomaly/eval/metrics.h"
#include "ganomaly/model/ganomaly.h"

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
  // Set by with_decision_threshold for the outputs that report them; never stored in
  // model files: the threshold the model file holds, when `threshold` was moved from it,
  // and the sensitivity it was moved by (none for a raw threshold).
  std::optional<float> calibrated_threshold, sensitivity;
  // The anomaly map's threshold (eval/anomaly_map.h): the largest peak of the map over the
  // validation normals, for the map of `map_score` (whose value is the map's peak). Empty
  // `map_score`: a model file from before the maps; map_threshold() then falls back.
  std::string map_score;
  float map_threshold = 0.0f;
  // Weighs each of fused_score_names() by how close its validation AUROC is to the best
  // of them: weight 1 - gap / margin, so a score `margin` or more below the best (the
  // latent score on thin scratches) is left out rather than diluting the others. The
  // weight tapers instead of switching, so a score hovering near the cut cannot flip
  // the fused score from one epoch to the next. Margin 0 keeps only the best.
  void fit_fusion(const Scores& scores, const std::vector<int>& labels, double margin = 1.0);
  void fuse(Scores& scores) const;  // fills scores.fused
  // The JSON form the model file stores (and a resumable checkpoint's best so far).
  nlohmann::json to_json() const;
  static Calibration from_json(const nlohmann::json& j);
};

// `c` deciding at another threshold, for a user who wants more or fewer images flagged
// than the calibrated threshold gives. At most one of:
//   raw          a raw score threshold (an image is anomalous at or above it);
//   sensitivity  in [0, 1], anomalib's post-processor sensitivity: the cut on the
//                normalised scale is 1 - sensitivity, so 0.5 keeps the calibrated
//                threshold and a higher sensitivity flags more images. The raw threshold
//                is c.normalizer.inverse(1 - sensitivity): measured from the calibrated
//                threshold (c.normalizer's), however often c was adjusted before.
// Neither: c unchanged. Only `threshold` (and `sensitivity`) change: the normaliser keeps
// its scale, so a normalised score still reads 0.5 at the calibrated threshold and the
// normalised cut moves instead (to 1 - sensitivity), as in anomalib. anomalib flags a
// normalised score above the cut; this flags a raw score at or above the raw threshold
// (metrics.h), so the two differ for a score exactly at the cut, and at sensitivity 0,
// where anomalib flags nothing (the normalised score is clamped to 1) and this flags raw
// scores from threshold + (max - min) / 2 up. Throws OptionError naming "threshold" (not
// finite), "sensitivity" (outside [0, 1]) or "threshold_or_sensitivity" (both given).
Calibration with_decision_threshold(const Calibration& c, std::optional<float> raw, std::optional<float> sensitivity);

}  // namespace gan
