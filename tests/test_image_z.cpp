// image_z: the image standardised per value by the training normals (ImageZ), against a
// naive reference; a faint change over a wide area, which leaves no residual, stands out.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "ganomaly/model/image_z.h"
#include "tensor/random.h"

using namespace gan;

namespace {

// n noisy copies of one picture (c x h x w), as an aligned object's normal images.
std::vector<float> noisy_copies(Rng& rng, const std::vector<float>& picture, int n, float noise) {
  std::vector<float> out;
  for (int i = 0; i < n; ++i)
    for (float v : picture) out.push_back(v + noise * rng.normal());
  return out;
}

}  // namespace

TEST_CASE("image_z: channel mean of |z| per pixel, its largest window mean, as a naive loop") {
  const int c = 3, h = 16, w = 16, n = 12, pixels = h * w;
  Rng rng(5);
  std::vector<float> picture(c * pixels);
  for (auto& v : picture) v = rng.uniform() * 2 - 1;
  const std::vector<float> normals = noisy_copies(rng, picture, n, 0.02f);
  const ImageZ z = ImageZ::fit(normals, n, c, h, w);
  REQUIRE(z.channels() == c);
  REQUIRE(z.pixels() == pixels);

  // The reference: per value mean and spread (population), floored by a tenth of the mean spread.
  std::vector<double> mean(c * pixels, 0), spread(c * pixels, 0);
  for (int i = 0; i < n; ++i)
    for (int v = 0; v < c * pixels; ++v) mean[v] += normals[i * c * pixels + v] / double(n);
  double spread_sum = 0;
  for (int v = 0; v < c * pixels; ++v) {
    for (int i = 0; i < n; ++i) spread[v] += std::pow(normals[i * c * pixels + v] - mean[v], 2) / n;
    spread[v] = std::sqrt(spread[v]);
    spread_sum += spread[v];
  }
  const double floor = 0.1 * spread_sum / (c * pixels);
  const std::vector<float> image = noisy_copies(rng, picture, 1, 0.05f);
  std::vector<float> map(pixels);
  z.map(image.data(), h, w, map.data());
  std::vector<double> expected(pixels, 0);
  for (int ch = 0; ch < c; ++ch)
    for (int p = 0; p < pixels; ++p)
      expected[p] += std::fabs((image[ch * pixels + p] - mean[ch * pixels + p]) / (spread[ch * pixels + p] + floor)) / c;
  for (int p = 0; p < pixels; ++p) CHECK(map[p] == doctest::Approx(expected[p]).epsilon(1e-4));
  const int k = int(residual_z_window(h, w));
  double best = -std::numeric_limits<double>::infinity();
  for (int y = 0; y + k <= h; ++y)
    for (int x = 0; x + k <= w; ++x) {
      double s = 0;
      for (int dy = 0; dy < k; ++dy)
        for (int dx = 0; dx < k; ++dx) s += expected[(y + dy) * w + x + dx];
      best = std::max(best, s / (k * k));
    }
  CHECK(z.score(image.data(), h, w) == doctest::Approx(best).epsilon(1e-4));
  CHECK_THROWS_AS(z.score(image.data(), h, w / 2), Error);

  // The file's state round trip.
  ImageZ back;
  back.load_state(z.state(), "test");
  CHECK(back.score(image.data(), h, w) == z.score(image.data(), h, w));
  ImageZ none;
  none.load_state({}, "test");
  CHECK(none.empty());
}

TEST_CASE("image_z: a faint change over a wide band scores above every normal") {
  const int c = 1, h = 32, w = 32, n = 20, pixels = h * w;
  Rng rng(9);
  std::vector<float> picture(pixels);
  for (int p = 0; p < pixels; ++p) picture[p] = (p / w) % 4 < 2 ? 0.8f : -0.6f;  // stripes of print
  const ImageZ z = ImageZ::fit(noisy_copies(rng, picture, n, 0.02f), n, c, h, w);
  float worst_normal = 0;
  for (int i = 0; i < 20; ++i)
    worst_normal = std::max(worst_normal, z.score(noisy_copies(rng, picture, 1, 0.02f).data(), h, w));
  // A smear: rows 10 to 15 darker by a tenth of the print's contrast, under the same noise.
  std::vector<float> smeared = noisy_copies(rng, picture, 1, 0.02f);
  for (int p = 10 * w; p < 16 * w; ++p) smeared[p] -= 0.14f;
  CHECK(z.score(smeared.data(), h, w) > 2 * worst_normal);
}
