#pragma once
// An anomaly map (eval/anomaly_map.h) as files: the map itself as a 16-bit grey PNG, and
// an overlay: the map as a heat map blended over the image, the region at or above the
// threshold (the decision's) outlined.
//
// The 16-bit encoding is fixed and reversible (README, "Where is the defect"):
//   value = clamp(round((m + 100) * 100), 0, 65535),  m = value / 100 - 100,
// so a map value m in [-100, 555.35] is kept to 0.01; beyond that range it saturates.
// The PNG's tEXt chunks say the same and name the map's score.
#include <cstdint>
#include <string>
#include <vector>

#include "ganomaly/data/image.h"

namespace gan {

constexpr float kMapOffset = 100.0f, kMapScale = 100.0f;
uint16_t encode_map_value(float m);
float decode_map_value(uint16_t value);

// The PNG file's bytes, width x height map values row-major.
std::string encode_map_png(const float* map, int width, int height, const std::string& map_score);

// The overlay, RGB bytes of the image's size: the image (grey or RGB, [0, 1]) with the
// map blended over it in the report's heat colours, opacity 0.6 x t where t = m / (2 x
// threshold) clamped to [0, 1] (the threshold sits at half the colour scale, and below 0
// the image shows untouched); with no finite positive threshold, t = m / the map's
// largest value. Pixels at or above the threshold that lie within max(1, min(w, h) / 256)
// pixels of one that is not form the outline, drawn in green.
std::vector<uint8_t> render_overlay(const Image& image, const float* map, float threshold);
std::string encode_overlay_png(const Image& image, const float* map, float threshold);

}  // namespace gan
