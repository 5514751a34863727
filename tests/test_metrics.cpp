// Metrics against scikit-learn. The expected numbers below were computed once with
// scikit-learn 1.2.1 (/usr/bin/python3; roc_auc_score, average_precision_score,
// roc_curve(drop_intermediate=False), precision_recall_curve + argmax of F1 as anomalib's
// F1AdaptiveThreshold does, f1/precision/recall_score with zero_division=0) on float32
// scores, and pasted here as literals: the tests need no Python.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "ganomaly/eval/calibration.h"
#include "ganomaly/eval/metrics.h"

using namespace gan;

namespace {

constexpr double kTol = 1e-9;

struct At {
  double threshold, f1, precision, recall;
};

struct Case {
  std::string name;
  std::vector<float> scores;
  std::vector<int> labels;
  double auroc, ap;
  std::vector<double> fpr, tpr, thresholds;  // thresholds without sklearn's leading max+1
  F1Result best;
  At at[2];
};

const std::vector<Case>& cases() {
  static const std::vector<Case> table = {
    {"ties",
     {0.1f, 0.4f, 0.35f, 0.8f, 0.4f, 0.4f, 0.1f},
     {0, 0, 1, 1, 1, 0, 1},
     0.5416666666666667, 0.6678571428571428,
     {0.0, 0.0, 0.6666666666666666, 0.6666666666666666, 1.0},
     {0.0, 0.25, 0.5, 0.75, 1.0},
     {0.800000011920929, 0.4000000059604645, 0.3499999940395355, 0.10000000149011612},
     {0.7272727272727273, 0.10000000149011612, 0.5714285714285714, 1.0},
     {{0.4, 0.5, 0.5, 0.5}, {0.4000000059604645, 0.5, 0.5, 0.5}}},
    {"all_equal",
     {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f},
     {0, 1, 0, 1, 1, 0},
     0.5, 0.5,
     {0.0, 1.0},
     {0.0, 1.0},
     {0.5},
     {0.6666666666666666, 0.5, 0.5, 1.0},
     {{0.4, 0.6666666666666666, 0.5, 1.0}, {0.5, 0.6666666666666666, 0.5, 1.0}}},
    {"separated",
     {0.1f, 0.2f, 0.3f, 0.7f, 0.8f, 0.9f},
     {0, 0, 0, 1, 1, 1},
     1.0, 1.0,
     {0.0, 0.0, 0.0, 0.0, 0.3333333333333333, 0.6666666666666666, 1.0},
     {0.0, 0.3333333333333333, 0.6666666666666666, 1.0, 1.0, 1.0, 1.0},
     {0.8999999761581421, 0.800000011920929, 0.699999988079071, 0.30000001192092896, 0.20000000298023224, 0.10000000149011612},
     {1.0, 0.699999988079071, 1.0, 1.0},
     {{0.4, 1.0, 1.0, 1.0}, {0.5, 1.0, 1.0, 1.0}}},
    {"inverted",
     {0.9f, 0.8f, 0.7f, 0.3f, 0.2f, 0.1f},
     {0, 0, 0, 1, 1, 1},
     0.0, 0.38333333333333336,
     {0.0, 0.3333333333333333, 0.6666666666666666, 1.0, 1.0, 1.0, 1.0},
     {0.0, 0.0, 0.0, 0.0, 0.3333333333333333, 0.6666666666666666, 1.0},
     {0.8999999761581421, 0.800000011920929, 0.699999988079071, 0.30000001192092896, 0.20000000298023224, 0.10000000149011612},
     {0.6666666666666666, 0.10000000149011612, 0.5, 1.0},
     {{0.4, 0.0, 0.0, 0.0}, {0.5, 0.0, 0.0, 0.0}}},
    {"random20",
     {0.63f, 0.9f, 0.78f, 0.23f, 0.3f, 0.87f, 0.01f, 0.82f, 0.8f, 0.47f, 0.3f, 0.28f, 0.25f, 0.45f, 0.5f, 0.55f, 1.0f, 0.79f, 0.62f, 0.99f},
     {1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1},
     0.48989898989898994, 0.6669412146473784,
     {0.0, 0.0, 0.0, 0.0, 0.1111111111111111, 0.2222222222222222, 0.3333333333333333, 0.3333333333333333, 0.4444444444444444, 0.4444444444444444, 0.5555555555555556, 0.5555555555555556, 0.6666666666666666, 0.7777777777777778, 0.7777777777777778, 0.8888888888888888, 0.8888888888888888, 0.8888888888888888, 0.8888888888888888, 1.0},
     {0.0, 0.09090909090909091, 0.18181818181818182, 0.2727272727272727, 0.2727272727272727, 0.2727272727272727, 0.2727272727272727, 0.36363636363636365, 0.36363636363636365, 0.45454545454545453, 0.45454545454545453, 0.5454545454545454, 0.5454545454545454, 0.5454545454545454, 0.6363636363636364, 0.7272727272727273, 0.8181818181818182, 0.9090909090909091, 1.0, 1.0},
     {1.0, 0.9900000095367432, 0.8999999761581421, 0.8700000047683716, 0.8199999928474426, 0.800000011920929, 0.7900000214576721, 0.7799999713897705, 0.6299999952316284, 0.6200000047683716, 0.550000011920929, 0.5, 0.4699999988079071, 0.44999998807907104, 0.30000001192092896, 0.2800000011920929, 0.25, 0.23000000417232513, 0.009999999776482582},
     {0.7333333333333334, 0.23000000417232513, 0.5789473684210527, 1.0},
     {{0.4, 0.56, 0.5, 0.6363636363636364}, {0.5850000381469727, 0.47619047619047616, 0.5, 0.45454545454545453}}},
    {"random20b",
     {-0.112f, 0.11f, 0.064f, -1.225f, 0.076f, 1.359f, -1.547f, 0.859f, 0.119f, -0.641f, 2.0f, 0.762f, -1.199f, 0.075f, 0.577f, -0.189f, 0.683f, -0.067f, 0.667f, 1.439f},
     {0, 0, 0, 1, 1, 1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 1},
     0.5555555555555555, 0.5744376166202791,
     {0.0, 0.09090909090909091, 0.09090909090909091, 0.09090909090909091, 0.09090909090909091, 0.09090909090909091, 0.18181818181818182, 0.2727272727272727, 0.2727272727272727, 0.36363636363636365, 0.45454545454545453, 0.45454545454545453, 0.5454545454545454, 0.6363636363636364, 0.7272727272727273, 0.8181818181818182, 0.9090909090909091, 0.9090909090909091, 1.0, 1.0, 1.0},
     {0.0, 0.0, 0.1111111111111111, 0.2222222222222222, 0.3333333333333333, 0.4444444444444444, 0.4444444444444444, 0.4444444444444444, 0.5555555555555556, 0.5555555555555556, 0.5555555555555556, 0.6666666666666666, 0.6666666666666666, 0.6666666666666666, 0.6666666666666666, 0.6666666666666666, 0.6666666666666666, 0.7777777777777778, 0.7777777777777778, 0.8888888888888888, 1.0},
     {2.0, 1.4390000104904175, 1.3589999675750732, 0.859000027179718, 0.7620000243186951, 0.6830000281333923, 0.6669999957084656, 0.5770000219345093, 0.11900000274181366, 0.10999999940395355, 0.07599999755620956, 0.07500000298023224, 0.06400000303983688, -0.06700000166893005, -0.1120000034570694, -0.1889999955892563, -0.640999972820282, -1.1990000009536743, -1.225000023841858, -1.5470000505447388},
     {0.6206896551724138, -1.5470000505447388, 0.45, 1.0},
     {{0.4, 0.5882352941176471, 0.625, 0.5555555555555556}, {0.09299999475479126, 0.5263157894736842, 0.5, 0.5555555555555556}}},
  };
  return table;
}

void check_vec(const std::vector<double>& got, const std::vector<double>& want, size_t from = 0) {
  REQUIRE(got.size() == want.size() + from);
  for (size_t i = 0; i < want.size(); ++i) CHECK(got[i + from] == doctest::Approx(want[i]).epsilon(kTol));
}

}  // namespace

TEST_CASE("metrics match sklearn on fixed inputs") {
  for (const Case& c : cases()) {
    CAPTURE(c.name);
    CHECK(auroc(c.scores, c.labels) == doctest::Approx(c.auroc).epsilon(kTol));
    CHECK(average_precision(c.scores, c.labels) == doctest::Approx(c.ap).epsilon(kTol));

    RocCurve roc = roc_curve(c.scores, c.labels);
    check_vec(roc.fpr, c.fpr);
    check_vec(roc.tpr, c.tpr);
    CHECK(std::isinf(roc.thresholds[0]));
    check_vec(roc.thresholds, c.thresholds, 1);

    F1Result b = best_f1(c.scores, c.labels);
    CHECK(b.f1 == doctest::Approx(c.best.f1).epsilon(kTol));
    CHECK(b.threshold == c.best.threshold);  // one of the scores, exactly
    CHECK(b.precision == doctest::Approx(c.best.precision).epsilon(kTol));
    CHECK(b.recall == doctest::Approx(c.best.recall).epsilon(kTol));
    // The reported threshold reproduces the oracle F1 under the >= convention.
    CHECK(f1_at(c.scores, c.labels, b.threshold).f1 == doctest::Approx(b.f1).epsilon(kTol));

    for (const At& a : c.at) {
      F1Result r = f1_at(c.scores, c.labels, a.threshold);
      CHECK(r.f1 == doctest::Approx(a.f1).epsilon(kTol));
      CHECK(r.precision == doctest::Approx(a.precision).epsilon(kTol));
      CHECK(r.recall == doctest::Approx(a.recall).epsilon(kTol));
    }
  }
}

TEST_CASE("best_f1 breaks exact F1 ties towards the lower threshold, as anomalib's argmax") {
  // TP=2, FP=0 at 0.9 and TP=4, FP=4 at 0.3 both give F1 = 2/3; sklearn + argmax picks 0.3.
  std::vector<float> s = {1.f, .9f, .8f, .7f, .6f, .5f, .4f, .3f};
  std::vector<int> l = {1, 1, 0, 0, 0, 0, 1, 1};
  F1Result b = best_f1(s, l);
  CHECK(b.threshold == doctest::Approx(0.3f));
  CHECK(b.f1 == doctest::Approx(2.0 / 3.0).epsilon(kTol));
}

TEST_CASE("metrics reject bad input with a clear message") {
  std::vector<float> s = {0.1f, 0.2f, 0.3f};
  CHECK_THROWS_WITH_AS(auroc(s, {1, 1, 1}), doctest::Contains("needs both normal and anomalous"), Error);
  CHECK_THROWS_WITH_AS(auroc(s, {0, 0, 0}), doctest::Contains("0 anomalous"), Error);
  CHECK_THROWS_AS(roc_curve(s, {0, 0, 0}), Error);
  CHECK_THROWS_WITH_AS(average_precision(s, {0, 0, 0}), doctest::Contains("at least one anomalous"), Error);
  CHECK_THROWS_AS(best_f1(s, {0, 0, 0}), Error);
  CHECK_THROWS_WITH_AS(auroc(s, {0, 1}), doctest::Contains("3 scores but 2 labels"), Error);
  CHECK_THROWS_WITH_AS(auroc(s, {0, 2, 1}), doctest::Contains("label 1 is 2"), Error);
  CHECK_THROWS_WITH_AS(auroc({0.1f, NAN, 0.3f}, {0, 1, 1}), doctest::Contains("score 1 is NaN"), Error);
  CHECK_THROWS_AS(auroc({}, {}), Error);
  // Only one class is fine for AP when it is the anomalous one, and for f1_at.
  CHECK(average_precision(s, {1, 1, 1}) == 1.0);
  CHECK(f1_at(s, {0, 0, 0}, 0.2).f1 == 0.0);
}

TEST_CASE("pixel_auroc agrees with auroc and handles millions of pixels") {
  // Quantised scores so that many pixels tie across classes.
  std::mt19937 rng(123);
  const size_t n = 3'000'000;
  std::vector<float> scores(n);
  std::vector<uint8_t> mask(n);
  std::vector<int> labels(n);
  for (size_t i = 0; i < n; ++i) {
    labels[i] = rng() % 10 == 0;
    mask[i] = labels[i] ? 255 : 0;  // masks come as 0/255
    scores[i] = float(int(rng() % 1000) + (labels[i] ? 150 : 0)) / 1000.0f;
  }
  double fast = pixel_auroc(scores.data(), mask.data(), n);
  CHECK(fast == doctest::Approx(auroc(scores, labels)).epsilon(1e-12));
  CHECK(fast > 0.5);

  // Small fixed case against sklearn (the "ties" case above).
  std::vector<float> s = {0.1f, 0.4f, 0.35f, 0.8f, 0.4f, 0.4f, 0.1f};
  std::vector<uint8_t> m = {0, 0, 1, 1, 1, 0, 1};
  CHECK(pixel_auroc(s.data(), m.data(), s.size()) == doctest::Approx(0.5416666666666667).epsilon(kTol));

  Tensor maps = Tensor::from_vector(Shape{1, 1, 1, 7}, s);
  Tensor masks = Tensor::from_vector(Shape{1, 1, 7}, {0, 0, 1, 1, 1, 0, 1});
  CHECK(pixel_auroc(maps, masks) == doctest::Approx(0.5416666666666667).epsilon(kTol));

  std::vector<uint8_t> none(7, 0);
  CHECK_THROWS_WITH_AS(pixel_auroc(s.data(), none.data(), 7), doctest::Contains("needs both"), Error);
}

TEST_CASE("ScoreNormalizer follows anomalib's normalize_min_max") {
  ScoreNormalizer n = ScoreNormalizer::fit({2.0f, 4.0f, 6.0f}, 3.0f);
  CHECK(n.min == 2.0f);
  CHECK(n.max == 6.0f);
  CHECK(n.apply(3.0f) == 0.5f);  // the threshold maps to 0.5
  CHECK(n.apply(5.0f) == doctest::Approx(1.0f));  // (5 - 3) / 4 + 0.5
  CHECK(n.apply(4.0f) == doctest::Approx(0.75f));
  CHECK(n.apply(2.0f) == doctest::Approx(0.25f));
  CHECK(n.apply(100.0f) == 1.0f);  // clamped
  CHECK(n.apply(-100.0f) == 0.0f);

  ScoreNormalizer flat = ScoreNormalizer::fit({1.0f, 1.0f}, 1.0f);
  CHECK(flat.apply(1.0f) == 0.5f);
  CHECK(flat.apply(1.5f) == 1.0f);
  CHECK(flat.apply(0.5f) == 0.0f);

  ScoreNormalizer back = ScoreNormalizer::from_json(n.to_json());
  CHECK(back.min == n.min);
  CHECK(back.max == n.max);
  CHECK(back.threshold == n.threshold);
  CHECK_THROWS_AS(ScoreNormalizer::from_json(nlohmann::json{{"method", "min_max"}, {"min", 0}}), Error);
}

TEST_CASE("the fused score sums latent, feature, residual_nn and image_nn in units of the validation normals") {
  // All four rank the anomaly (label 1) above both normals: validation AUROC 1 each.
  Scores val;
  val.latent = {1, 3, 10};          // normals: mean 2, deviation 1
  val.reconstruction = {5, 5, 50};  // not part of the fusion
  val.feature = {0, 4, 9};          // mean 2, deviation 2
  val.residual_max = {1, 1, 60};    // not part of the fusion: residual_z sees the same map better
  val.residual_z = {1, 1, 70};      // not part of the fusion: residual_nn sees the same map better
  val.residual_nn = {2, 2, 7};      // deviation 0: clamped, not a division by zero
  val.image_z = {1, 1, 80};         // not part of the fusion: image_nn sees the same image better
  val.image_nn = {3, 5, 9};         // mean 4, deviation 1
  const std::vector<int> labels = {0, 0, 1};
  Calibration c;
  c.fit_fusion(val, labels);
  CHECK(c.fusion.size() == std::size(kFusedScores));
  CHECK(c.fusion.count(Score::reconstruction) == 0);
  CHECK(c.fusion.count(Score::residual_max) == 0);
  CHECK(c.fusion.count(Score::residual_z) == 0);
  CHECK(c.fusion.count(Score::image_z) == 0);

  Scores test;
  test.latent = {4};
  test.reconstruction = {1000};
  test.feature = {6};
  test.residual_max = {1000};
  test.residual_z = {1000};
  test.residual_nn = {2};
  test.image_z = {1000};
  test.image_nn = {6};
  c.fuse(test);
  REQUIRE(test.has(Score::fused));
  CHECK(test.get(Score::fused)[0] == doctest::Approx((4.0 - 2) / 1 + (6.0 - 2) / 2 + 0.0 + (6.0 - 4) / 1));

  // A checkpoint calibrated before a change fused other scores: it keeps doing so, and
  // needs no residual statistics when residual_z was not among them.
  Calibration old;
  old.fusion[Score::latent] = {2.0f, 1.0f, 1.0f};
  old.fusion[Score::reconstruction] = {5.0f, 10.0f, 1.0f};
  old.fusion[Score::residual_max] = {1.0f, 1.0f, 1.0f};
  test.residual_z.clear();
  test.residual_nn.clear();
  test.image_z.clear();
  test.image_nn.clear();
  old.fuse(test);
  CHECK(test.get(Score::fused)[0] == doctest::Approx(2.0 + (1000.0 - 5) / 10 + 999.0));
  CHECK_FALSE(test.has(Score::residual_z));
  CHECK_THROWS_AS(test.get(Score::residual_z), Error);
  CHECK_FALSE(test.has(Score::residual_nn));
  CHECK_THROWS_AS(test.get(Score::residual_nn), Error);
  CHECK_FALSE(test.has(Score::image_z));
  CHECK_THROWS_AS(test.get(Score::image_z), Error);
  CHECK_FALSE(test.has(Score::image_nn));
  CHECK_THROWS_AS(test.get(Score::image_nn), Error);
  // One from before image_nn fuses image_z, and needs no neighbour images.
  Calibration before_image_nn;
  before_image_nn.fusion[Score::latent] = {2.0f, 1.0f, 1.0f};
  before_image_nn.fusion[Score::image_z] = {4.0f, 1.0f, 1.0f};
  test.image_z = {6};
  before_image_nn.fuse(test);
  CHECK(test.get(Score::fused)[0] == doctest::Approx(2.0 + 2.0));
  // One from before residual_nn fuses residual_z, and needs no neighbour residuals.
  Calibration before_nn;
  before_nn.fusion[Score::latent] = {2.0f, 1.0f, 1.0f};
  before_nn.fusion[Score::residual_z] = {1.0f, 2.0f, 1.0f};
  test.residual_z = {5};
  before_nn.fuse(test);
  CHECK(test.get(Score::fused)[0] == doctest::Approx(2.0 + 2.0));

  // Scored without the discriminator (FeatureScore::skip): no fused score.
  test.feature.clear();
  c.fuse(test);
  CHECK_FALSE(test.has(Score::fused));
}

TEST_CASE("the fusion weighs each score by its validation AUROC's gap to the best, tapering to 0 at the margin") {
  CHECK(fusion_weight(0.0, 0.1) == 1.0);
  CHECK(fusion_weight(0.025, 0.1) == doctest::Approx(0.75));
  CHECK(fusion_weight(0.1, 0.1) == 0.0);
  CHECK(fusion_weight(0.3, 0.1) == 0.0);
  CHECK(fusion_weight(0.0, 0.0) == 1.0);  // margin 0: only the best
  CHECK(fusion_weight(0.001, 0.0) == 0.0);

  Scores val;
  val.latent = {1, 3, 2, 10};        // the anomalies 2 and 10 against normals 1, 3: AUROC 0.75
  val.reconstruction = {0, 0, 0, 0};
  val.feature = {0, 4, 9, 9};        // AUROC 1
  val.residual_z = {0, 0, 0, 0};
  val.residual_nn = {1, 2, 3, 4};    // AUROC 1
  val.image_nn = {0, 0, 0, 0};       // AUROC 0.5: left out at every margin below
  const std::vector<int> labels = {0, 0, 1, 1};
  Calibration c;
  c.fit_fusion(val, labels, 0.05);
  CHECK(c.fusion.count(Score::latent) == 0);
  CHECK(c.fusion.at(Score::feature).weight == 1.0f);
  CHECK(c.fusion.at(Score::residual_nn).weight == 1.0f);
  c.fit_fusion(val, labels, 0.5);   // 0.25 below the best: half weight
  REQUIRE(c.fusion.size() == 3);
  CHECK(c.fusion.at(Score::latent).weight == doctest::Approx(0.5));
  Scores test;
  test.latent = {4};                 // normals: mean 2, deviation 1
  test.reconstruction = {0};
  test.feature = {6};                // mean 2, deviation 2
  test.residual_z = {0};
  test.residual_nn = {2.5};          // mean 1.5, deviation 0.5
  test.image_nn = {0};
  c.fuse(test);
  REQUIRE(test.has(Score::fused));
  CHECK(test.get(Score::fused)[0] == doctest::Approx(0.5 * 2.0 + 2.0 + 2.0));
  c.fit_fusion(val, labels, 0.0);   // ties with the best are kept
  CHECK(c.fusion.size() == 2);
}

TEST_CASE("fusion weights survive the model file's JSON; files from before the weights read as weight 1") {
  Calibration c;
  c.fusion[Score::latent] = {2.0f, 1.0f, 0.25f};
  const Calibration back = Calibration::from_json(c.to_json());
  CHECK(back.fusion.at(Score::latent).weight == 0.25f);
  nlohmann::json old = c.to_json();
  old["fusion"] = {{"latent", {2.0, 1.0}}};
  CHECK(Calibration::from_json(old).fusion.at(Score::latent).weight == 1.0f);
  old["fusion"] = {{"latent", {2.0}}};
  CHECK_THROWS_AS(Calibration::from_json(old), Error);
}
