// image_nn: the image standardised by its nearest training images (ImageNN), against a
// naive twin; the cut piece of a part whose pose varies, which image_z loses in the
// spread of all poses; the state round trip.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "ganomaly/model/image_neighbours.h"
#include "ganomaly/model/image_z.h"
#include "ganomaly/model/residual_map.h"
#include "ganomaly/model/residual_neighbours.h"
#include "support/fixtures.h"
#include "tensor/random.h"

using namespace gan;
using gan::testing::uniform_values;

namespace {

// The channel mean of |z| by the k images whose 16 x 16 thumbnails (cells of 2 x 2 at
// 32 px) lie nearest, found by sorting every distance; the floor a tenth of the mean
// spread of every value over all n images.
std::vector<double> naive_map(const std::vector<float>& images, int n, int c, int h, int w,
                              const std::vector<float>& image, int k) {
  const int values = c * h * w, kh = h / 2, kw = w / 2;
  auto thumb = [&](const float* x) {
    std::vector<double> t(c * kh * kw, 0);
    for (int ch = 0; ch < c; ++ch)
      for (int y = 0; y < kh * 2; ++y)
        for (int xx = 0; xx < kw * 2; ++xx) t[(ch * kh + y / 2) * kw + xx / 2] += x[(ch * h + y) * w + xx] / 4.0;
    return t;
  };
  const std::vector<double> key = thumb(image.data());
  std::vector<double> distance(n, 0);
  for (int i = 0; i < n; ++i) {
    const std::vector<double> t = thumb(images.data() + i * values);
    for (size_t j = 0; j < t.size(); ++j) distance[i] += (t[j] - key[j]) * (t[j] - key[j]);
  }
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return distance[a] < distance[b]; });
  double spread_sum = 0;
  for (int v = 0; v < values; ++v) {
    double mean = 0, var = 0;
    for (int i = 0; i < n; ++i) mean += images[i * values + v] / double(n);
    for (int i = 0; i < n; ++i) var += std::pow(images[i * values + v] - mean, 2) / n;
    spread_sum += std::sqrt(var);
  }
  const double floor = 0.1 * spread_sum / values;
  std::vector<double> map(h * w, 0);
  for (int v = 0; v < values; ++v) {
    double mean = 0, var = 0;
    for (int i = 0; i < k; ++i) mean += images[order[i] * values + v] / double(k);
    for (int i = 0; i < k; ++i) var += std::pow(images[order[i] * values + v] - mean, 2) / k;
    map[v % (h * w)] += std::fabs((image[v] - mean) / (std::sqrt(var) + floor)) / c;
  }
  return map;
}

}  // namespace

TEST_CASE("image_nn: channel mean of |z| over the 10 nearest images, its largest window mean, as a naive loop") {
  const int n = 30, c = 2, h = 32, w = 32;
  Rng rng(17);
  const std::vector<float> images = uniform_values(rng, n * c * h * w, -1.0f, 1.0f);
  const ImageNN nn = ImageNN::fit(images, n, c, h, w);
  REQUIRE(nn.count() == n);
  CHECK(nn.keys().size() == n * image_key_size(c, h, w));
  for (int trial = 0; trial < 3; ++trial) {
    const std::vector<float> image = uniform_values(rng, c * h * w, -1.0f, 1.0f);
    const std::vector<double> expected = naive_map(images, n, c, h, w, image, ImageNN::kNeighbours);
    std::vector<float> map(h * w);
    nn.map(image.data(), h, w, map.data());
    for (int p = 0; p < h * w; ++p) CHECK(map[p] == doctest::Approx(expected[p]).epsilon(1e-4));
    // window_max has its own naive twin (test_residual_map).
    const std::vector<float> expected_map(expected.begin(), expected.end());
    CHECK(nn.score(image.data(), h, w) ==
          doctest::Approx(window_max(expected_map.data(), h, w, residual_z_window(h, w))).epsilon(1e-4));
  }
  const std::vector<float> image(c * h * w, 0.0f);
  CHECK_THROWS_AS(nn.score(image.data(), h, w / 2), Error);  // another size
  CHECK_THROWS_AS(ImageNN::fit(std::vector<float>(c * h * w), 1, c, h, w), Error);  // one image has no spread
  CHECK_THROWS_AS(ImageNN::fit(images, n + 1, c, h, w), Error);                    // the values do not split

  // The file's state round trip; a state without it leaves the score out.
  ImageNN back;
  back.load_state(nn.state(), "test");
  CHECK(back.score(images.data(), h, w) == nn.score(images.data(), h, w));
  ImageNN none;
  none.load_state({}, "test");
  CHECK(none.empty());
  nn::NamedTensors bad = nn.state();
  bad.at(1).second = Tensor::full(Shape{1}, -1.0f);
  CHECK_THROWS_WITH_AS(none.load_state(bad, "m.gnm"), doctest::Contains("m.gnm: neighbour images: the floor must be positive"),
                       Error);
  CHECK_THROWS_WITH_AS(none.load_state({bad.at(0)}, "m.gnm"), doctest::Contains("m.gnm: neighbour images: expected"), Error);
}

TEST_CASE("image_nn finds a lead cut short where another pose has none; image_z loses it in the spread of both poses") {
  // A dark part with one bright lead: in column 3 for half the images, column 10 for the
  // other half, under the same noise.
  const int n = 40, c = 1, h = 16, w = 16, pixels = h * w;
  Rng rng(23);
  auto part = [&](int lead_column) {
    std::vector<float> x(pixels);
    for (int p = 0; p < pixels; ++p) x[p] = (p % w == lead_column ? 0.9f : -0.5f) + 0.02f * rng.normal();
    return x;
  };
  std::vector<float> images;
  for (int i = 0; i < n; ++i) {
    const std::vector<float> x = part(i % 2 ? 3 : 10);
    images.insert(images.end(), x.begin(), x.end());
  }
  const ImageNN nn = ImageNN::fit(images, n, c, h, w);
  const ImageZ all = ImageZ::fit(images, n, c, h, w);
  // A column-3 part whose lead stops at row 8: the rows below dark.
  const std::vector<float> normal = part(3);
  std::vector<float> cut = normal;
  for (int y = 8; y < h; ++y) cut[y * w + 3] = -0.5f + 0.02f * rng.normal();
  const float nn_jump = nn.score(cut.data(), h, w) - nn.score(normal.data(), h, w);
  const float z_jump = all.score(cut.data(), h, w) - all.score(normal.data(), h, w);
  CHECK(nn_jump > 5.0f);
  CHECK(nn_jump > 3 * z_jump);
}
