// The trivial floors (distance to the nearest and to the mean training image) against
// hand values and a naive twin, and ganomaly_baseline, which prints them for a data set.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "ganomaly/eval/floors.h"
#include "ganomaly/eval/metrics.h"
#include "ganomaly/data/synth.h"
#include "ganomaly/io/checkpoint_io.h"
#include "support/run_app.h"
#include "tensor/random.h"

using namespace gan;
using gan::testing::run_app;

namespace {

std::string q(const std::string& s) { return "'" + s + "'"; }

Tensor random_images(Rng& rng, int64_t n, int64_t c, int64_t s) {
  std::vector<float> v(n * c * s * s);
  for (float& x : v) x = rng.uniform(-1.0f, 1.0f);
  return Tensor::from_vector(Shape{n, c, s, s}, v);
}

}  // namespace

TEST_CASE("floors: mean absolute and root mean squared distance to the nearest and to the mean image") {
  // Two training "images" of two values: (0, 0) and (2, 2); their mean is (1, 1).
  const TrivialFloors floors(Tensor::from_vector(Shape{2, 1, 1, 2}, {0, 0, 2, 2}));
  // (0, 3): nearest by L1 is (2, 2) with |-2| + |1| = 3 -> 1.5 per value, and by L2 also
  // (2, 2): sqrt((4 + 1) / 2); to the mean: (1 + 2) / 2 and sqrt((1 + 4) / 2).
  const auto s = floors.score(Tensor::from_vector(Shape{1, 1, 1, 2}, {0, 3}));
  CHECK(s.at("nearest_l1")[0] == doctest::Approx(1.5));
  CHECK(s.at("nearest_l2")[0] == doctest::Approx(std::sqrt(2.5)));
  CHECK(s.at("mean_l1")[0] == doctest::Approx(1.5));
  CHECK(s.at("mean_l2")[0] == doctest::Approx(std::sqrt(2.5)));
  // A training image is its own nearest: distance 0.
  const auto own = floors.score(Tensor::from_vector(Shape{1, 1, 1, 2}, {2, 2}));
  CHECK(own.at("nearest_l1")[0] == 0.0f);
  CHECK(own.at("mean_l2")[0] == doctest::Approx(1.0));
  CHECK_THROWS_AS(floors.score(Tensor::from_vector(Shape{1, 1, 1, 3}, {0, 0, 0})), Error);  // another shape
}

TEST_CASE("floors equal a naive loop over every pair; AUROC per floor, none for one class") {
  Rng rng(4);
  const Tensor train = random_images(rng, 7, 3, 5), test = random_images(rng, 6, 3, 5);
  const TrivialFloors floors(train);
  const auto s = floors.score(test);
  const int64_t per = 3 * 5 * 5;
  for (int64_t i = 0; i < 6; ++i) {
    double best_l1 = std::numeric_limits<double>::infinity(), best_l2 = best_l1;
    for (int64_t k = 0; k < 7; ++k) {
      double l1 = 0, l2 = 0;
      for (int64_t j = 0; j < per; ++j) {
        const double d = test.data()[i * per + j] - train.data()[k * per + j];
        l1 += std::fabs(d) / per;
        l2 += d * d / per;
      }
      best_l1 = std::min(best_l1, l1);
      best_l2 = std::min(best_l2, std::sqrt(l2));
    }
    CHECK(s.at("nearest_l1")[i] == doctest::Approx(best_l1).epsilon(1e-5));
    CHECK(s.at("nearest_l2")[i] == doctest::Approx(best_l2).epsilon(1e-5));
  }
  const std::vector<int> labels = {0, 1, 0, 1, 1, 0};
  const auto a = floors.auroc(test, labels);
  REQUIRE(a.size() == floor_score_names().size());
  for (const std::string& name : floor_score_names()) CHECK(a.at(name) == doctest::Approx(auroc(s.at(name), labels)));
  CHECK(floors.auroc(test, {0, 0, 0, 0, 0, 0}).empty());
}

TEST_CASE("ganomaly_baseline prints and writes the floors of a generated category; bad options fail in one line") {
  testing::TempDir dir("baseline");
  SynthOptions synth;
  synth.out = dir / "data";
  synth.size = 32;
  synth.train = 12;
  synth.test_good = 4;
  synth.test_bad = 4;
  const std::string data = write_synthetic_dataset(synth);
  const auto r = run_app("ganomaly_baseline", q(data) + " --image-size 32 --threads 2 --json " + q(dir / "floors.json"));
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  for (const std::string& name : floor_score_names()) CHECK_MESSAGE(r.output.find(name) != std::string::npos, r.output);
  const nlohmann::json j = nlohmann::json::parse(testing::read_file(dir / "floors.json"));
  CHECK(j["image_size"] == 32);
  for (const std::string& name : floor_score_names()) {
    const double a = j["floor_auroc"][name].get<double>();
    CHECK(a >= 0.0);
    CHECK(a <= 1.0);
  }
  auto fails = [&](const std::string& args, int code, const std::string& needle) {
    const auto bad = run_app("ganomaly_baseline", args);
    CHECK_MESSAGE(bad.exit_code == code, args, ": ", bad.output);
    CHECK_MESSAGE(bad.output.find(needle) != std::string::npos, args, ": ", bad.output);
  };
  fails("", 2, "DATA_DIR");
  fails(q(data) + " --channels 2", 2, "--channels");
  fails(q(data) + " --image-size 4", 2, "--image-size");
  fails(q(data) + " --recipe nope", 2, "--recipe");
  fails(q(dir / "missing"), 1, "missing");
  fails(q(data) + " --image-size 32 --json " + q(dir / "nodir/x.json"), 1, "nodir/x.json: cannot write");
  // A model or checkpoint named as --json is refused before any work, and kept.
  CheckpointFile checkpoint;
  checkpoint.config = {{"resumable", true}};
  save_checkpoint(dir / "last.gnm", checkpoint);
  const std::string before = testing::read_file(dir / "last.gnm");
  fails(q(data) + " --json " + q(dir / "last.gnm"), 2,
        "ganomaly_baseline: --json: " + (dir / "last.gnm") + " is a ganomaly.cpp model or checkpoint; choose another file\n");
  CHECK(testing::read_file(dir / "last.gnm") == before);
}
