#pragma once
// Tiled scoring (ganomaly_infer's tiles of N pixels every S): an image read at full resolution,
// cut into N x N tiles every S pixels, each tile resized to the model's size and scored as
// a whole image would be. The image's score is the largest tile score of the calibrated
// score, so the verdict is "some tile is anomalous"; the anomaly map is stitched at full
// resolution, each pixel the largest of the maps of the tiles that cover it (a defect
// seen at a tile's edge in one tile and whole in the next keeps its stronger value).
//
// The model still sees each tile as it saw whole training images: a model trained on
// whole images resized judges tiles at another scale unless it was trained on tiles.
#include <string>
#include <vector>

#include "ganomaly/eval/anomaly_map.h"

namespace gan {

// At most this many tiles per image: each is a forward pass.
constexpr size_t kMaxTiles = 10000;

// The tile side and the stride: tile >= 1 and 1 <= stride <= tile (a stride beyond the
// tile would leave pixels that no tile sees). Throws OptionError naming "tile" or "stride".
void check_tiling(int tile, int stride);

// Where tiles start along one side of `length` pixels: 0, stride, 2 stride, ... while a
// tile ends before the side does, then one tile flush with the end, so every pixel is
// covered. Needs 1 <= tile <= length.
std::vector<int> tile_starts(int length, int tile, int stride);

struct TiledScore {
  Scores scores;         // one image: every score of the tile whose calibrated score is the largest
  Verdict verdict;       // that tile's: the image's
  size_t tiles = 0;
  int worst_x = 0, worst_y = 0;  // that tile's top-left corner, in the image's pixels
  MapPart part;            // the tiles' (map_part_of)
  std::vector<float> map;  // image.width x image.height, stitched; its peak verdict.raw; empty unless asked for
};

// `image` in the model's channels, [0, 1]. An image narrower or lower than the tile, or
// one cut into more than kMaxTiles tiles, is a FieldError saying so.
TiledScore score_tiled(Ganomaly& model, const Calibration& calibration, const Image& image, int tile, int stride,
                       FeatureScore feature, bool with_map);

// A tile of an image: the tile x tile pixels from (x, y).
Image crop_image(const Image& image, int x, int y, int width, int height);

}  // namespace gan
