// Small helpers: base64, PNG in memory, un-normalising, heat maps, resizing.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include <stb/stb_image_write.h>

#include "ganomaly/io/json_text.h"
#include "ganomaly/report/report_internal.h"
#include "ganomaly/report/svg.h"

namespace gan {

std::string base64_encode(const std::vector<uint8_t>& bytes) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = (uint32_t(bytes[i]) << 16) | (uint32_t(bytes[i + 1]) << 8) | bytes[i + 2];
    out += table[v >> 18], out += table[(v >> 12) & 63], out += table[(v >> 6) & 63], out += table[v & 63];
  }
  if (i + 1 == bytes.size()) {
    const uint32_t v = uint32_t(bytes[i]) << 16;
    out += table[v >> 18], out += table[(v >> 12) & 63], out += "==";
  } else if (i + 2 == bytes.size()) {
    const uint32_t v = (uint32_t(bytes[i]) << 16) | (uint32_t(bytes[i + 1]) << 8);
    out += table[v >> 18], out += table[(v >> 12) & 63], out += table[(v >> 6) & 63], out += '=';
  }
  return out;
}

namespace {
void append_bytes(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<uint8_t>*>(context);
  const auto* p = static_cast<const uint8_t*>(data);
  out->insert(out->end(), p, p + size);
}
}  // namespace

std::vector<uint8_t> encode_png(int width, int height, int channels, const uint8_t* data) {
  GANOMALY_CHECK(width > 0 && height > 0 && (channels == 1 || channels == 3 || channels == 4),
                 "encode_png: bad image ", width, "x", height, "x", channels);
  std::vector<uint8_t> out;
  GANOMALY_CHECK(stbi_write_png_to_func(append_bytes, &out, width, height, channels, data, width * channels) != 0,
                 "encode_png: the PNG encoder failed");
  return out;
}

Image tensor_image(const Tensor& images, int64_t index, const std::string& normalization) {
  const int64_t c = images.size(1), h = images.size(2), w = images.size(3);
  GANOMALY_CHECK(index >= 0 && index < images.size(0), "tensor_image: index ", index, " out of range");
  GANOMALY_CHECK(normalization == "tanh" || normalization == "imagenet", "tensor_image: unknown normalization '",
                 normalization, "'");
  float mean[3] = {0.485f, 0.456f, 0.406f}, stdev[3] = {0.229f, 0.224f, 0.225f};
  if (c == 1) {
    mean[0] = (0.485f + 0.456f + 0.406f) / 3;
    stdev[0] = (0.229f + 0.224f + 0.225f) / 3;
  }
  Image out;
  out.width = static_cast<int>(w), out.height = static_cast<int>(h), out.channels = static_cast<int>(c);
  out.pixels.resize(h * w * c);
  const float* src = images.data() + index * c * h * w;
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) {
        const float v = src[(ch * h + y) * w + x];
        const float u = normalization == "tanh" ? (v + 1.0f) * 0.5f : v * stdev[ch] + mean[ch];
        out.pixels[(y * w + x) * c + ch] = std::clamp(std::isfinite(u) ? u : 0.0f, 0.0f, 1.0f);
      }
  return out;
}

namespace report_detail {

std::string fixed(double v, int digits) {
  if (!std::isfinite(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string percent(double share) {
  if (!std::isfinite(share)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100 * share);
  return buf;
}

std::string short_number(double v) {
  if (!std::isfinite(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

// Names that are not UTF-8 are written as json_safe_text writes them (\xNN), never as raw
// bytes, which would make the page invalid UTF-8.
std::string html(const std::string& s) { return svg::escape(json_safe_text(s)); }

Image to_rgb(const Image& im) {
  if (im.channels == 3) return im;
  Image out;
  out.width = im.width, out.height = im.height, out.channels = 3;
  out.pixels.resize(size_t(im.width) * im.height * 3);
  for (size_t i = 0; i < size_t(im.width) * im.height; ++i)
    for (int c = 0; c < 3; ++c) out.pixels[i * 3 + c] = im.pixels[i * im.channels];
  return out;
}

// |a - b| averaged over channels: one channel.
Image difference(const Image& a, const Image& b) {
  Image d;
  d.width = a.width, d.height = a.height, d.channels = 1;
  d.pixels.resize(size_t(a.width) * a.height);
  for (size_t i = 0; i < d.pixels.size(); ++i) {
    float s = 0;
    for (int c = 0; c < a.channels; ++c) s += std::fabs(a.pixels[i * a.channels + c] - b.pixels[i * b.channels + c]);
    d.pixels[i] = s / a.channels;
  }
  return d;
}

float max_of(const Image& im) {
  float m = 0;
  for (float v : im.pixels) m = std::max(m, v);
  return m;
}

// A one-channel map scaled by 1/scale into an inferno-like colour map, RGB.
Image heat_map(const Image& map, float scale) {
  static const float stops[5][3] = {{0, 0, 4}, {87, 16, 110}, {188, 55, 84}, {249, 142, 9}, {252, 255, 164}};
  Image out;
  out.width = map.width, out.height = map.height, out.channels = 3;
  out.pixels.resize(size_t(map.width) * map.height * 3);
  const float inv = scale > 1e-12f ? 1.0f / scale : 0.0f;
  for (size_t i = 0; i < map.pixels.size(); ++i) {
    const float t = std::clamp(map.pixels[i] * inv, 0.0f, 1.0f) * 4.0f;
    const int k = std::min(3, static_cast<int>(t));
    const float f = t - k;
    for (int c = 0; c < 3; ++c) out.pixels[i * 3 + c] = (stops[k][c] + (stops[k + 1][c] - stops[k][c]) * f) / 255.0f;
  }
  return out;
}

// Nearest-neighbour upscaling by an integer factor (crisp pixels for small images), else
// the antialiased resize.
Image fit(const Image& im, int side) {
  if (im.width == side && im.height == side) return im;
  if (side % im.width == 0 && side % im.height == 0 && side >= im.width) {
    Image out;
    out.width = side, out.height = side, out.channels = im.channels;
    out.pixels.resize(size_t(side) * side * im.channels);
    const int fx = side / im.width, fy = side / im.height;
    for (int y = 0; y < side; ++y)
      for (int x = 0; x < side; ++x)
        for (int c = 0; c < im.channels; ++c) out.at(x, y, c) = im.at(x / fx, y / fy, c);
    return out;
  }
  return resize_image(im, side, side);
}

std::string png_data_uri(const Image& im) {
  const std::vector<uint8_t> bytes = to_bytes(im);
  return "data:image/png;base64," + base64_encode(encode_png(im.width, im.height, im.channels, bytes.data()));
}

std::string inline_svg(std::string s) {
  const std::string ns = " xmlns=\"http://www.w3.org/2000/svg\"";
  for (size_t at; (at = s.find(ns)) != std::string::npos;) s.erase(at, ns.size());
  return s;
}

void write_binary(const std::string& path, const std::vector<uint8_t>& bytes) {
  write_file_atomically(path, std::string(bytes.begin(), bytes.end()));
}

}  // namespace report_detail
}  // namespace gan
