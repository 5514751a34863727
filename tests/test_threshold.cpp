// Moving the decision threshold (with_decision_threshold, calibration.h): the normaliser's
// inverse, a raw threshold, anomalib's sensitivity, and the errors.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "ganomaly/eval/calibration.h"
#include "ganomaly/eval/evaluate.h"
#include "ganomaly/train/options.h"

using namespace gan;

namespace {

// A calibration as training leaves it: threshold 2 on validation scores from 1 to 5.
Calibration calibrated() {
  Calibration c;
  c.threshold = 2.0f;
  c.normalizer = ScoreNormalizer::fit({1.0f, 1.5f, 2.0f, 4.0f, 5.0f}, c.threshold);
  return c;
}

}  // namespace

TEST_CASE("ScoreNormalizer::inverse undoes apply on [0, 1], and is the threshold without spread") {
  const ScoreNormalizer n = calibrated().normalizer;
  for (float v : {0.0f, 0.1f, 0.25f, 0.5f, 0.7f, 0.99f, 1.0f}) {
    CAPTURE(v);
    CHECK(n.apply(n.inverse(v)) == doctest::Approx(v).epsilon(1e-6));
  }
  CHECK(n.inverse(0.5f) == n.threshold);
  CHECK(n.inverse(0.75f) == doctest::Approx(3.0f));  // threshold + 0.25 * (5 - 1)
  CHECK(n.inverse(0.0f) == doctest::Approx(0.0f));   // the line carried on below min
  // Raw scores map back: inverse(apply(x)) is x inside the unclamped range.
  for (float x : {0.5f, 1.0f, 2.0f, 3.3f, 4.0f})
    CHECK(n.inverse(n.apply(x)) == doctest::Approx(x).epsilon(1e-6));
  const ScoreNormalizer flat = ScoreNormalizer::fit({3.0f, 3.0f}, 3.0f);
  for (float v : {0.0f, 0.3f, 0.5f, 1.0f}) CHECK(flat.inverse(v) == 3.0f);
}

TEST_CASE("with_decision_threshold: a raw threshold, anomalib's sensitivity, or neither") {
  const Calibration c = calibrated();

  SUBCASE("neither: unchanged") {
    const Calibration same = with_decision_threshold(c, std::nullopt, std::nullopt);
    CHECK(same.threshold == c.threshold);
    CHECK(!same.calibrated_threshold);
    CHECK(!same.sensitivity);
  }
  SUBCASE("a raw threshold replaces the threshold only") {
    const Calibration moved = with_decision_threshold(c, -7.5f, std::nullopt);
    CHECK(moved.threshold == -7.5f);
    CHECK(moved.calibrated_threshold == c.threshold);
    CHECK(!moved.sensitivity);
    CHECK(moved.normalizer.threshold == c.normalizer.threshold);  // the normalised scale stays
    CHECK(moved.normalizer.apply(2.0f) == 0.5f);
    CHECK(moved.score == c.score);
  }
  SUBCASE("sensitivity 0.5 keeps the calibrated threshold; higher flags more, lower fewer") {
    CHECK(with_decision_threshold(c, std::nullopt, 0.5f).threshold == c.threshold);
    const float high = with_decision_threshold(c, std::nullopt, 0.8f).threshold;
    const float low = with_decision_threshold(c, std::nullopt, 0.2f).threshold;
    CHECK(high < c.threshold);
    CHECK(low > c.threshold);
    CHECK(high == doctest::Approx(c.threshold - 0.3f * 4.0f));
    CHECK(low == doctest::Approx(c.threshold + 0.3f * 4.0f));
    // On the normalised scale the cut is 1 - sensitivity, as in anomalib's post-processor.
    for (float s : {0.0f, 0.2f, 0.5f, 0.8f, 1.0f}) {
      CAPTURE(s);
      const Calibration m = with_decision_threshold(c, std::nullopt, s);
      CHECK(m.normalizer.apply(m.threshold) == doctest::Approx(1.0f - s).epsilon(1e-6));
      CHECK(m.sensitivity == s);
    }
  }
  SUBCASE("sensitivity is measured from the calibrated threshold, however often it was moved") {
    const Calibration once = with_decision_threshold(c, 100.0f, std::nullopt);
    const Calibration twice = with_decision_threshold(once, std::nullopt, 0.5f);
    CHECK(twice.threshold == c.threshold);
    CHECK(twice.calibrated_threshold == c.threshold);
    const Calibration back = with_decision_threshold(twice, 3.0f, std::nullopt);
    CHECK(back.calibrated_threshold == c.threshold);
    CHECK(!back.sensitivity);
  }
  SUBCASE("bad values name the field") {
    auto field_of = [&](std::optional<float> raw, std::optional<float> s) -> std::string {
      try {
        with_decision_threshold(c, raw, s);
      } catch (const OptionError& e) {
        return e.field() + ": " + e.problem();
      }
      return "no error";
    };
    CHECK(field_of(std::nanf(""), std::nullopt) == "threshold: expected a finite raw score, got nan");
    CHECK(field_of(-std::numeric_limits<float>::infinity(), std::nullopt) ==
          "threshold: expected a finite raw score, got -inf");
    CHECK(field_of(std::nullopt, 1.01f) == "sensitivity: expected a number in [0, 1], got 1.01");
    CHECK(field_of(std::nullopt, -0.5f) == "sensitivity: expected a number in [0, 1], got -0.5");
    // Quoted whole: six significant digits would print 1.0000001 as an in-range "1".
    CHECK(field_of(std::nullopt, 1.0000001f) == "sensitivity: expected a number in [0, 1], got 1.0000001");
    CHECK(field_of(std::nullopt, -1e-7f) == "sensitivity: expected a number in [0, 1], got -1e-07");
    CHECK(field_of(std::nullopt, std::nanf("")) == "sensitivity: expected a number in [0, 1], got nan");
    CHECK(field_of(1.0f, 0.5f) == "threshold_or_sensitivity: expected one or the other, got both");
  }
}

TEST_CASE("test metrics: a moved threshold is not 'chosen on heldout'; one class makes precision and recall null as F1") {
  const Calibration c = calibrated();
  Evaluation e;
  e.labels = {0, 1};
  e.f1.f1 = 0.5, e.f1.precision = 0.5, e.f1.recall = 0.5;
  CHECK(evaluation_json(e, c)["threshold_chosen_on"] == "heldout");
  CHECK(!evaluation_json(e, c).contains("calibrated_threshold_chosen_on"));
  const nlohmann::json raw = evaluation_json(e, with_decision_threshold(c, 1.0f, std::nullopt));
  CHECK(raw["threshold_chosen_on"] == "raw_threshold");
  CHECK(raw["calibrated_threshold_chosen_on"] == "heldout");
  CHECK(evaluation_json(e, with_decision_threshold(c, std::nullopt, 0.7f))["threshold_chosen_on"] == "sensitivity");
  CHECK(evaluation_json(e, c)["image_precision"] == 0.5);

  e.labels = {0, 0};  // one class: F1 undefined, and precision and recall with it
  e.f1.f1 = std::nan(""), e.f1.precision = 0, e.f1.recall = 0;
  const nlohmann::json one_class = evaluation_json(e, c);
  CHECK(one_class["image_f1"].is_null());
  CHECK(one_class["image_precision"].is_null());
  CHECK(one_class["image_recall"].is_null());
}

TEST_CASE("threshold_at_fpr: the normals' tail at the target rate, never flagging more of them than it allows") {
  // 1000 normals drawn evenly from N(10, 2)'s quantiles: the 5% tail is at 10 + 1.6449 * 2.
  std::vector<float> normals;
  const int n = 1000;
  for (int i = 0; i < n; ++i) {
    const double p = (i + 0.5) / n;
    double lo = -10, hi = 10;  // the standard normal's p-quantile, by bisection on erfc
    for (int k = 0; k < 100; ++k) {
      const double mid = 0.5 * (lo + hi);
      (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p ? lo : hi) = mid;
    }
    normals.push_back(static_cast<float>(10 + 2 * 0.5 * (lo + hi)));
  }
  CHECK(threshold_at_fpr(normals, 0.05) == doctest::Approx(10 + 1.6449 * 2).epsilon(2e-3));
  CHECK(threshold_at_fpr(normals, 0.01) == doctest::Approx(10 + 2.3263 * 2).epsilon(2e-3));
  // A heavy tail the normal fit would miss: 20 normals, 3 of them far out. At 5% one may be
  // flagged (floor(0.05 * 20)), so the threshold rises just above the second largest.
  std::vector<float> heavy(17, 1.0f);
  heavy.insert(heavy.end(), {50.0f, 80.0f, 100.0f});
  const float t = threshold_at_fpr(heavy, 0.05);
  CHECK(t > 80.0f);
  CHECK(t <= 100.0f);
  // Equal scores: the threshold sits just above them, so none is flagged.
  CHECK(threshold_at_fpr({3.0f, 3.0f, 3.0f}, 0.05) > 3.0f);
  CHECK_THROWS(threshold_at_fpr({1.0f}, 0.05));
  CHECK_THROWS(threshold_at_fpr({1.0f, 2.0f}, 0.0));
}

TEST_CASE("Calibration::place_threshold: fpr from the normals alone, f1 between normals and pseudo-anomalies") {
  // Normals 0..19, pseudo-anomalies that overlap them (15..34): best F1 sits inside the
  // normals; the fpr rule at 10% flags at most 2 of the 20 normals.
  std::vector<float> scores;
  std::vector<int> labels;
  for (int i = 0; i < 20; ++i) scores.push_back(float(i)), labels.push_back(0);
  for (int i = 15; i < 35; ++i) scores.push_back(float(i)), labels.push_back(1);
  Calibration f1;
  f1.place_threshold(scores, labels, ThresholdRule::f1, 0.1);
  CHECK(f1.threshold == doctest::Approx(best_f1(scores, labels).threshold));
  CHECK(f1.target_fpr < 0);
  CHECK(f1.validation_fpr == doctest::Approx(5.0 / 20));  // 15..19
  CHECK(f1.validation_recall == doctest::Approx(1.0));
  Calibration fpr;
  fpr.place_threshold(scores, labels, ThresholdRule::fpr, 0.1);
  CHECK(fpr.threshold > f1.threshold);
  CHECK(fpr.validation_fpr <= 0.1);
  CHECK(fpr.target_fpr == 0.1);
  CHECK(fpr.validation_recall < 1.0);
  CHECK(fpr.normalizer.threshold == fpr.threshold);
  // The rule and what validation said travel with the model file's calibration.
  const Calibration back = Calibration::from_json(fpr.to_json());
  CHECK(back.threshold_rule == ThresholdRule::fpr);
  CHECK(back.target_fpr == doctest::Approx(0.1));
  CHECK(back.validation_fpr == doctest::Approx(fpr.validation_fpr));
  CHECK(back.validation_recall == doctest::Approx(fpr.validation_recall));
  // A file from before the rule: f1, nothing known.
  nlohmann::json old = fpr.to_json();
  for (const char* key : {"threshold_rule", "target_fpr", "validation_fpr", "validation_recall"}) old.erase(key);
  const Calibration older = Calibration::from_json(old);
  CHECK(older.threshold_rule == ThresholdRule::f1);
  CHECK(older.validation_fpr < 0);
}

TEST_CASE("Calibration::place_threshold: max is the higher of the fpr and the best-F1 thresholds, midway halfway") {
  std::vector<float> scores;
  std::vector<int> labels;
  for (int i = 0; i < 20; ++i) scores.push_back(float(i)), labels.push_back(0);
  SUBCASE("pseudo-anomalies overlapping the normals: fpr's threshold, above the best F1") {
    for (int i = 15; i < 35; ++i) scores.push_back(float(i)), labels.push_back(1);
  }
  SUBCASE("pseudo-anomalies far above the normals: the best F1, above fpr's threshold") {
    for (int i = 0; i < 20; ++i) scores.push_back(100.0f + float(i)), labels.push_back(1);
  }
  Calibration fpr, f1, both;
  fpr.place_threshold(scores, labels, ThresholdRule::fpr, 0.1);
  f1.place_threshold(scores, labels, ThresholdRule::f1, 0.1);
  both.place_threshold(scores, labels, ThresholdRule::max, 0.1);
  CHECK(fpr.threshold != f1.threshold);
  CHECK(both.threshold == std::max(fpr.threshold, f1.threshold));
  CHECK(both.target_fpr == 0.1);
  CHECK(both.validation_fpr <= 0.1);
  CHECK(both.validation_recall == doctest::Approx(std::min(fpr.validation_recall, f1.validation_recall)));
  CHECK(Calibration::from_json(both.to_json()).threshold_rule == ThresholdRule::max);
  // midway: fpr's threshold, moved halfway towards a higher best F1; fpr's where the best F1 is lower.
  Calibration midway;
  midway.place_threshold(scores, labels, ThresholdRule::midway, 0.1);
  CHECK(midway.threshold == doctest::Approx(fpr.threshold + 0.5 * std::max(0.0f, f1.threshold - fpr.threshold)));
  CHECK(midway.threshold >= fpr.threshold);
  CHECK(midway.threshold <= both.threshold);
  CHECK(midway.target_fpr == 0.1);
  CHECK(Calibration::from_json(midway.to_json()).threshold_rule == ThresholdRule::midway);
}
