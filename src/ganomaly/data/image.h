#pragma once
// Image files in and out: decode (stb_image), convert channels, resize, write PNGs.
//
// Pixels are float in [0, 1], interleaved (HWC), row-major. Every error is a gan::Error
// with one line that names the file and what was wrong.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace gan {

// Refuse images above this many pixels before decoding them: a corrupt or hostile
// header must not make us allocate gigabytes.
constexpr size_t kDefaultMaxPixels = 100'000'000;

struct Image {
  int width = 0, height = 0, channels = 0;
  std::vector<float> pixels;  // height * width * channels, HWC

  float& at(int x, int y, int c) { return pixels[(size_t(y) * width + x) * channels + c]; }
  float at(int x, int y, int c) const { return pixels[(size_t(y) * width + x) * channels + c]; }
};

// What the header says, without decoding the pixels.
struct ImageInfo {
  int width = 0, height = 0, channels = 0;  // channels as stored (1..4)
  bool is_16bit = false;
};

// Reads only the header. Throws when the file is missing, empty or not an image.
ImageInfo probe_image(const std::string& path);

// Decodes PNG/JPG/BMP (8 or 16 bit; grey, grey+alpha, RGB, RGBA, palette) into
// `channels` (1 or 3) floats in [0, 1]. Grey->RGB replicates; RGB->grey uses ITU-R 601
// luma (0.299 R + 0.587 G + 0.114 B); alpha is dropped.
Image load_image(const std::string& path, int channels, size_t max_pixels = kDefaultMaxPixels);

// Separable triangle (bilinear) filter, antialiased when shrinking: the filter support
// grows with the scale factor, as in PIL's Image.resize(BILINEAR). Same size -> copy.
Image resize_image(const Image& src, int out_width, int out_height);

// A binary mask (1 = anomalous pixel, row-major, width*height) from a mask image, which
// must have the size of its image: `image_path` only makes the error name both files.
std::vector<uint8_t> load_mask(const std::string& path, int expected_width, int expected_height,
                               const std::string& image_path = "",
                               size_t max_pixels = kDefaultMaxPixels);

// Resizes a binary mask with the image filter and thresholds at 0.5, so a mask stays
// aligned with its image after the same resize.
std::vector<uint8_t> resize_mask(const std::vector<uint8_t>& mask, int width, int height,
                                 int out_width, int out_height);

// 8-bit writers. `data` is interleaved HWC with `channels` 1 (grey), 3 (RGB) or 4.
void write_png(const std::string& path, int width, int height, int channels, const uint8_t* data);
void write_png(const std::string& path, const Image& image);  // floats clamped to [0, 1]
// Picks PNG, BMP or JPG (quality 95) from the file extension.
void write_image(const std::string& path, int width, int height, int channels,
                 const uint8_t* data);

// float [0, 1] -> uint8 with rounding and clamping.
std::vector<uint8_t> to_bytes(const Image& image);

}  // namespace gan
