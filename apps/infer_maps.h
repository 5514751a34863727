#pragma once
// ganomaly_infer's anomaly maps and tiles: --maps DIR, --tile N, --stride S (README,
// "Where is the defect: anomaly maps"). With either, each image is decoded at full
// resolution and scored on its own, and its map is computed at that resolution.
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <cxxopts.hpp>
#include <nlohmann/json.hpp>

#include "app_common.h"
#include "ganomaly/data/image.h"
#include "ganomaly/eval/tiling.h"
#include "ganomaly/report/map_files.h"

namespace gan::app {

struct MapOptions {
  std::string dir;  // --maps: where the PNGs go; empty: none written
  int tile = 0;     // --tile: 0 scores the whole image
  int stride = 0;   // --stride: defaults to the tile
  bool any() const { return !dir.empty() || tile > 0; }
};

inline void add_map_options(cxxopts::Options& options) {
  options.add_options()
    ("maps", "write, per image, DIR/<name>_map.png (the anomaly map at the image's size in the deciding "
             "score's units, its peak the image's score; 16-bit grey: map value = sample / 100 - 100) and "
             "DIR/<name>_overlay.png (the map over the image, the region at or above the decision threshold "
             "outlined: anomalous images only); --json adds the peak and the area", cxxopts::value<std::string>())
    ("tile", "score N x N tiles of the full-resolution image, each resized to the model's size; the image's "
             "score is the largest tile score, its map the tiles' maps stitched (largest value per pixel)",
     cxxopts::value<int>())
    ("stride", "pixels from one tile to the next (default: --tile; at most --tile); the last row and column "
               "of tiles sit flush with the image's edges", cxxopts::value<int>());
}

// Checked here, before any model is loaded; the folder is made later (make_output_dir).
inline MapOptions read_map_options(const cxxopts::ParseResult& args) {
  MapOptions m;
  if (args.count("maps")) {
    m.dir = args["maps"].as<std::string>();
    if (m.dir.empty()) throw UsageError("--maps: expected a folder, got ''");
  }
  if (args.count("stride") && !args.count("tile")) throw UsageError("--stride: needs --tile (see --help)");
  if (args.count("tile")) {
    m.tile = args["tile"].as<int>();
    m.stride = args.count("stride") ? args["stride"].as<int>() : m.tile;
    check_tiling(m.tile, m.stride);  // an OptionError: a usage error, named by the flags
  }
  return m;
}

// A --maps folder that holds input images (a folder named, or an image's own folder)
// would have its maps scored as images by the next run over the same inputs.
inline void check_maps_outside_inputs(const MapOptions& m, const std::vector<std::string>& inputs) {
  namespace fs = std::filesystem;
  if (m.dir.empty()) return;
  for (const std::string& in : inputs) {
    std::error_code ec;
    const fs::path folder = fs::is_directory(in, ec) ? fs::path(in) : fs::path(in).parent_path();
    if (fs::equivalent(m.dir, folder.empty() ? fs::path(".") : folder, ec))
      throw UsageError(str("--maps: ", m.dir, " holds the input images (", in,
                           "); maps written there would be scored as images by the next run: choose another folder"));
  }
}

// One image's scores and its anomaly map at the image's own size (its peak verdict.raw).
struct MappedImage {
  Scores scores;
  Verdict verdict;
  MapPart part;
  std::vector<float> map;
  nlohmann::json tiles;  // null unless tiled
};

inline MappedImage score_mapped(Ganomaly& model, const Calibration& c, const Image& image, const MapOptions& m,
                                FeatureScore feature) {
  MappedImage r;
  if (m.tile > 0) {
    TiledScore t = score_tiled(model, c, image, m.tile, m.stride, feature, /*with_map=*/true);
    r.scores = std::move(t.scores);
    r.verdict = t.verdict;
    r.part = t.part;
    r.map = std::move(t.map);
    r.tiles = {{"count", t.tiles}, {"size", m.tile}, {"stride", m.stride},
               {"worst", {{"x", t.worst_x}, {"y", t.worst_y}}}};
    return r;
  }
  const ScoredMaps s = score_with_maps(model, c, model_inputs(model, {image}), feature);
  r.scores = s.scores;
  r.verdict = s.verdicts.at(0);
  r.part = s.part;
  r.map = resize_map(s.map(0), static_cast<int>(s.width), static_cast<int>(s.height), image.width,
                              image.height);
  return r;
}

// The map's part of an image's JSON line: its units (the deciding score), the residual
// map that gives its shape and how steeply, its peak in the image's pixels, the decision
// threshold and the area at or above it, and the files written.
inline nlohmann::json map_json(const MappedImage& r, const Image& image, const Calibration& c, const MapFiles* files) {
  const MapSummary s = summarise_map(r.map.data(), image.width, image.height, c.threshold);
  nlohmann::json j = {{"score", c.score},
                      {"part", r.part.score},
                      {"slope", r.part.slope},
                      {"peak", {{"x", s.peak_x}, {"y", s.peak_y}, {"value", s.peak}}},
                      {"threshold", c.threshold},
                      {"area_pixels", s.area_pixels},
                      {"area_fraction", s.area_fraction},
                      {"width", image.width},
                      {"height", image.height}};
  if (files) {
    j["file"] = files->map;
    j["overlay"] = files->overlay;
  }
  return j;
}

}  // namespace gan::app
