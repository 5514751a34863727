#include "ganomaly/eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "tensor/check.h"

namespace gan {
namespace {

void check_inputs(const char* fn, const std::vector<float>& scores, const std::vector<int>& labels) {
  GANOMALY_CHECK(scores.size() == labels.size(), fn, ": ", scores.size(), " scores but ", labels.size(),
                 " labels");
  GANOMALY_CHECK(!scores.empty(), fn, ": no scores");
  for (size_t i = 0; i < scores.size(); ++i) {
    GANOMALY_CHECK(!std::isnan(scores[i]), fn, ": score ", i, " is NaN");
    GANOMALY_CHECK(labels[i] == 0 || labels[i] == 1, fn, ": label ", i, " is ", labels[i],
                   "; labels must be 0 (normal) or 1 (anomalous)");
  }
}

// The operating points of a binary classifier, as sklearn's _binary_clf_curve: one per
// distinct score, thresholds decreasing, with cumulative true/false positive counts of
// predicting anomalous for score >= threshold.
struct Points {
  std::vector<double> thresholds;
  std::vector<int64_t> tps, fps;
  int64_t positives() const { return tps.back(); }
  int64_t negatives() const { return fps.back(); }
};

Points operating_points(const char* fn, const std::vector<float>& scores, const std::vector<int>& labels) {
  check_inputs(fn, scores, labels);
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  Points p;
  int64_t tp = 0, fp = 0;
  for (size_t k = 0; k < order.size(); ++k) {
    (labels[order[k]] ? tp : fp) += 1;
    // Close a point at the last sample of each group of equal scores.
    if (k + 1 == order.size() || scores[order[k + 1]] != scores[order[k]]) {
      p.thresholds.push_back(scores[order[k]]);
      p.tps.push_back(tp);
      p.fps.push_back(fp);
    }
  }
  return p;
}

void require_both_classes(const char* fn, const Points& p) {
  GANOMALY_CHECK(p.positives() > 0 && p.negatives() > 0, fn, ": needs both normal and anomalous samples, got ",
                 p.negatives(), " normal and ", p.positives(), " anomalous");
}

F1Result f1_from_counts(int64_t tp, int64_t fp, int64_t positives, double threshold) {
  F1Result r;
  r.threshold = threshold;
  r.precision = tp + fp > 0 ? double(tp) / double(tp + fp) : 0.0;
  r.recall = positives > 0 ? double(tp) / double(positives) : 0.0;
  // 2TP / (2TP + FP + FN) equals 2PR / (P + R) and is defined (0) when TP = 0.
  int64_t denom = 2 * tp + fp + (positives - tp);
  r.f1 = denom > 0 ? double(2 * tp) / double(denom) : 0.0;
  return r;
}

}  // namespace

double auroc(const std::vector<float>& scores, const std::vector<int>& labels) {
  Points p = operating_points("auroc", scores, labels);
  require_both_classes("auroc", p);
  // Trapezoids between consecutive points, in counts: each is dFP * (TP_prev + TP),
  // twice the area, exact in integers (long double holds them exactly up to 2^64).
  long double twice_area = 0;
  int64_t tp_prev = 0, fp_prev = 0;
  for (size_t i = 0; i < p.thresholds.size(); ++i) {
    twice_area += (long double)(p.fps[i] - fp_prev) * (long double)(tp_prev + p.tps[i]);
    tp_prev = p.tps[i];
    fp_prev = p.fps[i];
  }
  return double(twice_area / (2.0L * p.positives() * p.negatives()));
}

double average_precision(const std::vector<float>& scores, const std::vector<int>& labels) {
  Points p = operating_points("average_precision", scores, labels);
  GANOMALY_CHECK(p.positives() > 0, "average_precision: needs at least one anomalous sample");
  double ap = 0;
  int64_t tp_prev = 0;
  for (size_t i = 0; i < p.thresholds.size(); ++i) {
    double precision = double(p.tps[i]) / double(p.tps[i] + p.fps[i]);
    ap += double(p.tps[i] - tp_prev) / double(p.positives()) * precision;
    tp_prev = p.tps[i];
  }
  return ap;
}

RocCurve roc_curve(const std::vector<float>& scores, const std::vector<int>& labels) {
  Points p = operating_points("roc_curve", scores, labels);
  require_both_classes("roc_curve", p);
  RocCurve c;
  c.fpr.push_back(0);
  c.tpr.push_back(0);
  c.thresholds.push_back(INFINITY);
  for (size_t i = 0; i < p.thresholds.size(); ++i) {
    c.fpr.push_back(double(p.fps[i]) / double(p.negatives()));
    c.tpr.push_back(double(p.tps[i]) / double(p.positives()));
    c.thresholds.push_back(p.thresholds[i]);
  }
  return c;
}

F1Result best_f1(const std::vector<float>& scores, const std::vector<int>& labels) {
  Points p = operating_points("best_f1", scores, labels);
  GANOMALY_CHECK(p.positives() > 0, "best_f1: needs at least one anomalous sample");
  const int64_t P = p.positives();
  size_t best = 0;
  for (size_t i = 1; i < p.thresholds.size(); ++i) {
    // F1 = 2TP / (TP + FP + P); compare fractions exactly by cross-multiplying, and let
    // ties go to the later (lower) threshold.
    long double cand = (long double)p.tps[i] * (p.tps[best] + p.fps[best] + P);
    long double cur = (long double)p.tps[best] * (p.tps[i] + p.fps[i] + P);
    if (cand >= cur) best = i;
  }
  return f1_from_counts(p.tps[best], p.fps[best], P, p.thresholds[best]);
}

F1Result f1_at(const std::vector<float>& scores, const std::vector<int>& labels, double threshold) {
  check_inputs("f1_at", scores, labels);
  int64_t tp = 0, fp = 0, positives = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    bool predicted = double(scores[i]) >= threshold;
    positives += labels[i];
    tp += predicted && labels[i];
    fp += predicted && !labels[i];
  }
  return f1_from_counts(tp, fp, positives, threshold);
}

double pixel_auroc(const float* scores, const uint8_t* labels, size_t n) {
  GANOMALY_CHECK(n > 0, "pixel_auroc: no pixels");
  std::vector<float> pos, neg;
  size_t n_pos = 0;
  for (size_t i = 0; i < n; ++i) {
    GANOMALY_CHECK(!std::isnan(scores[i]), "pixel_auroc: score of pixel ", i, " is NaN");
    n_pos += labels[i] != 0;
  }
  GANOMALY_CHECK(n_pos > 0 && n_pos < n, "pixel_auroc: needs both normal and anomalous pixels, got ", n - n_pos,
                 " normal and ", n_pos, " anomalous");
  pos.reserve(n_pos);
  neg.reserve(n - n_pos);
  for (size_t i = 0; i < n; ++i) (labels[i] ? pos : neg).push_back(scores[i]);
  std::sort(pos.begin(), pos.end());
  std::sort(neg.begin(), neg.end());
  // Mann-Whitney U: for each anomalous pixel, count normal pixels below it plus half of
  // those equal. (below + below_or_equal) is twice that, an exact integer.
  long double twice_u = 0;
  size_t below = 0, below_or_equal = 0;
  for (float s : pos) {
    while (below < neg.size() && neg[below] < s) ++below;
    if (below_or_equal < below) below_or_equal = below;
    while (below_or_equal < neg.size() && neg[below_or_equal] <= s) ++below_or_equal;
    twice_u += (long double)(below + below_or_equal);
  }
  return double(twice_u / (2.0L * (long double)pos.size() * (long double)neg.size()));
}

double pixel_auroc(const Tensor& anomaly_maps, const Tensor& masks) {
  GANOMALY_CHECK(anomaly_maps.numel() == masks.numel(), "pixel_auroc: anomaly maps ", anomaly_maps.shape(),
                 " and masks ", masks.shape(), " differ in size");
  const size_t n = size_t(masks.numel());
  std::vector<uint8_t> labels(n);
  const float* m = masks.data();
  for (size_t i = 0; i < n; ++i) labels[i] = m[i] > 0.5f;
  return pixel_auroc(anomaly_maps.data(), labels.data(), n);
}

ScoreNormalizer ScoreNormalizer::fit(const std::vector<float>& scores, float threshold) {
  GANOMALY_CHECK(!scores.empty(), "ScoreNormalizer::fit: no scores");
  ScoreNormalizer s;
  s.min = s.max = scores[0];
  for (float v : scores) {
    GANOMALY_CHECK(std::isfinite(v), "ScoreNormalizer::fit: non-finite score ", v);
    s.min = std::min(s.min, v);
    s.max = std::max(s.max, v);
  }
  s.threshold = threshold;
  return s;
}

float ScoreNormalizer::apply(float score) const {
  const double range = double(max) - double(min);
  const double diff = double(score) - double(threshold);
  if (!(range > 0)) return diff > 0 ? 1.0f : diff < 0 ? 0.0f : 0.5f;
  return float(std::clamp(diff / range + 0.5, 0.0, 1.0));
}

float ScoreNormalizer::inverse(float normalized) const {
  const double range = double(max) - double(min);
  if (!(range > 0)) return threshold;
  return float(double(threshold) + (double(normalized) - 0.5) * range);
}

nlohmann::json ScoreNormalizer::to_json() const {
  return {{"method", "min_max"}, {"min", min}, {"max", max}, {"threshold", threshold}};
}

ScoreNormalizer ScoreNormalizer::from_json(const nlohmann::json& j) {
  GANOMALY_CHECK(j.is_object() && j.value("method", "") == "min_max",
                 "ScoreNormalizer: expected {\"method\": \"min_max\", ...}, got ", j.dump());
  ScoreNormalizer s;
  const std::pair<const char*, float*> fields[] = {{"min", &s.min}, {"max", &s.max}, {"threshold", &s.threshold}};
  for (const auto& [key, field] : fields) {
    GANOMALY_CHECK(j.contains(key) && j[key].is_number(), "ScoreNormalizer: missing number '", key, "' in ",
                   j.dump());
    *field = j[key].get<float>();
  }
  return s;
}

}  // namespace gan
