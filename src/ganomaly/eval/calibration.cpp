#include "ganomaly/eval/calibration.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

#include "ganomaly/train/options.h"  // OptionError
#include "tensor/check.h"

namespace gan {

double fusion_weight(double auroc_gap, double margin) {
  if (margin <= 0) return auroc_gap <= 0 ? 1.0 : 0.0;
  return std::max(0.0, 1.0 - auroc_gap / margin);
}

void Calibration::fit_fusion(const Scores& scores, const std::vector<int>& labels, double margin) {
  fusion.clear();
  std::map<std::string, double> validation_auroc;
  double best = 0;
  for (const std::string& name : fused_score_names()) {
    validation_auroc[name] = auroc(scores.get(name), labels);
    best = std::max(best, validation_auroc[name]);
  }
  for (const std::string& name : fused_score_names()) {
    const double weight = fusion_weight(best - validation_auroc[name], margin);
    if (weight <= 0) continue;
    const std::vector<float>& v = scores.get(name);
    double s = 0, ss = 0;
    int n = 0;
    for (size_t i = 0; i < v.size(); ++i)
      if (labels.at(i) == 0) s += v[i], ss += double(v[i]) * v[i], ++n;
    GANOMALY_CHECK(n > 1, "fusion: needs at least two normal validation images, got ", n);
    const double mean = s / n, var = std::max(0.0, ss / n - mean * mean);
    fusion[name] = {static_cast<float>(mean), static_cast<float>(std::max(std::sqrt(var), 1e-12)),
                    static_cast<float>(weight)};
  }
}

void Calibration::fuse(Scores& scores) const {
  scores.fused.clear();
  if (fusion.empty()) return;  // a checkpoint saved before any validation
  if (scores.feature.size() != scores.size()) return;  // scored with FeatureScore::skip
  scores.fused.assign(scores.size(), 0.0f);
  // The scores this calibration was fitted with: a checkpoint from before the fusion
  // dropped the reconstruction score keeps its own four.
  for (const auto& [name, part] : fusion) {
    const std::vector<float>& v = scores.get(name);
    for (size_t i = 0; i < v.size(); ++i) scores.fused[i] += part.weight * ((v[i] - part.mean) / part.stddev);
  }
}

nlohmann::json Calibration::to_json() const {
  nlohmann::json parts = nlohmann::json::object();
  for (const auto& [name, p] : fusion) parts[name] = {p.mean, p.stddev, p.weight};
  nlohmann::json j = {{"score", score},         {"threshold", threshold}, {"normalizer", normalizer.to_json()},
                      {"chosen_on", chosen_on}, {"fusion", parts}};
  if (!map_score.empty()) j["map"] = {{"score", map_score}, {"threshold", map_threshold}};
  return j;
}

Calibration Calibration::from_json(const nlohmann::json& j) {
  Calibration c;
  c.score = j.at("score").get<std::string>();
  c.threshold = j.at("threshold").get<float>();
  c.normalizer = ScoreNormalizer::from_json(j.at("normalizer"));
  c.chosen_on = j.value("chosen_on", "heldout");
  // [mean, stddev, weight]; files from before the weights store [mean, stddev] (weight 1).
  if (j.contains("fusion"))
    for (const auto& [name, part] : j.at("fusion").items()) {
      const auto v = part.get<std::vector<float>>();
      GANOMALY_CHECK(v.size() == 2 || v.size() == 3, "fusion '", name, "': expected [mean, stddev, weight], got ",
                     v.size(), " numbers");
      c.fusion[name] = {v[0], v[1], v.size() == 3 ? v[2] : 1.0f};
    }
  if (j.contains("map")) {  // optional: files from before the anomaly maps have none
    c.map_score = j.at("map").at("score").get<std::string>();
    c.map_threshold = j.at("map").at("threshold").get<float>();
    // Not an Error: load_model names the file for other exceptions.
    if (!std::isfinite(c.map_threshold)) throw std::runtime_error("calibration: the map threshold is not finite");
  }
  return c;
}

Calibration with_decision_threshold(const Calibration& c, std::optional<float> raw, std::optional<float> sensitivity) {
  if (raw && sensitivity) throw OptionError("threshold_or_sensitivity", "expected one or the other, got both");
  Calibration adjusted = c;
  if (raw || sensitivity) adjusted.calibrated_threshold = c.calibrated_threshold.value_or(c.threshold);
  if (raw) {
    if (!std::isfinite(*raw)) throw OptionError("threshold", str("expected a finite raw score, got ", *raw));
    adjusted.threshold = *raw;
    adjusted.sensitivity.reset();
  }
  if (sensitivity) {
    if (!(*sensitivity >= 0 && *sensitivity <= 1))
      throw OptionError("sensitivity", str("expected a number in [0, 1], got ", *sensitivity));
    adjusted.threshold = c.normalizer.inverse(1.0f - *sensitivity);
    adjusted.sensitivity = *sensitivity;
  }
  return adjusted;
}

}  // namespace gan
