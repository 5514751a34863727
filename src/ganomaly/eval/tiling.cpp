#include "ganomaly/eval/tiling.h"

#include <algorithm>
#include <limits>

namespace gan {

namespace {

constexpr size_t kTileBatch = 32;

// The tile's map (tile x tile) into the image's map at (x, y), keeping the larger value.
void stitch(const std::vector<float>& tile_map, int tile, int x, int y, int width, std::vector<float>& map) {
  for (int ty = 0; ty < tile; ++ty) {
    float* row = map.data() + size_t(y + ty) * width + x;
    const float* from = tile_map.data() + size_t(ty) * tile;
    for (int tx = 0; tx < tile; ++tx) row[tx] = std::max(row[tx], from[tx]);
  }
}

}  // namespace

void check_tiling(int tile, int stride) {
  if (tile < 1) throw OptionError("tile", str("expected a tile side of at least 1 pixel, got ", tile));
  if (stride < 1) throw OptionError("stride", str("expected at least 1 pixel, got ", stride));
  if (stride > tile)
    throw OptionError("stride", {"expected at most ", field_ref("tile"), str(" (", tile, "), got ", stride,
                                                                            ": a stride larger than the tile leaves pixels that no tile sees")});
}

std::vector<int> tile_starts(int length, int tile, int stride) {
  check_tiling(tile, stride);
  GANOMALY_CHECK(tile <= length, "tile_starts: a tile of ", tile, " on a side of ", length);
  std::vector<int> starts;
  for (int s = 0; s + tile < length; s += stride) starts.push_back(s);
  starts.push_back(length - tile);  // flush with the end; never a repeat, the loop stopped before it
  return starts;
}

Image crop_image(const Image& image, int x, int y, int width, int height) {
  GANOMALY_CHECK(x >= 0 && y >= 0 && width > 0 && height > 0 && x + width <= image.width && y + height <= image.height,
                 "crop_image: ", width, "x", height, " at (", x, ", ", y, ") does not fit in ", image.width, "x",
                 image.height);
  Image out;
  out.width = width, out.height = height, out.channels = image.channels;
  out.pixels.resize(size_t(width) * height * image.channels);
  const size_t row = size_t(width) * image.channels;
  for (int r = 0; r < height; ++r)
    std::copy_n(&image.pixels[(size_t(y + r) * image.width + x) * image.channels], row, &out.pixels[r * row]);
  return out;
}

TiledScore score_tiled(Ganomaly& model, const Calibration& calibration, const Image& image, int tile, int stride,
                       FeatureScore feature, bool with_map) {
  check_tiling(tile, stride);
  if (tile > image.width || tile > image.height)
    throw FieldError("tile", {str("the image is ", image.width, "x", image.height, ", smaller than "), field_ref("tile"),
                              str(" ", tile)});
  const std::vector<int> xs = tile_starts(image.width, tile, stride), ys = tile_starts(image.height, tile, stride);
  TiledScore out;
  out.tiles = xs.size() * ys.size();
  if (out.tiles > kMaxTiles)
    throw FieldError("tile", {field_ref("tile"), str(" ", tile, " "), field_ref("stride"),
                              str(" ", stride, " cut the image (", image.width, "x", image.height, ") into ", out.tiles,
                                  " tiles, more than ", kMaxTiles, ": choose a larger tile or stride")});
  out.part = map_part_of(calibration, model);
  if (with_map) out.map.assign(size_t(image.width) * image.height, -std::numeric_limits<float>::infinity());
  float best = 0;
  for (size_t b0 = 0; b0 < out.tiles; b0 += kTileBatch) {
    const size_t count = std::min(kTileBatch, out.tiles - b0);
    std::vector<Image> tiles;
    for (size_t k = b0; k < b0 + count; ++k) tiles.push_back(crop_image(image, xs[k % xs.size()], ys[k / xs.size()], tile, tile));
    const Tensor inputs = model_inputs(model, tiles);
    ScoredMaps batch;
    if (with_map) {
      batch = score_with_maps(model, calibration, inputs, feature);
    } else {
      Decided decided = score_and_decide(model, calibration, inputs, feature);
      batch.scores = std::move(decided.scores);
      batch.verdicts = std::move(decided.verdicts);
    }
    for (size_t k = 0; k < count; ++k) {
      const int x = xs[(b0 + k) % xs.size()], y = ys[(b0 + k) / xs.size()];
      const Verdict& v = batch.verdicts[k];
      if (b0 + k == 0 || v.raw > best) {  // the first tile wins ties, in row order
        best = v.raw;
        out.verdict = v;
        out.scores = batch.scores.image(k);
        out.worst_x = x, out.worst_y = y;
      }
      if (with_map) {
        const int w = static_cast<int>(batch.width), h = static_cast<int>(batch.height);
        stitch(resize_map(batch.map(k), w, h, tile, tile), tile, x, y, image.width, out.map);
      }
    }
  }
  return out;
}

}  // namespace gan
