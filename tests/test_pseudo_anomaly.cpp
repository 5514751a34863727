// Pseudo-anomalies: one per normal image, kinds in turn, and a strength that scales every
// change, so a saturated validation set can be made fainter with the same defects.
#include <doctest/doctest.h>

#include <cmath>

#include "ganomaly/train/pseudo_anomaly.h"

using namespace gan;

namespace {

Tensor random_normals(uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(8 * 3 * 32 * 32);
  for (float& x : v) x = rng.uniform(-1.0f, 1.0f);
  return Tensor::from_vector(Shape{8, 3, 32, 32}, v);
}

}  // namespace

TEST_CASE("pseudo-anomalies change every image; strength s changes each pixel by s times the full change") {
  const Tensor normals = random_normals(3);
  Rng full_rng(7), default_rng(7), half_rng(7);
  const Tensor full = make_pseudo_anomalies(normals, full_rng, 1.0f);
  const Tensor by_default = make_pseudo_anomalies(normals, default_rng);
  const Tensor half = make_pseudo_anomalies(normals, half_rng, 0.5f);
  const int64_t per = normals.numel() / 8;
  for (int64_t i = 0; i < 8; ++i) {
    CAPTURE(i);
    double changed = 0, worst = 0;
    for (int64_t j = i * per; j < (i + 1) * per; ++j) {
      const float d_full = full.data()[j] - normals.data()[j], d_half = half.data()[j] - normals.data()[j];
      changed += std::fabs(d_full);
      worst = std::max(worst, double(std::fabs(d_half - 0.5f * d_full)));
      CHECK(by_default.data()[j] == full.data()[j]);  // strength 1 is the default, bit for bit
    }
    CHECK(changed > 0);  // every kind changes its image
    CHECK(worst < 1e-5);
  }
  Rng rng(1);
  CHECK_THROWS_AS(make_pseudo_anomalies(normals, rng, 0.0f), Error);
  CHECK_THROWS_AS(make_pseudo_anomalies(normals, rng, 1.5f), Error);
}
