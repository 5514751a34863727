#pragma once
// The files ganomaly_infer --maps DIR writes per image: DIR/<name>_map.png (the anomaly
// map, 16-bit, overlay.h's encoding) and DIR/<name>_overlay.png, its region the map's
// values at or above the decision threshold.
#include <string>
#include <vector>

#include "ganomaly/data/image.h"

namespace gan {

// <name> for each input path: its stem; where stems collide (000.png in test/good and in
// test/crack), as many of its parent folders as tell them apart, joined by '_'
// ("good_000", "crack_000"); inputs that still collide (a.png and a.bmp in one folder,
// one file named twice) get "_2", "_3", ... in input order. Every name is distinct.
std::vector<std::string> map_file_names(const std::vector<std::string>& paths);

struct MapFiles {
  std::string map, overlay;  // the paths written
};
// Writes both files, each whole or not at all (a temporary file, then rename); `map` is
// image.width x image.height values in the units of the deciding score `score`, outlined
// at its threshold (eval/anomaly_map.h).
MapFiles write_map_files(const std::string& dir, const std::string& name, const Image& image, const float* map,
                         float threshold, const std::string& score);

}  // namespace gan
