// Tiled scoring (eval/tiling.h) against a naive reference: every tile cropped and scored
// by hand with the model, the largest score and the per-pixel maximum of the tile maps.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "ganomaly/eval/tiling.h"
#include "support/fixtures.h"
#include "tensor/random.h"

using namespace gan;
using gan::testing::tiny_model_config;

namespace {

Image random_image(int width, int height, uint64_t seed) {
  Rng rng(seed);
  Image im;
  im.width = width, im.height = height, im.channels = 3;
  im.pixels.resize(size_t(width) * height * 3);
  for (float& v : im.pixels) v = rng.uniform();
  return im;
}

struct SmallModel {
  Ganomaly model;
  SmallModel() : model(tiny_model_config(), Recipe::of(RecipeName::paper), 3) {
    Rng rng(8);
    std::vector<float> pixels(6 * 3 * 32 * 32);
    for (float& v : pixels) v = rng.uniform(-1.0f, 1.0f);
    model.fit_residuals(Tensor::from_vector(Shape{6, 3, 32, 32}, pixels), 4);
  }
};

}  // namespace

TEST_CASE("tile_starts: every stride, then one tile flush with the end") {
  CHECK(tile_starts(100, 32, 32) == std::vector<int>{0, 32, 64, 68});
  CHECK(tile_starts(64, 32, 32) == std::vector<int>{0, 32});
  CHECK(tile_starts(32, 32, 8) == std::vector<int>{0});
  CHECK(tile_starts(40, 32, 16) == std::vector<int>{0, 8});
  CHECK(tile_starts(5, 1, 1) == std::vector<int>{0, 1, 2, 3, 4});
  CHECK(tile_starts(50, 24, 10) == std::vector<int>{0, 10, 20, 26});
  CHECK_THROWS_AS(tile_starts(10, 11, 1), Error);
}

TEST_CASE("check_tiling: a tile of at least 1 pixel, a stride from 1 to the tile") {
  CHECK_NOTHROW(check_tiling(1, 1));
  CHECK_NOTHROW(check_tiling(64, 64));
  // The library names the fields (the apps show --tile and --stride: test_names).
  CHECK_THROWS_WITH_AS(check_tiling(0, 1), "tile: expected a tile side of at least 1 pixel, got 0", OptionError);
  CHECK_THROWS_WITH_AS(check_tiling(8, 0), "stride: expected at least 1 pixel, got 0", OptionError);
  CHECK_THROWS_WITH_AS(check_tiling(8, 9), doctest::Contains("leaves pixels that no tile sees"), OptionError);
}

TEST_CASE("crop_image copies the pixels of the rectangle") {
  const Image im = random_image(7, 5, 1);
  const Image c = crop_image(im, 2, 1, 4, 3);
  REQUIRE(c.width == 4);
  REQUIRE(c.height == 3);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 4; ++x)
      for (int ch = 0; ch < 3; ++ch) CHECK(c.at(x, y, ch) == im.at(x + 2, y + 1, ch));
  CHECK_THROWS_AS(crop_image(im, 4, 0, 4, 3), Error);
}

TEST_CASE("score_tiled: the largest tile score and the stitched map, as a naive loop over the tiles gives them") {
  SmallModel m;
  Calibration c;
  c.score = Score::residual_nn;
  const int width = 50, height = 41, tile = 24;
  const Image image = random_image(width, height, 2);
  const TiledScore tiled = score_tiled(m.model, c, image, tile, 10, FeatureScore::skip, true);

  // By hand: tiles at x = 0, 10, 20, 26 and y = 0, 10, 17 (the last flush with the edge).
  float best = -std::numeric_limits<float>::infinity();
  int best_x = -1, best_y = -1;
  std::vector<float> stitched(size_t(width) * height, -std::numeric_limits<float>::infinity());
  for (int y : {0, 10, 17})
    for (int x : {0, 10, 20, 26}) {
      Image crop;
      crop.width = crop.height = tile, crop.channels = 3;
      for (int ty = 0; ty < tile; ++ty)
        for (int tx = 0; tx < tile; ++tx)
          for (int ch = 0; ch < 3; ++ch) crop.pixels.push_back(image.at(x + tx, y + ty, ch));
      const ScoredMaps one = score_with_maps(m.model, c, model_inputs(m.model, {crop}), FeatureScore::skip);
      const float score = one.scores.residual_nn.at(0);
      if (score > best) best = score, best_x = x, best_y = y;
      const std::vector<float> map = resize_map(one.map(0), 32, 32, tile, tile);
      for (int ty = 0; ty < tile; ++ty)
        for (int tx = 0; tx < tile; ++tx) {
          float& v = stitched[size_t(y + ty) * width + x + tx];
          v = std::max(v, map[size_t(ty) * tile + tx]);
        }
    }
  CHECK(tiled.tiles == 12);
  CHECK(tiled.part.score == Score::residual_nn);
  CHECK(*std::max_element(tiled.map.begin(), tiled.map.end()) == tiled.verdict.raw);  // the map's peak is the score
  CHECK(tiled.scores.size() == 1);
  CHECK(tiled.scores.residual_nn.at(0) == doctest::Approx(best).epsilon(1e-5));
  CHECK(tiled.worst_x == best_x);
  CHECK(tiled.worst_y == best_y);
  REQUIRE(tiled.map.size() == stitched.size());
  for (size_t p = 0; p < stitched.size(); ++p) {
    REQUIRE(std::isfinite(tiled.map[p]));  // every pixel covered
    CHECK(tiled.map[p] == doctest::Approx(stitched[p]).epsilon(1e-5));
  }
  // Without the map: the same scores.
  const TiledScore plain = score_tiled(m.model, c, image, tile, 10, FeatureScore::skip, false);
  CHECK(plain.map.empty());
  CHECK(plain.scores.residual_nn == tiled.scores.residual_nn);
}

TEST_CASE("score_tiled: one tile the image's size is the whole image scored") {
  SmallModel m;
  Calibration c;
  c.score = Score::residual_nn;
  const Image image = random_image(40, 40, 3);
  const TiledScore tiled = score_tiled(m.model, c, image, 40, 40, FeatureScore::skip, true);
  const ScoredMaps whole = score_with_maps(m.model, c, model_inputs(m.model, {image}), FeatureScore::skip);
  CHECK(tiled.tiles == 1);
  CHECK(tiled.scores.residual_nn.at(0) == doctest::Approx(whole.scores.residual_nn.at(0)).epsilon(1e-6));
  CHECK(tiled.map.size() == 1600u);
}

TEST_CASE("score_tiled refuses a tile larger than the image and more than kMaxTiles tiles") {
  SmallModel m;
  Calibration c;
  c.score = Score::residual_nn;
  CHECK_THROWS_WITH_AS(score_tiled(m.model, c, random_image(30, 50, 4), 40, 40, FeatureScore::skip, true),
                       "the image is 30x50, smaller than tile 40", FieldError);
  CHECK_THROWS_WITH_AS(score_tiled(m.model, c, random_image(200, 60, 5), 1, 1, FeatureScore::skip, true),
                       "tile 1 stride 1 cut the image (200x60) into 12000 tiles, more than 10000: choose a larger tile "
                       "or stride", FieldError);
}
