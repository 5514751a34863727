#include "ganomaly/data/image.h"

#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

#include "ganomaly/io/atomic_file.h"
#include "tensor/check.h"

namespace gan {
namespace fs = std::filesystem;

namespace {

// Missing and empty files get their own message: stb would only say "can't fopen" or
// "unknown image type", which sends people looking in the wrong place.
void check_file(const std::string& path) {
  std::error_code ec;
  auto status = fs::status(path, ec);
  if (!fs::exists(status) && fs::is_symlink(fs::symlink_status(path, ec)))
    throw Error(str("image: ", path, ": a symbolic link to ", fs::read_symlink(path, ec).string(), ", which does not exist"));
  GANOMALY_CHECK(fs::exists(status), "image: ", path, ": file not found");
  GANOMALY_CHECK(!fs::is_directory(status), "image: ", path, ": is a directory, not an image");
  auto bytes = fs::file_size(path, ec);
  GANOMALY_CHECK(!ec, "image: ", path, ": cannot read file size (", ec.message(), ")");
  GANOMALY_CHECK(bytes > 0, "image: ", path, ": file is empty (0 bytes)");
}

std::string failure() {
  const char* reason = stbi_failure_reason();
  return reason ? reason : "unknown reason";
}

// 601 luma, the weights PIL's convert("L") uses.
inline float luma(float r, float g, float b) { return 0.299f * r + 0.587f * g + 0.114f * b; }

// Per output pixel: the first input index and the normalised weights of the inputs it
// reads. PIL's algorithm: the triangle's support is 1 input pixel when enlarging and
// `scale` input pixels when shrinking, which is what makes the shrink antialiased.
struct Taps {
  std::vector<int> first, count;
  std::vector<float> weights;  // count[i] weights from offset i * stride
  int stride = 0;
};

Taps make_taps(int in_size, int out_size) {
  const double scale = double(in_size) / out_size;
  const double filter_scale = std::max(scale, 1.0);
  const double support = 1.0 * filter_scale;  // triangle has radius 1
  Taps taps;
  taps.stride = int(std::ceil(support)) * 2 + 1;
  taps.first.resize(out_size);
  taps.count.resize(out_size);
  taps.weights.assign(size_t(out_size) * taps.stride, 0.0f);
  for (int i = 0; i < out_size; ++i) {
    const double center = (i + 0.5) * scale;
    int lo = std::max(int(center - support + 0.5), 0);
    int hi = std::min(int(center + support + 0.5), in_size);
    hi = std::min(hi, lo + taps.stride);
    double total = 0;
    std::vector<double> w(size_t(hi - lo));
    for (int x = lo; x < hi; ++x) {
      double t = std::abs((x - center + 0.5) / filter_scale);
      w[x - lo] = t < 1.0 ? 1.0 - t : 0.0;
      total += w[x - lo];
    }
    taps.first[i] = lo;
    taps.count[i] = hi - lo;
    for (int k = 0; k < hi - lo; ++k)
      taps.weights[size_t(i) * taps.stride + k] = float(total > 0 ? w[k] / total : 0.0);
  }
  return taps;
}

// A header can claim any size: stb then allocates for it and, for BMP, fills what the
// file lacks with zeros, so a 70-byte file "decodes" as a 10000x10000 black image.
// Refuse files far too short for their header before decoding: an uncompressed BMP
// needs every row; a PNG cannot compress its filtered rows better than deflate's
// 1032:1. (JPEG has no useful bound: a progressive scan can skip whole bands.)
void check_plausible_size(const std::string& path) {
  std::error_code ec;
  const uintmax_t bytes = fs::file_size(path, ec);
  if (ec) return;  // check_file already passed; stb will report a read failure itself
  unsigned char h[64] = {0};
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!f) return;
  const size_t got = std::fread(h, 1, sizeof h, f.get());
  auto u16 = [&](size_t at) { return uint32_t(h[at]) | uint32_t(h[at + 1]) << 8; };
  auto u32le = [&](size_t at) { return u16(at) | u16(at + 2) << 16; };
  auto u32be = [&](size_t at) {
    return uint32_t(h[at]) << 24 | uint32_t(h[at + 1]) << 16 | uint32_t(h[at + 2]) << 8 | uint32_t(h[at + 3]);
  };
  if (got >= 30 && h[0] == 'B' && h[1] == 'M') {
    const uint32_t offset = u32le(10), dib = u32le(14);
    if (dib < 40 || got < 34) return;  // OS/2 headers: leave them to stb
    const int64_t width = int32_t(u32le(18)), height = int32_t(u32le(22));
    const uint32_t bpp = u16(28), compression = u32le(30);
    if (compression != 0 && compression != 3) return;  // RLE and others: no fixed size
    if (width <= 0 || height == 0 || bpp == 0 || bpp > 32) return;  // stb refuses these itself
    const uint64_t row = (uint64_t(width) * bpp + 31) / 32 * 4;
    const uint64_t need = uint64_t(offset) + row * uint64_t(height < 0 ? -height : height);
    GANOMALY_CHECK(bytes >= need, "image: ", path, ": truncated BMP: the header says ", width, "x",
                   (height < 0 ? -height : height), " at ", bpp, " bits per pixel, which needs ", need,
                   " bytes, but the file has ", bytes);
  } else if (got >= 26 && std::memcmp(h, "\x89PNG\r\n\x1a\n", 8) == 0 && std::memcmp(h + 12, "IHDR", 4) == 0) {
    const uint64_t width = u32be(16), height = u32be(20);
    const uint32_t depth = h[24], type = h[25];
    const uint32_t samples = type == 0 ? 1 : type == 2 ? 3 : type == 3 ? 1 : type == 4 ? 2 : type == 6 ? 4 : 0;
    if (samples == 0 || depth == 0 || depth > 16 || width == 0 || height == 0) return;
    const uint64_t raw = height * (1 + (width * samples * depth + 7) / 8);  // filtered rows
    GANOMALY_CHECK(uint64_t(bytes) * 1032 + 4096 >= raw, "image: ", path, ": truncated or corrupt PNG: the header says ",
                   width, "x", height, ", which cannot fit in ", bytes, " bytes");
  }
}

// stb grows its IDAT buffer to a chunk's declared length before reading it, so a tiny
// PNG whose chunk claims a gigabyte costs a gigabyte (found by fuzz_image). A chunk
// never runs past the end of a sound file: walk the chunk headers and refuse one that does.
void check_png_chunks(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!f) return;
  unsigned char h[8];
  if (std::fread(h, 1, 8, f.get()) != 8 || std::memcmp(h, "\x89PNG\r\n\x1a\n", 8) != 0) return;
  std::error_code ec;
  const uint64_t bytes = fs::file_size(path, ec);
  if (ec) return;
  for (uint64_t pos = 8; pos + 8 <= bytes;) {
    if (std::fread(h, 1, 8, f.get()) != 8) return;
    const uint64_t length = uint64_t(h[0]) << 24 | uint64_t(h[1]) << 16 | uint64_t(h[2]) << 8 | h[3];
    const std::string type(reinterpret_cast<const char*>(h + 4), 4);
    const bool printable = std::all_of(type.begin(), type.end(), [](char c) { return std::isalpha(uint8_t(c)); });
    GANOMALY_CHECK(pos + 12 + length <= bytes, "image: ", path, ": truncated or corrupt PNG: ",
                   printable ? "the " + type + " chunk" : std::string("a chunk"), " at byte ", pos, " says ",
                   length, " bytes, but only ", bytes >= pos + 12 ? bytes - pos - 12 : 0, " are left");
    if (type == "IEND") return;
    pos += 12 + length;
    if (std::fseek(f.get(), long(pos), SEEK_SET) != 0) return;
  }
}

// stb_image 2.27 trusts a JPEG Huffman table's 16 code counts: their sum can reach
// 16 * 255, and stbi__build_huffman then writes that many bytes into 257-byte arrays
// (a heap overflow found by tests/fuzz/fuzz_image.cpp). The JPEG standard allows at
// most 256 codes per table, so refuse any DHT segment stb could reach that declares
// more. The walk follows stb's: marker segments are skipped by their length (their
// payload is never parsed as markers), and everything else (entropy-coded data, junk)
// is scanned byte by byte for 0xFF followed by a marker, which finds every DHT stb
// would read and maybe more, never fewer.
void check_jpeg_huffman_tables(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!f) return;
  // stb takes any file that starts with 0xFF, then fill bytes 0xFF, then SOI (0xD8).
  const int first = std::fgetc(f.get());
  if (first != 0xFF) return;
  std::vector<unsigned char> b(1, 0xFF);
  unsigned char chunk[65536];
  for (size_t got; (got = std::fread(chunk, 1, sizeof chunk, f.get())) > 0;) b.insert(b.end(), chunk, chunk + got);
  const size_t n = b.size();
  // stb's decoder struct is not zeroed: a scan that uses a DC or AC table no DHT defined
  // reads uninitialised tables and indexes out of bounds (found by fuzz_image). Refuse it.
  bool defined[2][4] = {};
  size_t pos = 0;
  while (pos + 1 < n) {
    if (b[pos] != 0xFF) {  // entropy-coded data or junk
      ++pos;
      continue;
    }
    const unsigned m = b[pos + 1];
    if (m == 0xFF) {  // fill byte
      ++pos;
      continue;
    }
    if (m == 0x00 || m == 0x01 || (m >= 0xD0 && m <= 0xD9)) {  // stuffing, TEM, RSTn, SOI, EOI: no length
      pos += 2;
      continue;
    }
    if (pos + 4 > n) return;
    const size_t length = size_t(b[pos + 2]) << 8 | b[pos + 3];
    if (m == 0xDA && pos + 5 < n) {  // SOS: every Huffman table it will use must exist by now
      const size_t components = b[pos + 4], selectors = pos + 5, after = selectors + 2 * components;
      if (after + 1 < n) {
        const unsigned spectral_start = b[after], spectral_end = b[after + 1];
        for (size_t c = 0; c < components; ++c) {
          const unsigned dc = b[selectors + 2 * c + 1] >> 4, ac = b[selectors + 2 * c + 1] & 15;
          const bool needs_dc = spectral_start == 0, needs_ac = spectral_end > 0;
          GANOMALY_CHECK(!(needs_dc && dc < 4 && !defined[0][dc]) && !(needs_ac && ac < 4 && !defined[1][ac]), "image: ",
                         path, ": corrupt JPEG: a scan uses a Huffman table that was never defined");
        }
      }
    }
    if (m == 0xC4) {  // DHT: tables of 1 + 16 count bytes + sum(counts) values
      size_t p = pos + 4, left = length >= 2 ? length - 2 : 0;
      while (left > 0 && p < n) {
        const unsigned table_class = b[p] >> 4, table_id = b[p] & 15;
        if (table_class < 2 && table_id < 4) defined[table_class][table_id] = true;
        size_t codes = 0;
        for (size_t i = 1; i <= 16; ++i) codes += p + i < n ? b[p + i] : 0;
        GANOMALY_CHECK(codes <= 256, "image: ", path, ": corrupt JPEG: a Huffman table declares ", codes,
                       " codes, at most 256 are allowed");
        if (left < 17 + codes) break;  // stb stops here ("bad DHT")
        left -= 17 + codes;
        p += 17 + codes;
      }
    }
    pos += 2 + length;  // SOS included: its entropy-coded data follows and is scanned above
  }
}

// stb_image also decodes GIF, PSD, PIC, PNM, HDR and TGA, and tries them on any file it
// does not recognise. We read PNG, JPEG and BMP only, so the others are attack surface
// for nothing (fuzz_image found a signed overflow in stb's PNM header parser). Each of
// the three has a magic that stb itself requires: the PNG signature, 0xFF (the JPEG
// SOI marker, maybe after fill bytes) and "BM"; every other decoder wants its own.
void check_known_format(const std::string& path) {
  unsigned char h[8] = {0};
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), std::fclose);
  GANOMALY_CHECK(f, "image: ", path, ": cannot open (", std::strerror(errno), ")");
  const size_t got = std::fread(h, 1, sizeof h, f.get());
  const bool png = got == 8 && std::memcmp(h, "\x89PNG\r\n\x1a\n", 8) == 0;
  const bool jpeg = got >= 1 && h[0] == 0xFF;
  const bool bmp = got >= 2 && h[0] == 'B' && h[1] == 'M';
  GANOMALY_CHECK(png || jpeg || bmp, "image: ", path, ": not a readable image (not a PNG, JPEG or BMP file)");
}

// The size a PNG (IHDR) or BMP (BITMAPINFOHEADER or later) header claims, and a PNG's
// samples per pixel, read without stb: stb refuses a PNG over 2^30 bytes of samples in
// stbi_info already, and then tries every other format, so its reason ends up "unknown
// image type", and --max-pixels is never consulted.
struct HeaderSize {
  uint64_t width = 0, height = 0;
  uint32_t samples = 0;        // PNG only; 0 for BMP
  uint32_t bmp_compression = 0;
  bool png = false, bmp = false;
};

HeaderSize read_header_size(const std::string& path) {
  HeaderSize r;
  unsigned char h[34] = {0};
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!f) return r;
  const size_t got = std::fread(h, 1, sizeof h, f.get());
  auto u32le = [&](size_t at) { return uint32_t(h[at]) | uint32_t(h[at + 1]) << 8 | uint32_t(h[at + 2]) << 16 | uint32_t(h[at + 3]) << 24; };
  auto u32be = [&](size_t at) { return uint32_t(h[at]) << 24 | uint32_t(h[at + 1]) << 16 | uint32_t(h[at + 2]) << 8 | uint32_t(h[at + 3]); };
  if (got >= 26 && std::memcmp(h, "\x89PNG\r\n\x1a\n", 8) == 0 && std::memcmp(h + 12, "IHDR", 4) == 0) {
    r.png = true;
    r.width = u32be(16), r.height = u32be(20);
    const uint32_t type = h[25];
    r.samples = type == 0 ? 1 : type == 2 ? 3 : type == 3 ? 1 : type == 4 ? 2 : type == 6 ? 4 : 0;
  } else if (got >= 34 && h[0] == 'B' && h[1] == 'M' && u32le(14) >= 40) {
    r.bmp = true;
    const int64_t width = int32_t(u32le(18)), height = int32_t(u32le(22));
    r.width = width > 0 ? uint64_t(width) : 0;
    r.height = uint64_t(height < 0 ? -height : height);
    r.bmp_compression = u32le(30);
  }
  return r;
}

void check_pixel_limit(const std::string& path, uint64_t width, uint64_t height, size_t max_pixels) {
  const uint64_t pixels = width * height;
  if (pixels > max_pixels)
    throw FieldError("max_pixels", {str("image: ", path, ": ", width, "x", height, " = ", pixels,
                                        " pixels exceeds the limit of ", max_pixels, " pixels ("),
                                    field_ref("max_pixels"), ")"});
}

}  // namespace

ImageInfo probe_image(const std::string& path) {
  check_file(path);
  check_known_format(path);
  check_png_chunks(path);
  check_jpeg_huffman_tables(path);  // before stbi_info, which already reads DHT segments
  const HeaderSize header = read_header_size(path);
  // stb reads BI_RGB and BI_BITFIELDS only; say which encoding it is rather than "unknown image type".
  if (header.bmp && header.bmp_compression != 0 && header.bmp_compression != 3) {
    const uint32_t c = header.bmp_compression;
    const char* name = c == 1 ? "RLE8" : c == 2 ? "RLE4" : c == 4 ? "JPEG" : c == 5 ? "PNG" : "unknown";
    throw Error(str("image: ", path, ": BMP compression ", c, " (", name,
                    ") is not supported (only uncompressed BMP); save it uncompressed or as PNG"));
  }
  ImageInfo info;
  if (!stbi_info(path.c_str(), &info.width, &info.height, &info.channels)) {
    // stb decodes at most 2^30 bytes of 8-bit samples (stbi__png_info's check).
    if (header.png && header.samples > 0 && header.width > 0 &&
        header.height > (uint64_t(1) << 30) / header.width / header.samples)
      throw Error(str("image: ", path, ": the header says ", header.width, "x", header.height, " (", header.samples,
                      " samples per pixel), more than the decoder's limit of 2^30 bytes"));
    throw Error(str("image: ", path, ": not a readable image (", failure(), ")"));
  }
  info.is_16bit = stbi_is_16_bit(path.c_str()) != 0;
  return info;
}

Image load_image(const std::string& path, int channels, size_t max_pixels) {
  GANOMALY_CHECK(channels == 1 || channels == 3, "image: ", path, ": can convert to 1 or 3 channels, not ",
                 channels);
  check_file(path);
  check_known_format(path);
  // The header's size first: a PNG too large for stb must be reported against --max-pixels.
  const HeaderSize header = read_header_size(path);
  if (header.png || header.bmp) check_pixel_limit(path, header.width, header.height, max_pixels);
  ImageInfo info = probe_image(path);
  check_pixel_limit(path, uint64_t(info.width), uint64_t(info.height), max_pixels);  // JPEG, and what stb read
  check_plausible_size(path);

  // Decode with the stored channel count and convert ourselves: stb's own RGB->grey
  // rounds to 8 bits with integer weights, and it would drop the 16-bit precision.
  int w = 0, h = 0, stored = 0;
  std::vector<float> raw;
  if (info.is_16bit) {
    std::unique_ptr<stbi_us, void (*)(void*)> data(stbi_load_16(path.c_str(), &w, &h, &stored, 0),
                                                   stbi_image_free);
    if (!data) throw Error(str("image: ", path, ": cannot decode (", failure(), "); truncated or corrupt?"));
    raw.resize(size_t(w) * h * stored);
    for (size_t i = 0; i < raw.size(); ++i) raw[i] = data.get()[i] / 65535.0f;
  } else {
    std::unique_ptr<stbi_uc, void (*)(void*)> data(stbi_load(path.c_str(), &w, &h, &stored, 0),
                                                   stbi_image_free);
    if (!data) throw Error(str("image: ", path, ": cannot decode (", failure(), "); truncated or corrupt?"));
    raw.resize(size_t(w) * h * stored);
    for (size_t i = 0; i < raw.size(); ++i) raw[i] = data.get()[i] / 255.0f;
  }

  Image image;
  image.width = w;
  image.height = h;
  image.channels = channels;
  image.pixels.resize(size_t(w) * h * channels);
  const bool colour = stored >= 3;  // 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA
  for (size_t p = 0; p < size_t(w) * h; ++p) {
    const float* in = &raw[p * stored];
    float* out = &image.pixels[p * channels];
    if (channels == 1) {
      out[0] = colour ? luma(in[0], in[1], in[2]) : in[0];
    } else {
      for (int c = 0; c < 3; ++c) out[c] = colour ? in[c] : in[0];
    }
  }
  return image;
}

Image resize_image(const Image& src, int out_width, int out_height) {
  GANOMALY_CHECK(out_width > 0 && out_height > 0, "resize: bad target size ", out_width, "x", out_height);
  GANOMALY_CHECK(src.width > 0 && src.height > 0, "resize: empty source image");
  if (src.width == out_width && src.height == out_height) return src;
  const int C = src.channels;

  // Horizontal pass into [src.height, out_width], then vertical into the result.
  Taps tx = make_taps(src.width, out_width);
  std::vector<float> mid(size_t(src.height) * out_width * C);
  for (int y = 0; y < src.height; ++y)
    for (int x = 0; x < out_width; ++x) {
      const float* w = &tx.weights[size_t(x) * tx.stride];
      for (int c = 0; c < C; ++c) {
        float sum = 0;
        for (int k = 0; k < tx.count[x]; ++k) sum += w[k] * src.at(tx.first[x] + k, y, c);
        mid[(size_t(y) * out_width + x) * C + c] = sum;
      }
    }

  Taps ty = make_taps(src.height, out_height);
  Image out;
  out.width = out_width;
  out.height = out_height;
  out.channels = C;
  out.pixels.assign(size_t(out_width) * out_height * C, 0.0f);
  for (int y = 0; y < out_height; ++y) {
    const float* w = &ty.weights[size_t(y) * ty.stride];
    for (int k = 0; k < ty.count[y]; ++k) {
      const float* row = &mid[size_t(ty.first[y] + k) * out_width * C];
      float* dst = &out.pixels[size_t(y) * out_width * C];
      for (int i = 0; i < out_width * C; ++i) dst[i] += w[k] * row[i];
    }
  }
  return out;
}

std::vector<uint8_t> load_mask(const std::string& path, int expected_width, int expected_height,
                               const std::string& image_path, size_t max_pixels) {
  Image mask = load_image(path, 1, max_pixels);
  GANOMALY_CHECK(mask.width == expected_width && mask.height == expected_height, "mask: ", path, " is ",
                 mask.width, "x", mask.height, " but its image ",
                 image_path.empty() ? std::string("") : image_path + " ", "is ", expected_width, "x",
                 expected_height);
  std::vector<uint8_t> out(mask.pixels.size());
  // Masks are 0/255, but JPEG-ish noise or anti-aliased edges should not flip pixels.
  for (size_t i = 0; i < out.size(); ++i) out[i] = mask.pixels[i] > 0.5f ? 1 : 0;
  return out;
}

std::vector<uint8_t> resize_mask(const std::vector<uint8_t>& mask, int width, int height, int out_width,
                                 int out_height) {
  GANOMALY_CHECK(mask.size() == size_t(width) * height, "resize_mask: mask has ", mask.size(),
                 " values, expected ", width, "x", height);
  if (width == out_width && height == out_height) return mask;
  Image image;
  image.width = width;
  image.height = height;
  image.channels = 1;
  image.pixels.assign(mask.begin(), mask.end());
  Image resized = resize_image(image, out_width, out_height);
  std::vector<uint8_t> out(resized.pixels.size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = resized.pixels[i] >= 0.5f ? 1 : 0;
  return out;
}

std::vector<uint8_t> to_bytes(const Image& image) {
  std::vector<uint8_t> bytes(image.pixels.size());
  for (size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = uint8_t(std::lround(std::clamp(image.pixels[i], 0.0f, 1.0f) * 255.0f));
  return bytes;
}

namespace {

// stb's encoders write into memory through this, so the file itself goes through the
// one atomic writer.
void append_to(void* bytes, void* data, int size) {
  static_cast<std::string*>(bytes)->append(static_cast<const char*>(data), static_cast<size_t>(size));
}

// Whether the encoded bytes reached `path`; the callers keep their own one-line wording.
bool written(const std::string& path, int encoded, const std::string& bytes) {
  if (!encoded) return false;
  try {
    write_file_atomically(path, bytes);
    return true;
  } catch (const FileWriteError&) {
    return false;
  }
}

}  // namespace

void write_png(const std::string& path, int width, int height, int channels, const uint8_t* data) {
  GANOMALY_CHECK(channels >= 1 && channels <= 4, "write_png: ", path, ": bad channel count ", channels);
  std::string bytes;
  const int encoded = stbi_write_png_to_func(append_to, &bytes, width, height, channels, data, width * channels);
  GANOMALY_CHECK(written(path, encoded, bytes), "write_png: cannot write ", path);
}

void write_png(const std::string& path, const Image& image) {
  std::vector<uint8_t> bytes = to_bytes(image);
  write_png(path, image.width, image.height, image.channels, bytes.data());
}

void write_image(const std::string& path, int width, int height, int channels, const uint8_t* data) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  std::string bytes;
  int encoded = 0;
  if (ext == ".png") {
    encoded = stbi_write_png_to_func(append_to, &bytes, width, height, channels, data, width * channels);
  } else if (ext == ".bmp") {
    encoded = stbi_write_bmp_to_func(append_to, &bytes, width, height, channels, data);
  } else if (ext == ".jpg" || ext == ".jpeg") {
    encoded = stbi_write_jpg_to_func(append_to, &bytes, width, height, channels, data, 95);
  } else {
    throw Error(str("write_image: ", path, ": unknown extension (use .png, .bmp or .jpg)"));
  }
  GANOMALY_CHECK(written(path, encoded, bytes), "write_image: cannot write ", path);
}

}  // namespace gan
