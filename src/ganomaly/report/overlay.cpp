#include "ganomaly/report/overlay.h"

#include <algorithm>
#include <cmath>

#include "ganomaly/report/png16.h"
#include "ganomaly/report/report_internal.h"

namespace gan {

namespace {

constexpr float kMaxOpacity = 0.6f;
const uint8_t kOutline[3] = {0, 255, 0};

// The value t = 1 maps to: twice the threshold, or the map's largest value without one.
float colour_scale(const float* map, size_t pixels, float threshold) {
  if (std::isfinite(threshold) && threshold > 0) return 2.0f * threshold;
  float top = 0.0f;
  for (size_t p = 0; p < pixels; ++p)
    if (std::isfinite(map[p])) top = std::max(top, map[p]);
  return top;
}

// Pixels at or above the threshold (the decision's: a score at it is anomalous) with one
// that is not (or the image's edge) within `reach`.
std::vector<uint8_t> outline(const float* map, int width, int height, float threshold, int reach) {
  std::vector<uint8_t> inside(size_t(width) * height), edge(inside.size(), 0);
  for (size_t p = 0; p < inside.size(); ++p) inside[p] = map[p] >= threshold;
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      if (!inside[size_t(y) * width + x]) continue;
      bool near_outside = false;
      for (int dy = -reach; dy <= reach && !near_outside; ++dy)
        for (int dx = -reach; dx <= reach && !near_outside; ++dx) {
          const int nx = x + dx, ny = y + dy;
          near_outside = nx < 0 || ny < 0 || nx >= width || ny >= height || !inside[size_t(ny) * width + nx];
        }
      edge[size_t(y) * width + x] = near_outside;
    }
  return edge;
}

}  // namespace

uint16_t encode_map_value(float m) {
  if (std::isnan(m)) return 0;
  const double v = std::round((double(m) + kMapOffset) * kMapScale);
  return static_cast<uint16_t>(std::clamp(v, 0.0, 65535.0));
}

float decode_map_value(uint16_t value) { return static_cast<float>(value / double(kMapScale) - kMapOffset); }

std::string encode_map_png(const float* map, int width, int height, const std::string& map_score) {
  std::vector<uint16_t> samples(size_t(width) * height);
  for (size_t p = 0; p < samples.size(); ++p) samples[p] = encode_map_value(map[p]);
  return encode_png_grey16(width, height, samples.data(),
                           {{"Software", "ganomaly.cpp"},
                            {"Description", "anomaly map of the " + map_score +
                                                " score; map value = sample / 100 - 100 (16-bit samples 0..65535)"}});
}

std::vector<uint8_t> render_overlay(const Image& image, const float* map, float threshold) {
  GANOMALY_CHECK(image.width > 0 && image.height > 0 && (image.channels == 1 || image.channels == 3),
                 "overlay: bad image ", image.width, "x", image.height, "x", image.channels);
  const size_t pixels = size_t(image.width) * image.height;
  Image values;
  values.width = image.width, values.height = image.height, values.channels = 1;
  values.pixels.assign(map, map + pixels);
  const float scale = colour_scale(map, pixels, threshold);
  const Image heat = report_detail::heat_map(values, scale), base = report_detail::to_rgb(image);
  const int reach = std::max(1, std::min(image.width, image.height) / 256);
  const std::vector<uint8_t> edge = outline(map, image.width, image.height, threshold, reach);
  std::vector<uint8_t> out(pixels * 3);
  for (size_t p = 0; p < pixels; ++p) {
    const float t = scale > 0 && std::isfinite(map[p]) ? std::clamp(map[p] / scale, 0.0f, 1.0f) : 0.0f;
    const float opacity = kMaxOpacity * t;
    for (int c = 0; c < 3; ++c) {
      const float v = (1 - opacity) * std::clamp(base.pixels[p * 3 + c], 0.0f, 1.0f) + opacity * heat.pixels[p * 3 + c];
      out[p * 3 + c] = edge[p] ? kOutline[c] : static_cast<uint8_t>(std::lround(std::clamp(v, 0.0f, 1.0f) * 255.0f));
    }
  }
  return out;
}

std::string encode_overlay_png(const Image& image, const float* map, float threshold) {
  const std::vector<uint8_t> rgb = render_overlay(image, map, threshold);
  const std::vector<uint8_t> png = encode_png(image.width, image.height, 3, rgb.data());
  return std::string(png.begin(), png.end());
}

}  // namespace gan
