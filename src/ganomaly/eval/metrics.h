#pragma once
// Image- and pixel-level anomaly detection metrics, matching scikit-learn.
//
// Conventions used throughout:
// - A larger score means more anomalous. Label 1 = anomalous (positive), 0 = normal.
// - A sample is predicted anomalous when score >= threshold. This is the convention of
//   sklearn's roc_curve / precision_recall_curve, so the threshold best_f1() reports
//   reproduces its F1 exactly in f1_at(). (anomalib's post-processor labels with
//   `score > threshold`; the two differ only for scores exactly equal to the threshold,
//   which with an oracle threshold is always at least one image.)
// - Tied scores form one operating point; in AUROC a tied (anomalous, normal) pair
//   counts one half, as sklearn's roc_auc_score (trapezoidal rule) does.
// - NaN scores are rejected with an error (they have no place in a ranking), as are
//   labels other than 0/1.
#include <cstddef>
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "tensor/tensor.h"

namespace gan {

// Area under the ROC curve, as sklearn.metrics.roc_auc_score. Needs both classes.
double auroc(const std::vector<float>& scores, const std::vector<int>& labels);

// Area under the precision-recall curve, as sklearn.metrics.average_precision_score
// (step-wise sum of precision * recall increments, no interpolation). Needs at least
// one anomalous sample.
double average_precision(const std::vector<float>& scores, const std::vector<int>& labels);

// As sklearn.metrics.roc_curve(drop_intermediate=False): one point per distinct score,
// thresholds decreasing, starting at (0, 0) with threshold +inf (sklearn >= 1.3; older
// sklearn used max + 1 there). Needs both classes.
struct RocCurve {
  std::vector<double> fpr, tpr, thresholds;
};
RocCurve roc_curve(const std::vector<float>& scores, const std::vector<int>& labels);

struct F1Result {
  double f1 = 0, threshold = 0, precision = 0, recall = 0;
};

// The oracle F1: the best F1 over all thresholds of the precision-recall curve, as
// anomalib's F1AdaptiveThreshold picks it. The threshold is one of the scores; among
// thresholds with exactly equal F1 (compared as exact fractions) the lowest wins, as
// argmax over anomalib's increasing thresholds does. Needs at least one anomalous
// sample.
F1Result best_f1(const std::vector<float>& scores, const std::vector<int>& labels);

// F1 when predicting anomalous for score >= threshold. Precision is 0 when nothing is
// predicted anomalous, recall 0 when nothing is anomalous (sklearn's zero_division=0).
F1Result f1_at(const std::vector<float>& scores, const std::vector<int>& labels, double threshold);

// AUROC over many pixels (millions): sorts the two classes separately and merges, so it
// needs 4 bytes of scratch per pixel. A label (mask value) other than 0 is anomalous.
double pixel_auroc(const float* scores, const uint8_t* labels, size_t n);
// Anomaly maps against ground-truth masks of the same number of elements; a mask value
// > 0.5 is anomalous.
double pixel_auroc(const Tensor& anomaly_maps, const Tensor& masks);

// anomalib's min-max normalisation (anomalib/post_processing/normalization/min_max.py):
//   normalized = clamp((score - threshold) / (max - min) + 0.5, 0, 1)
// so the threshold maps to exactly 0.5 and [min, max] of the validation scores spans a
// width of 1. With max == min (all validation scores equal) it degrades to a step:
// 0, 0.5 or 1. Decide labels on raw scores against the raw threshold; the normalised
// value is for display and thresholds near 0.5 may round.
struct ScoreNormalizer {
  float min = 0, max = 1, threshold = 0.5f;

  // min and max of the given (validation) scores, with the given raw threshold.
  static ScoreNormalizer fit(const std::vector<float>& scores, float threshold);
  float apply(float score) const;
  // The raw score that apply() maps to `normalized`, the line apply() clamps carried on:
  // threshold + (normalized - 0.5) * (max - min). apply(inverse(n)) is n for n in [0, 1]
  // (up to rounding). With max == min the threshold itself, whatever `normalized` is:
  // validation scores without spread give no scale to move the threshold along.
  float inverse(float normalized) const;

  // Stored with the model (e.g. in a checkpoint's config) so new images score the same.
  nlohmann::json to_json() const;
  static ScoreNormalizer from_json(const nlohmann::json& j);
};

}  // namespace gan
