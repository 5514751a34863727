#include "ganomaly/report/png16.h"

#include <array>
#include <climits>
#include <cstdlib>
#include <memory>

#include "tensor/check.h"

// Exported by libstb (and by cmake/stb_impl.c in builds from source), but declared in
// stb_image_write.h only inside its implementation part. Returns a zlib stream in memory
// from malloc, or NULL.
extern "C" unsigned char* stbi_zlib_compress(unsigned char* data, int data_len, int* out_len, int quality);

namespace gan {

namespace {

constexpr int kBytesPerPixel = 2;  // one 16-bit sample
constexpr int kZlibQuality = 8;    // stb_image_write's own PNG setting

void put_u32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xFF);
}

void put_chunk(std::string& out, const char* type, const std::string& data) {
  GANOMALY_CHECK(data.size() <= 0x7FFFFFFFu, "PNG: a chunk of ", data.size(), " bytes is too large");
  put_u32(out, static_cast<uint32_t>(data.size()));
  const std::string typed = std::string(type, 4) + data;
  out += typed;
  put_u32(out, png_crc32(reinterpret_cast<const uint8_t*>(typed.data()), typed.size()));
}

uint8_t paeth(int a, int b, int c) {
  const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  return static_cast<uint8_t>(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
}

// One row filtered each of PNG's five ways; the one whose bytes, read as signed, sum to
// the least in absolute value (the PNG specification's suggested heuristic) is kept.
void filter_row(const uint8_t* row, const uint8_t* above, size_t n, std::string& out) {
  std::array<std::string, 5> candidates;
  size_t best = 0;
  long best_cost = -1;
  for (int f = 0; f < 5; ++f) {
    std::string& c = candidates[f];
    c.resize(n + 1);
    c[0] = static_cast<char>(f);
    long cost = 0;
    for (size_t i = 0; i < n; ++i) {
      const int a = i >= kBytesPerPixel ? row[i - kBytesPerPixel] : 0, b = above ? above[i] : 0;
      const int upper_left = above && i >= kBytesPerPixel ? above[i - kBytesPerPixel] : 0;
      const int predicted = f == 0 ? 0 : f == 1 ? a : f == 2 ? b : f == 3 ? (a + b) / 2 : paeth(a, b, upper_left);
      const auto v = static_cast<uint8_t>(row[i] - predicted);
      c[i + 1] = static_cast<char>(v);
      cost += v < 128 ? v : 256 - v;
    }
    if (best_cost < 0 || cost < best_cost) best_cost = cost, best = f;
  }
  out += candidates[best];
}

}  // namespace

uint32_t png_crc32(const uint8_t* data, size_t size, uint32_t crc) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t n = 0; n < 256; ++n) {
      uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[n] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (size_t i = 0; i < size; ++i) crc = table[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

std::string encode_png_grey16(int width, int height, const uint16_t* samples,
                              const std::vector<std::pair<std::string, std::string>>& text) {
  GANOMALY_CHECK(width > 0 && height > 0, "PNG: bad size ", width, "x", height);
  const size_t row_bytes = size_t(width) * kBytesPerPixel;
  GANOMALY_CHECK((row_bytes + 1) * height < size_t(INT_MAX), "PNG: ", width, "x", height,
                 " 16-bit samples exceed the compressor's limit of 2 GiB");
  std::string filtered;
  filtered.reserve((row_bytes + 1) * height);
  std::vector<uint8_t> row(row_bytes), above(row_bytes);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {  // PNG samples are big-endian
      const uint16_t v = samples[size_t(y) * width + x];
      row[2 * x] = static_cast<uint8_t>(v >> 8);
      row[2 * x + 1] = static_cast<uint8_t>(v & 0xFF);
    }
    filter_row(row.data(), y ? above.data() : nullptr, row_bytes, filtered);
    row.swap(above);
  }
  int compressed_size = 0;
  std::unique_ptr<unsigned char, void (*)(void*)> compressed(
      stbi_zlib_compress(reinterpret_cast<unsigned char*>(filtered.data()), static_cast<int>(filtered.size()),
                         &compressed_size, kZlibQuality),
      std::free);
  GANOMALY_CHECK(compressed, "PNG: the zlib compressor failed (out of memory?)");

  std::string png("\x89PNG\r\n\x1a\n", 8);
  std::string header;
  put_u32(header, static_cast<uint32_t>(width));
  put_u32(header, static_cast<uint32_t>(height));
  header += std::string("\x10\x00\x00\x00\x00", 5);  // 16 bits, grey, deflate, adaptive filters, no interlace
  put_chunk(png, "IHDR", header);
  for (const auto& [keyword, value] : text) {
    GANOMALY_CHECK(!keyword.empty() && keyword.size() < 80 && keyword.find('\0') == std::string::npos,
                   "PNG: bad tEXt keyword '", keyword, "'");
    put_chunk(png, "tEXt", keyword + '\0' + value);
  }
  put_chunk(png, "IDAT", std::string(reinterpret_cast<const char*>(compressed.get()), size_t(compressed_size)));
  put_chunk(png, "IEND", "");
  return png;
}

}  // namespace gan
