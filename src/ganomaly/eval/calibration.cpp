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

void Calibration::fit_fusion(const Scores& scores, const std::vector<int>& labels, double margin, Score residual) {
  GANOMALY_CHECK(has_map(residual), "fusion: the residual part must be residual_nn, residual_z or residual_max, got '",
                 to_string(residual), "'");
  fusion.clear();
  std::map<Score, double> validation_auroc;
  double best = 0;
  for (Score s : fused_scores(residual)) {
    validation_auroc[s] = auroc(scores.get(s), labels);
    best = std::max(best, validation_auroc[s]);
  }
  for (Score s : fused_scores(residual)) {
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

namespace {

// z with P(Z >= z) = tail for a standard normal Z, by bisection on erfc (tail in (0, 1)).
double normal_upper_quantile(double tail) {
  double lo = -40, hi = 40;
  for (int i = 0; i < 200 && hi - lo > 1e-12; ++i) {
    const double mid = 0.5 * (lo + hi);
    (0.5 * std::erfc(mid / std::sqrt(2.0)) > tail ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

double share_at_or_above(const std::vector<float>& v, float threshold) {
  if (v.empty()) return -1;
  return double(std::count_if(v.begin(), v.end(), [&](float x) { return x >= threshold; })) / double(v.size());
}

}  // namespace

float threshold_at_fpr(const std::vector<float>& normal_scores, double fpr) {
  GANOMALY_CHECK(fpr > 0 && fpr < 1, "threshold_at_fpr: expected a rate in (0, 1), got ", exact_text(fpr));
  const size_t n = normal_scores.size();
  GANOMALY_CHECK(n >= 2, "threshold_at_fpr: needs at least two normal scores, got ", n);
  double sum = 0, ss = 0;
  for (float x : normal_scores) sum += x;
  const double mean = sum / double(n);
  for (float x : normal_scores) ss += (x - mean) * (x - mean);
  const double spread = std::sqrt(ss / double(n - 1));
  const float tail = static_cast<float>(mean + normal_upper_quantile(fpr) * spread);
  std::vector<float> sorted = normal_scores;
  std::sort(sorted.begin(), sorted.end());
  const size_t allowed = static_cast<size_t>(std::floor(fpr * double(n)));  // normals that may sit at or above
  const float above_the_rest = std::nextafter(sorted[n - 1 - std::min(allowed, n - 1)], INFINITY);
  return std::max(tail, above_the_rest);
}

void Calibration::place_threshold(const std::vector<float>& chosen, const std::vector<int>& labels, ThresholdRule rule,
                                  double fpr) {
  GANOMALY_CHECK(chosen.size() == labels.size(), "calibration: ", chosen.size(), " scores for ", labels.size(), " labels");
  std::vector<float> normals, anomalies;
  for (size_t i = 0; i < chosen.size(); ++i) (labels[i] == 0 ? normals : anomalies).push_back(chosen[i]);
  threshold_rule = rule;
  const bool uses_fpr = rule != ThresholdRule::f1, uses_f1 = rule != ThresholdRule::fpr;
  const float at_fpr = uses_fpr ? threshold_at_fpr(normals, fpr) : -INFINITY;
  const float at_f1 = uses_f1 ? static_cast<float>(best_f1(chosen, labels).threshold) : -INFINITY;
  threshold = std::max(at_fpr, at_f1);
  if (rule == ThresholdRule::midway) threshold = at_fpr + 0.5f * (threshold - at_fpr);
  target_fpr = uses_fpr ? fpr : -1;
  normalizer = ScoreNormalizer::fit(chosen, threshold);
  validation_fpr = share_at_or_above(normals, threshold);
  validation_recall = share_at_or_above(anomalies, threshold);
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
                      {"chosen_on", chosen_on}, {"fusion", parts}, {"threshold_rule", threshold_rule}};
  if (target_fpr >= 0) j["target_fpr"] = target_fpr;
  if (validation_fpr >= 0) j["validation_fpr"] = validation_fpr;
  if (validation_recall >= 0) j["validation_recall"] = validation_recall;
  return j;
}

Calibration Calibration::from_json(const nlohmann::json& j) {
  Calibration c;
  c.score = score_in_file(j.at("score").get<std::string>());
  c.threshold = j.at("threshold").get<float>();
  c.normalizer = ScoreNormalizer::from_json(j.at("normalizer"));
  c.chosen_on = j.value("chosen_on", "heldout");
  if (j.contains("threshold_rule")) {
    const std::string rule = j.at("threshold_rule").get<std::string>();
    const std::optional<ThresholdRule> r = find_named<ThresholdRule>(rule);
    if (!r) throw std::runtime_error(str("calibration: unknown threshold rule '", rule, "'"));
    c.threshold_rule = *r;
  }
  c.target_fpr = j.value("target_fpr", -1.0);
  c.validation_fpr = j.value("validation_fpr", -1.0);
  c.validation_recall = j.value("validation_recall", -1.0);
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
