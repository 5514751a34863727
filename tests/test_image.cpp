// Image decoding, channel conversion, the pixel limit, resizing and masks.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "ganomaly/data/image.h"
#include "tensor/check.h"
#include "support/run_app.h"

namespace fs = std::filesystem;
using namespace gan;

using gan::testing::TempDir;

namespace {


void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// A PNG written by hand (stored, uncompressed deflate), for what stb_image_write cannot
// produce: 16-bit samples and palettes.
uint32_t crc32(const std::string& s) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}
std::string be32(uint32_t v) {
  return {char(v >> 24), char((v >> 16) & 255), char((v >> 8) & 255), char(v & 255)};
}
std::string chunk(const std::string& type, const std::string& data) {
  return be32(uint32_t(data.size())) + type + data + be32(crc32(type + data));
}
std::string png(int w, int h, int bit_depth, int colour_type, const std::string& raw_rows,
                const std::string& plte = "") {
  std::string ihdr = be32(w) + be32(h) + char(bit_depth) + char(colour_type) + std::string(3, '\0');
  std::string z = "\x78\x01";
  uint32_t a = 1, b = 0;
  for (unsigned char c : raw_rows) a = (a + c) % 65521, b = (b + a) % 65521;
  for (size_t pos = 0; pos < raw_rows.size() || pos == 0; pos += 65535) {
    size_t n = std::min<size_t>(65535, raw_rows.size() - pos);
    bool last = pos + n >= raw_rows.size();
    z += char(last ? 1 : 0);
    z += char(n & 255), z += char(n >> 8), z += char(~n & 255), z += char((~n >> 8) & 255);
    z += raw_rows.substr(pos, n);
    if (last) break;
  }
  z += be32((b << 16) | a);
  std::string out = "\x89PNG\r\n\x1a\n" + chunk("IHDR", ihdr);
  if (!plte.empty()) out += chunk("PLTE", plte);
  return out + chunk("IDAT", z) + chunk("IEND", "");
}

// A BMP header that claims width x height (24-bit) with no pixels behind it.
std::string bmp_header(int32_t w, int32_t h) {
  auto le32 = [](uint32_t v) { return std::string{char(v & 255), char((v >> 8) & 255), char((v >> 16) & 255), char(v >> 24)}; };
  auto le16 = [](uint16_t v) { return std::string{char(v & 255), char(v >> 8)}; };
  return "BM" + le32(54) + le32(0) + le32(54) + le32(40) + le32(w) + le32(h) + le16(1) + le16(24) + le32(0) +
         le32(0) + le32(2835) + le32(2835) + le32(0) + le32(0);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const gan::Error& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("image: grey, RGB and RGBA PNGs convert to the asked channels") {
  TempDir dir("channels");
  const uint8_t grey[4] = {0, 85, 170, 255};
  write_png(dir / "grey.png", 2, 2, 1, grey);
  Image g3 = load_image(dir / "grey.png", 3);
  CHECK(g3.channels == 3);
  CHECK(g3.at(1, 0, 0) == doctest::Approx(85 / 255.0));
  CHECK(g3.at(1, 0, 2) == doctest::Approx(85 / 255.0));  // replicated

  const uint8_t rgba[8] = {255, 0, 0, 10, 0, 0, 255, 200};
  write_png(dir / "rgba.png", 2, 1, 4, rgba);
  Image c3 = load_image(dir / "rgba.png", 3);
  CHECK(c3.at(0, 0, 0) == doctest::Approx(1.0));
  CHECK(c3.at(1, 0, 2) == doctest::Approx(1.0));  // alpha dropped, not premultiplied
  Image c1 = load_image(dir / "rgba.png", 1);
  CHECK(c1.at(0, 0, 0) == doctest::Approx(0.299).epsilon(1e-4));  // ITU-R 601 luma
  CHECK(c1.at(1, 0, 0) == doctest::Approx(0.114).epsilon(1e-4));

  const uint8_t grey_alpha[4] = {100, 0, 200, 255};
  write_png(dir / "ga.png", 2, 1, 2, grey_alpha);
  Image ga = load_image(dir / "ga.png", 3);
  CHECK(ga.at(0, 0, 1) == doctest::Approx(100 / 255.0));
  CHECK(ga.at(1, 0, 1) == doctest::Approx(200 / 255.0));
}

TEST_CASE("image: 16-bit and palette PNGs") {
  TempDir dir("png16");
  // Grey 16-bit, 2x1: 1000 and 65535. 8 bits would round 1000 to 4/255.
  std::string rows = std::string(1, '\0') + "\x03\xE8" + "\xFF\xFF";
  write_bytes(dir / "g16.png", png(2, 1, 16, 0, rows));
  CHECK(probe_image(dir / "g16.png").is_16bit);
  Image g = load_image(dir / "g16.png", 1);
  CHECK(g.at(0, 0, 0) == doctest::Approx(1000 / 65535.0).epsilon(1e-6));
  CHECK(g.at(1, 0, 0) == doctest::Approx(1.0));

  // RGB 16-bit, 1x1.
  write_bytes(dir / "rgb16.png", png(1, 1, 16, 2, std::string("\0\xFF\xFF\x80\x00\x00\x10", 7)));
  Image c = load_image(dir / "rgb16.png", 3);
  CHECK(c.at(0, 0, 1) == doctest::Approx(32768 / 65535.0).epsilon(1e-6));
  CHECK(c.at(0, 0, 2) == doctest::Approx(16 / 65535.0).epsilon(1e-3));

  // Palette, 2x1: indices 1 and 0.
  write_bytes(dir / "pal.png", png(2, 1, 8, 3, std::string("\0\x01\x00", 3), std::string("\x0A\x14\x1E\xC8\x64\x32", 6)));
  Image p = load_image(dir / "pal.png", 3);
  CHECK(p.at(0, 0, 0) == doctest::Approx(200 / 255.0));
  CHECK(p.at(0, 0, 2) == doctest::Approx(50 / 255.0));
  CHECK(p.at(1, 0, 1) == doctest::Approx(20 / 255.0));
}

TEST_CASE("image: BMP and JPG round trips") {
  TempDir dir("formats");
  std::vector<uint8_t> pixels(16 * 16 * 3);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = uint8_t(i % 3 == 0 ? 200 : 60);
  write_image(dir / "a.bmp", 16, 16, 3, pixels.data());
  Image b = load_image(dir / "a.bmp", 3);
  CHECK(b.at(5, 7, 0) == doctest::Approx(200 / 255.0));
  write_image(dir / "a.JPG", 16, 16, 3, pixels.data());
  Image j = load_image(dir / "a.JPG", 3);
  CHECK(std::abs(j.at(5, 7, 0) - 200 / 255.0) < 0.05);
  CHECK(contains(error_of([&] { write_image(dir / "a.gif", 16, 16, 3, pixels.data()); }), "a.gif"));
}

TEST_CASE("image: bad files give one line naming the file") {
  TempDir dir("bad");
  std::string e = error_of([&] { load_image(dir / "missing.png", 3); });
  CHECK(contains(e, "missing.png"));
  CHECK(contains(e, "not found"));

  write_bytes(dir / "empty.png", "");
  e = error_of([&] { load_image(dir / "empty.png", 3); });
  CHECK(contains(e, "empty.png"));
  CHECK(contains(e, "0 bytes"));

  write_bytes(dir / "text.png", "this is not an image at all");
  e = error_of([&] { load_image(dir / "text.png", 3); });
  CHECK(contains(e, "text.png"));
  CHECK(contains(e, "not a readable image"));

  std::vector<uint8_t> noise(64 * 64 * 3);
  for (size_t i = 0; i < noise.size(); ++i) noise[i] = uint8_t((i * 2654435761u) >> 24);
  write_png(dir / "full.png", 64, 64, 3, noise.data());
  std::ifstream in(dir / "full.png", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  write_bytes(dir / "truncated.png", bytes.substr(0, bytes.size() / 2));
  e = error_of([&] { load_image(dir / "truncated.png", 3); });
  CHECK(contains(e, "truncated.png"));
  CHECK(e.find('\n') == std::string::npos);

  CHECK(contains(error_of([&] { load_image(dir.path.string(), 3); }), "directory"));
  CHECK(contains(error_of([&] { load_image(dir / "full.png", 2); }), "1 or 3"));
}

TEST_CASE("image: only PNG, JPEG and BMP files reach the decoder") {
  TempDir dir("formats");
  // stb would decode these (or, for the PNM header, overflow an int parsing its width:
  // found by fuzz_image, tests/fuzz/corpus/image/crash-pnm-width-overflow.pgm).
  const std::pair<const char*, std::string> others[] = {
      {"huge_width.pgm", "P5" + std::string(67, '5') + " \n"},
      {"small.pgm", std::string("P5 2 2 255\n\x01\x02\x03\x04", 15)},
      {"small.gif", std::string("GIF89a\x01\x00\x01\x00\x00\x00\x00;", 14)},
      {"psd.png", std::string("8BPS\x00\x01", 6)},
      {"radiance.hdr", "#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 1 +X 1\n\x01\x01\x01\x80"},
      {"tga.bmp", std::string("\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x01\x00\x18\x00\x10\x20\x30", 21)},
  };
  for (const auto& other : others) {  // not a structured binding: clang 14 cannot capture one
    const std::string name = other.first, bytes = other.second;
    CAPTURE(name);
    write_bytes(dir / name, bytes);
    const std::string e = error_of([&] { load_image(dir / name, 3); });
    CHECK(e == "image: " + (dir / name) + ": not a readable image (not a PNG, JPEG or BMP file)");
  }
  // The three formats still load, whatever their file name says.
  const uint8_t px[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  for (const char* name : {"a.png", "b.bmp", "c.jpg"}) {
    write_image(dir / name, 2, 2, 3, px);
    fs::rename(dir / name, dir / (std::string(name) + ".data"));
    CHECK_NOTHROW(load_image(dir / (std::string(name) + ".data"), 3));
  }
}

TEST_CASE("image: a PNG chunk that claims more bytes than the file has is refused before stb allocates for it") {
  TempDir dir("chunk");
  // A 2x2 PNG whose IDAT says 1 GiB (stb would grow its buffer to that first; found by
  // fuzz_image, tests/fuzz/corpus/image/oom-png-idat-length.png).
  std::string png("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x02\x00\x00\x00\x02\x08\x02\x00\x00\x00"
                  "\x00\x00\x00\x00" "\x40\x00\x00\x00IDATxx", 43);
  write_bytes(dir / "claims.png", png);
  CHECK(error_of([&] { load_image(dir / "claims.png", 3); }) ==
        "image: " + (dir / "claims.png") +
            ": truncated or corrupt PNG: the IDAT chunk at byte 33 says 1073741824 bytes, but only 0 are left");
}

TEST_CASE("image: a JPEG scan that uses a Huffman table no DHT defined is refused before stb decodes it") {
  // stb reads such a table uninitialised and indexes out of bounds (found by fuzz_image).
  const std::string seed = std::string(GANOMALY_SOURCE_DIR) + "/tests/fuzz/corpus/image/crash-jpeg-undefined-huffman-table.jpg";
  CHECK(error_of([&] { load_image(seed, 3); }) ==
        "image: " + seed + ": corrupt JPEG: a scan uses a Huffman table that was never defined");
  // A well-formed JPEG, whose scans use only the tables it defines, still loads.
  CHECK_NOTHROW(load_image(std::string(GANOMALY_SOURCE_DIR) + "/tests/fuzz/corpus/image/tiny.jpg", 3));
}

TEST_CASE("image: the pixel limit refuses a huge header before decoding") {
  TempDir dir("limit");
  // 30000 x 30000 RGB would be 2.7 GB decoded; the file is 54 bytes.
  write_bytes(dir / "huge.bmp", bmp_header(30000, 30000));
  ImageInfo info = probe_image(dir / "huge.bmp");
  CHECK(info.width == 30000);
  std::string e = error_of([&] { load_image(dir / "huge.bmp", 3); });
  CHECK(contains(e, "huge.bmp"));
  CHECK(contains(e, "30000x30000"));
  CHECK(contains(e, "exceeds the limit"));

  std::vector<uint8_t> px(40 * 40, 128);
  write_png(dir / "small.png", 40, 40, 1, px.data());
  CHECK(contains(error_of([&] { load_image(dir / "small.png", 1, 1000); }), "exceeds the limit of 1000"));
  CHECK_NOTHROW(load_image(dir / "small.png", 1, 1600));
}

TEST_CASE("image: a sound PNG larger than the decoder's limit is reported by its header's size") {
  // Every chunk is sound, so only the size is wrong: stb's stbi_info refuses it (more than
  // 2^30 bytes of samples) and then says "unknown image type", the pixel limit unasked.
  TempDir dir("png_limit");
  write_bytes(dir / "big.png", png(20000, 20000, 8, 2, std::string(4, '\0')));
  CHECK(error_of([&] { load_image(dir / "big.png", 3); }) ==
        "image: " + (dir / "big.png") + ": 20000x20000 = 400000000 pixels exceeds the limit of 100000000 pixels (max_pixels)");
  CHECK(error_of([&] { load_image(dir / "big.png", 3, 1000000000); }) ==
        "image: " + (dir / "big.png") +
            ": the header says 20000x20000 (3 samples per pixel), more than the decoder's limit of 2^30 bytes");
}

TEST_CASE("image: an RLE-compressed BMP says its encoding is not supported") {
  TempDir dir("rle");
  // A 2x2 8-bit BMP with a grey palette and RLE8 data (compression 1), which stb cannot read.
  auto le32 = [](uint32_t v) { return std::string{char(v & 255), char((v >> 8) & 255), char((v >> 16) & 255), char(v >> 24)}; };
  auto le16 = [](uint16_t v) { return std::string{char(v & 255), char(v >> 8)}; };
  std::string palette;
  for (int i = 0; i < 256; ++i) palette += std::string(3, char(i)) + '\0';
  const std::string rle("\x02\x01\x00\x00\x02\x01\x00\x01", 8);  // two runs of 2, end of line, end of bitmap
  const uint32_t offset = 14 + 40 + uint32_t(palette.size());
  for (uint32_t compression : {1u, 2u}) {
    const std::string bmp = "BM" + le32(offset + uint32_t(rle.size())) + le32(0) + le32(offset) + le32(40) + le32(2) +
                            le32(2) + le16(1) + le16(compression == 1 ? 8 : 4) + le32(compression) +
                            le32(uint32_t(rle.size())) + le32(2835) + le32(2835) + le32(256) + le32(0) + palette + rle;
    write_bytes(dir / "rle.bmp", bmp);
    CHECK(error_of([&] { load_image(dir / "rle.bmp", 3); }) ==
          "image: " + (dir / "rle.bmp") + ": BMP compression " + std::to_string(compression) +
              (compression == 1 ? " (RLE8)" : " (RLE4)") +
              " is not supported (only uncompressed BMP); save it uncompressed or as PNG");
  }
}

TEST_CASE("resize: identity, constants, antialiased shrink") {
  Image img;
  img.width = 7;
  img.height = 5;
  img.channels = 3;
  img.pixels.resize(7 * 5 * 3);
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = float((i * 37) % 101) / 100.0f;
  Image same = resize_image(img, 7, 5);
  CHECK(same.pixels == img.pixels);

  Image flat = img;
  std::fill(flat.pixels.begin(), flat.pixels.end(), 0.3f);
  for (auto [w, h] : {std::pair{3, 2}, {13, 11}, {7, 1}, {50, 3}}) {
    Image r = resize_image(flat, w, h);
    REQUIRE(r.pixels.size() == size_t(w * h * 3));
    for (float v : r.pixels) CHECK(v == doctest::Approx(0.3f).epsilon(1e-5));
  }

  // A 1-pixel checkerboard shrunk 4x: an antialiased filter averages it to grey; a
  // plain 2-tap bilinear would alias to a pattern of near-0/near-1 values.
  Image check;
  check.width = check.height = 64;
  check.channels = 1;
  check.pixels.resize(64 * 64);
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 64; ++x) check.at(x, y, 0) = float((x + y) % 2);
  Image small = resize_image(check, 16, 16);
  for (float v : small.pixels) CHECK(std::abs(v - 0.5f) < 0.05f);
  // Odd ratio too.
  Image odd = resize_image(check, 13, 9);
  for (float v : odd.pixels) CHECK(std::abs(v - 0.5f) < 0.1f);

  // Enlarging interpolates between neighbours: 2 -> 4 gives PIL's 0, .25, .75, 1.
  Image ramp;
  ramp.width = 2;
  ramp.height = 1;
  ramp.channels = 1;
  ramp.pixels = {0.0f, 1.0f};
  Image up = resize_image(ramp, 4, 1);
  CHECK(up.pixels[0] == doctest::Approx(0.0));
  CHECK(up.pixels[1] == doctest::Approx(0.25));
  CHECK(up.pixels[2] == doctest::Approx(0.75));
  CHECK(up.pixels[3] == doctest::Approx(1.0));
}

TEST_CASE("masks: binary, size-checked, resized") {
  TempDir dir("mask");
  std::vector<uint8_t> m(8 * 6, 0);
  for (int y = 2; y < 6; ++y)
    for (int x = 4; x < 8; ++x) m[y * 8 + x] = 255;
  m[0] = 100;  // below half: not anomalous
  write_png(dir / "m_mask.png", 8, 6, 1, m.data());
  auto mask = load_mask(dir / "m_mask.png", 8, 6);
  CHECK(mask[0] == 0);
  CHECK(mask[2 * 8 + 4] == 1);
  int ones = 0;
  for (auto v : mask) ones += v;
  CHECK(ones == 16);

  std::string e = error_of([&] { load_mask(dir / "m_mask.png", 16, 12, "image.png"); });
  CHECK(contains(e, "m_mask.png"));
  CHECK(contains(e, "image.png"));
  CHECK(contains(e, "8x6"));
  CHECK(contains(e, "16x12"));

  auto up = resize_mask(mask, 8, 6, 16, 12);
  ones = 0;
  for (auto v : up) ones += v;
  CHECK(ones == 64);
  CHECK(resize_mask(mask, 8, 6, 8, 6) == mask);
}
