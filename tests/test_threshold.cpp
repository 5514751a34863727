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
