#include "ganomaly/eval/calibration.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

#include "tensor/check.h"
#include "tensor/number_text.h"

namespace gan {

double fusion_weight(double auroc_gap, double margin) {
  if (margin <= 0) return auroc_gap <= 0 ? 1.0 : 0.0;
  return std::max(0.0, 1.0 - auroc_gap / margin);
}

void Calibration::fit_fusion(const Scores& scores, const std::vector<int>& labels, double margin) {
  fusion.clear();
  std::map<Score, double> validation_auroc;
  double best = 0;
  for (Score s : kFusedScores) {
    validation_auroc[s] = auroc(scores.get(s), labels);
    best = std::max(best, validation_auroc[s]);
  }
  for (Score s : kFusedScores) {
    const double weight = fusion_weight(best - validation_auroc[s], margin);
    if (weight <= 0) continue;
    const std::vector<float>& v = scores.get(s);
    double sum = 0, ss = 0;
    int n = 0;
    for (size_t i = 0; i < v.size(); ++i)
      if (labels.at(i) == 0) sum += v[i], ss += double(v[i]) * v[i], ++n;
    GANOMALY_CHECK(n > 1, "fusion: needs at least two normal validation images, got ", n);
    const double mean = sum / n, var = std::max(0.0, ss / n - mean * mean);
    fusion[s] = {static_cast<float>(mean), static_cast<float>(std::max(std::sqrt(var), 1e-12)),
                 static_cast<float>(weight)};
  }
}

void Calibration::fuse(Scores& scores) const {
  std::vector<float>& fused = scores.fused_;
  fused.clear();
  if (fusion.empty()) return;  // a checkpoint saved before any validation
  if (scores.feature.size() != scores.size()) return;  // scored with FeatureScore::skip
  fused.assign(scores.size(), 0.0f);
  // The scores this calibration was fitted with: a checkpoint from before the fusion
  // dropped the reconstruction score keeps its own four.
  for (const auto& [s, part] : fusion) {
    const std::vector<float>& v = scores.get(s);
    for (size_t i = 0; i < v.size(); ++i) fused[i] += part.weight * ((v[i] - part.mean) / part.stddev);
  }
}

std::vector<Verdict> Calibration::decide(Scores& scores) const {
  fuse(scores);
  const std::vector<float>& chosen = scores.get(score);
  std::vector<Verdict> out(chosen.size());
  for (size_t i = 0; i < chosen.size(); ++i) out[i] = {chosen[i], normalizer.apply(chosen[i]), chosen[i] >= threshold};
  return out;
}

Decided score_and_decide(Ganomaly& model, const Calibration& calibration, const Tensor& images, FeatureScore feature,
                         std::vector<float>* residuals) {
  Decided out;
  out.scores = model.score(images, 32, residuals, feature);
  out.verdicts = calibration.decide(out.scores);
  return out;
}

namespace {

// A score named in a model file. Not an Error: load_model names the file for other exceptions.
Score score_in_file(const std::string& name) {
  const std::optional<Score> s = find_named<Score>(name);
  if (!s) throw std::runtime_error(str("calibration: unknown score '", name, "'"));
  return *s;
}

}  // namespace

nlohmann::json Calibration::to_json() const {
  nlohmann::json parts = nlohmann::json::object();
  for (const auto& [s, p] : fusion) parts[to_string(s)] = {p.mean, p.stddev, p.weight};
  nlohmann::json j = {{"score", score},         {"threshold", threshold}, {"normalizer", normalizer.to_json()},
                      {"chosen_on", chosen_on}, {"fusion", parts}};
  return j;
}

Calibration Calibration::from_json(const nlohmann::json& j) {
  Calibration c;
  c.score = score_in_file(j.at("score").get<std::string>());
  c.threshold = j.at("threshold").get<float>();
  c.normalizer = ScoreNormalizer::from_json(j.at("normalizer"));
  c.chosen_on = j.value("chosen_on", "heldout");
  // [mean, stddev, weight]; files from before the weights store [mean, stddev] (weight 1).
  if (j.contains("fusion"))
    for (const auto& [name, part] : j.at("fusion").items()) {
      const auto v = part.get<std::vector<float>>();
      GANOMALY_CHECK(v.size() == 2 || v.size() == 3, "fusion '", name, "': expected [mean, stddev, weight], got ",
                     v.size(), " numbers");
      c.fusion[score_in_file(name)] = {v[0], v[1], v.size() == 3 ? v[2] : 1.0f};
    }
  // Files from 0.2 hold a separate map threshold under "map"; it is not read: the decision
  // threshold outlines the map (eval/anomaly_map.h), so that map and verdict agree.
  return c;
}

Calibration with_decision_threshold(const Calibration& c, std::optional<float> raw, std::optional<float> sensitivity) {
  if (raw && sensitivity) throw OptionError("threshold_or_sensitivity", "expected one or the other, got both");
  Calibration adjusted = c;
  if (raw || sensitivity) adjusted.calibrated_threshold = c.calibrated_threshold.value_or(c.threshold);
  if (raw) {
    if (!std::isfinite(*raw)) throw OptionError("threshold", str("expected a finite raw score, got ", exact_text(*raw)));
    adjusted.threshold = *raw;
    adjusted.sensitivity.reset();
  }
  if (sensitivity) {
    if (!(*sensitivity >= 0 && *sensitivity <= 1))
      throw OptionError("sensitivity", str("expected a number in [0, 1], got ", exact_text(*sensitivity)));
    adjusted.threshold = c.normalizer.inverse(1.0f - *sensitivity);
    adjusted.sensitivity = *sensitivity;
  }
  return adjusted;
}

}  // namespace gan
