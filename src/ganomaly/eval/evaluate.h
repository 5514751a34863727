#pragma once
// Scoring a labelled image set and the metrics reported for it.
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ganomaly/data/dataset.h"
#include "ganomaly/eval/calibration.h"
#include "ganomaly/eval/map_figures.h"

namespace gan {

struct Evaluation {
  Scores scores;
  std::vector<Verdict> verdicts;  // the calibration's, per image
  std::vector<int> labels;
  Score score = Score::fused;  // the calibrated score
  // NaN (null in the JSON) when the labels hold one class only: AUROC, AUPR and F1 need both.
  double image_auroc = 0, aupr = 0;
  F1Result f1_oracle;          // best F1 over thresholds chosen on these labels
  F1Result f1;                 // F1 at the calibrated threshold, chosen without them
  std::map<Score, double> auroc_by_score;  // in kScores order
  double pixel_auroc = -1;     // residual-map baseline; -1 when no masks
  double pixel_auroc_z = -1;   // the same map standardised per pixel (residual_z's map); -1 without statistics
  double pixel_aupro = -1;     // AUPRO to FPR 0.3 (aupro.h) of the same two maps; -1 as above
  double pixel_aupro_z = -1;
  // The anomaly map ganomaly_infer --maps draws (eval/anomaly_map.h) when it is residual_nn's,
  // at the model's resolution; -1 without neighbour residuals or masks.
  double pixel_auroc_nn = -1, pixel_aupro_nn = -1;
  // Every anomaly map the model can draw (map_figures.h: standardised and smoothed, as
  // ganomaly_infer --maps), by its score, when masks mark a defect; and which of them the
  // calibration's decision reads (map_part_of): the map ganomaly_infer draws.
  std::map<Score, PixelFigures> map_figures;
  Score map_score = Score::residual_nn;
  // The trivial floors' image AUROC (floors.h), when the training images were at hand;
  // the model should beat nearest_l1 and nearest_l2.
  std::map<std::string, double> floor_auroc;
};

// masks: optional, one per image (empty vectors are skipped), at the image size.
Evaluation evaluate(Ganomaly& model, const Calibration& calibration, const Tensor& images,
                    const std::vector<int>& labels, const std::vector<std::vector<uint8_t>>* masks = nullptr);
// The share of the normal images the verdicts flag; NaN without normal images.
double false_positive_rate(const Evaluation& e);
nlohmann::json evaluation_json(const Evaluation& e, const Calibration& calibration);
// A one-line warning when the labels hold one class only (the image metrics are then
// undefined); empty otherwise.
std::string one_class_warning(const Evaluation& e);
// One row per image: path, label, defect, each raw score, normalised score, verdict.
void write_scores_csv(const std::string& path, const std::vector<Sample>& samples, const Evaluation& e,
                      const Calibration& calibration);
std::vector<int> labels_of(const std::vector<Sample>& samples);

}  // namespace gan
