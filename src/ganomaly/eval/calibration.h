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
// Calibration::fit_fusion's margin unless told otherwise, and training's (--fusion-margin).
constexpr double kDefaultFusionMargin = 0.1;

// How the threshold is placed on the validation scores (Calibration::place_threshold):
//   fpr  where the normals' scores cross the target false-positive rate: what an inspection
//        line budgets for, and what validation can really tell, since the pseudo-anomalies
//        are easier or harder than real defects in ways the normals are not;
//   f1   the best F1 between the normals and the pseudo-anomalies (the rule before `fpr`;
//        model files without a rule used it);
//   max     the larger of the two: the fpr threshold where faint pseudo-anomalies pull the
//           best F1 inside the normals, the best F1 where clear ones put it above the
//           normals' tail (so it never flags more than fpr's budget of the validation normals);
//   midway  the fpr threshold, moved halfway towards the best F1 when that lies above it: a
//           few dozen normals understate their tail, and real defects can be fainter than
//           clear pseudo-anomalies, so neither end is trusted alone.
enum class ThresholdRule { fpr, f1, max, midway };
template <>
struct NameTable<ThresholdRule> {
  static constexpr std::pair<ThresholdRule, const char*> all[] = {
      {ThresholdRule::fpr, "fpr"}, {ThresholdRule::f1, "f1"}, {ThresholdRule::max, "max"}, {ThresholdRule::midway, "midway"}};
};
inline void to_json(nlohmann::json& j, ThresholdRule v) { j = to_string(v); }
// Training's false-positive budget unless told otherwise (--target-fpr).
constexpr double kDefaultTargetFpr = 0.05;

// The raw score that a share `fpr` of normals reach: their mean plus the normal
// distribution's (1 - fpr) quantile times their spread (a tail from every score, steadier
// than one order statistic of a few dozen images), raised when needed so that at most
// floor(fpr * n) of these normals are at or above it. fpr in (0, 1); at least 2 scores.
float threshold_at_fpr(const std::vector<float>& normal_scores, double fpr);

// One image's decision: the calibration's score, raw and normalised, and the verdict.
struct Verdict {
  float raw = 0;           // the deciding score
  float normalised = 0;    // raw through the calibration's normaliser: 0.5 at the calibrated threshold
  bool anomalous = false;  // raw at or above the calibration's threshold
};

struct Calibration {
  Score score = Score::fused;            // which score decides
  float threshold = 0.0f;                // raw score at or above which an image is anomalous
  ScoreNormalizer normalizer;            // raw score -> [0, 1], threshold at 0.5
  std::string chosen_on = "heldout";     // "heldout" (train normals + pseudo-anomalies) or "test"
  ThresholdRule threshold_rule = ThresholdRule::f1;  // model files from before the rule: f1
  // What validation says of the threshold: the false-positive rate asked for (fpr rule
  // only), and the share of the validation normals and of the pseudo-anomalies at or
  // above it. -1: not known (older model files).
  double target_fpr = -1, validation_fpr = -1, validation_recall = -1;
  // Each fused score's mean and standard deviation over the validation normals, and its
  // weight: the fused score is the weighted sum of those raw scores in these units.
  struct FusionPart {
    float mean = 0, stddev = 1, weight = 1;
  };
  std::map<Score, FusionPart, ByScoreName> fusion;
  // Set by with_decision_threshold for the outputs that report them; never stored in
  // model files: the threshold the model file holds, when `threshold` was moved from it,
  // and the sensitivity it was moved by (none for a raw threshold).
  std::optional<float> calibrated_threshold, sensitivity;
  // Weighs each of fused_scores(residual) by how close its validation AUROC is to the best of
  // them: weight 1 - gap / margin, so a score `margin` or more below the best (the
  // latent score on thin scratches) is left out rather than diluting the others. The
  // weight tapers instead of switching, so a score hovering near the cut cannot flip
  // the fused score from one epoch to the next. Margin 0 keeps only the best.
  // `residual`: the residual part (fused_scores), residual_nn unless the map was chosen
  // otherwise (train/map_choice.h).
  void fit_fusion(const Scores& scores, const std::vector<int>& labels, double margin = kDefaultFusionMargin,
                  Score residual = kFusedResidual);
  void fuse(Scores& scores) const;  // fills the fused score (decide does this itself)
  // The threshold and normaliser from the chosen score's validation values (labels: 0 for
  // the normals, 1 for the pseudo-anomalies), by `rule`; target_fpr for every rule but f1.
  void place_threshold(const std::vector<float>& chosen, const std::vector<int>& labels, ThresholdRule rule,
                       double target_fpr);
  // The verdict on each image: `scores` fused first, so no decision can miss the fusion.
  std::vector<Verdict> decide(Scores& scores) const;
  // Whether deciding needs the feature score (feature_score_for this score).
  FeatureScore feature_needed() const { return feature_score_for(score); }
  // The JSON form the model file stores (and a resumable checkpoint's best so far).
  nlohmann::json to_json() const;
  static Calibration from_json(const nlohmann::json& j);
};

// Images scored and decided: the one way from images to verdicts.
struct Decided {
  Scores scores;                  // every score computed, fused with the calibration
  std::vector<Verdict> verdicts;  // one per image
};
// Scores `images` (in the recipe's normalisation) with `model`, fuses and decides with
// `calibration`. `feature`: FeatureScore::compute for every score, else
// calibration.feature_needed(). `residuals`: as Ganomaly::score.
Decided score_and_decide(Ganomaly& model, const Calibration& calibration, const Tensor& images, FeatureScore feature,
                         std::vector<float>* residuals = nullptr);

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
