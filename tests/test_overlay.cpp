// The anomaly map's files: the 16-bit PNG writer (read back with stb_image's 16-bit
// loader), the map's fixed encoding, the overlay, and the per-image file names.
#include <doctest/doctest.h>

#include <stb/stb_image.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ganomaly/report/map_files.h"
#include "ganomaly/report/overlay.h"
#include "ganomaly/report/png16.h"
#include "support/run_app.h"
#include "tensor/random.h"

using namespace gan;

namespace {

struct Grey16 {
  int width = 0, height = 0, channels = 0;
  std::vector<uint16_t> samples;
};

Grey16 read_png16(const std::string& bytes) {
  Grey16 g;
  const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  REQUIRE(stbi_is_16_bit_from_memory(data, static_cast<int>(bytes.size())) == 1);
  std::unique_ptr<stbi_us, void (*)(void*)> raw(
      stbi_load_16_from_memory(data, static_cast<int>(bytes.size()), &g.width, &g.height, &g.channels, 0),
      stbi_image_free);
  REQUIRE(raw != nullptr);
  g.samples.assign(raw.get(), raw.get() + size_t(g.width) * g.height * g.channels);
  return g;
}

Image flat_image(int width, int height, float value) {
  Image im;
  im.width = width, im.height = height, im.channels = 3;
  im.pixels.assign(size_t(width) * height * 3, value);
  return im;
}

}  // namespace

TEST_CASE("png_crc32 is PNG's CRC-32") {
  const std::string check = "123456789", iend = "IEND";
  CHECK(png_crc32(reinterpret_cast<const uint8_t*>(check.data()), check.size()) == 0xCBF43926u);
  CHECK(png_crc32(reinterpret_cast<const uint8_t*>(iend.data()), iend.size()) == 0xAE426082u);
}

TEST_CASE("16-bit grey PNGs read back sample for sample with stbi_load_16") {
  Rng rng(9);
  for (auto [w, h] : {std::pair{1, 1}, std::pair{7, 5}, std::pair{300, 2}, std::pair{2, 130}, std::pair{64, 64}}) {
    CAPTURE(w);
    CAPTURE(h);
    std::vector<uint16_t> samples(size_t(w) * h);
    for (size_t i = 0; i < samples.size(); ++i)  // extremes, smooth ramps and noise: every filter gets used
      samples[i] = i % 5 == 0 ? 65535 : i % 7 == 0 ? 0 : i % 3 == 0 ? uint16_t(i * 37) : uint16_t(rng.next_u64());
    const Grey16 back = read_png16(encode_png_grey16(w, h, samples.data(), {{"Comment", "a test"}}));
    CHECK(back.width == w);
    CHECK(back.height == h);
    CHECK(back.channels == 1);
    CHECK(back.samples == samples);
  }
  CHECK_THROWS_AS(encode_png_grey16(0, 3, nullptr), Error);
  const uint16_t one = 1;
  CHECK_THROWS_AS(encode_png_grey16(1, 1, &one, {{"", "no keyword"}}), Error);
}

TEST_CASE("the map encoding: value = round((m + 100) * 100), clamped; decoding inverts it to 0.005") {
  CHECK(encode_map_value(0.0f) == 10000);
  CHECK(encode_map_value(-100.0f) == 0);
  CHECK(encode_map_value(-250.0f) == 0);
  CHECK(encode_map_value(555.35f) == 65535);
  CHECK(encode_map_value(1e9f) == 65535);
  CHECK(encode_map_value(3.14159f) == 10314);
  CHECK(decode_map_value(10314) == doctest::Approx(3.14));
  for (float m : {-99.9f, -3.217f, 0.0f, 0.004f, 2.5f, 17.126f, 500.0f})
    CHECK(std::fabs(decode_map_value(encode_map_value(m)) - m) <= 0.005f + 1e-4f);
  // The whole map through the PNG file.
  const std::vector<float> map = {-1.5f, 0.0f, 2.25f, 7.777f, -0.01f, 40.0f};
  const Grey16 back = read_png16(encode_map_png(map.data(), 3, 2, "residual_nn"));
  REQUIRE(back.samples.size() == map.size());
  for (size_t i = 0; i < map.size(); ++i) CHECK(decode_map_value(back.samples[i]) == doctest::Approx(map[i]).epsilon(0.002));
}

TEST_CASE("the overlay: the image where the map is low, heat where it is high, the region above the threshold outlined") {
  const int w = 20, h = 10;
  const Image image = flat_image(w, h, 0.5f);
  std::vector<float> map(size_t(w) * h, -1.0f);
  for (int y = 3; y <= 6; ++y)
    for (int x = 8; x <= 13; ++x) map[size_t(y) * w + x] = 10.0f;  // a 6x4 region above the threshold 4
  const std::vector<uint8_t> rgb = render_overlay(image, map.data(), 4.0f);
  REQUIRE(rgb.size() == size_t(w) * h * 3);
  auto px = [&](int x, int y) { return std::vector<int>(rgb.begin() + (y * w + x) * 3, rgb.begin() + (y * w + x) * 3 + 3); };
  CHECK(px(0, 0) == std::vector<int>{128, 128, 128});  // below 0: the image untouched
  CHECK(px(8, 3) == std::vector<int>{0, 255, 0});      // the region's border: the outline
  CHECK(px(13, 6) == std::vector<int>{0, 255, 0});
  CHECK(px(10, 4) != std::vector<int>{0, 255, 0});     // inside, one pixel in: heat, not outline
  CHECK(px(10, 4) != std::vector<int>{128, 128, 128});
  CHECK(px(7, 3) == std::vector<int>{128, 128, 128});  // just outside the region
  // No threshold (the raw map of an old model): no outline, colours scaled by the peak.
  const std::vector<uint8_t> plain = render_overlay(image, map.data(), std::numeric_limits<float>::infinity());
  for (size_t p = 0; p < plain.size(); p += 3) CHECK_FALSE((plain[p] == 0 && plain[p + 1] == 255 && plain[p + 2] == 0));
  // The PNG is 8-bit RGB of the image's size.
  const std::string png = encode_overlay_png(image, map.data(), 4.0f);
  int pw = 0, ph = 0, pc = 0;
  REQUIRE(stbi_info_from_memory(reinterpret_cast<const stbi_uc*>(png.data()), int(png.size()), &pw, &ph, &pc));
  CHECK(pw == w);
  CHECK(ph == h);
  CHECK(pc == 3);
}

TEST_CASE("map file names: the stem, parent folders where stems collide, numbers where nothing else tells") {
  CHECK(map_file_names({"a/b/000.png", "a/b/001.png"}) == std::vector<std::string>{"000", "001"});
  CHECK(map_file_names({"d/test/good/000.png", "d/test/crack/000.png", "d/test/crack/001.png"}) ==
        std::vector<std::string>{"good_000", "crack_000", "001"});
  CHECK(map_file_names({"x/a/s/000.png", "y/a/s/000.png"}) == std::vector<std::string>{"x_a_s_000", "y_a_s_000"});
  CHECK(map_file_names({"f/a.png", "f/a.bmp", "f/a.png"}) == std::vector<std::string>{"f_a", "f_a_2", "f_a_3"});
  CHECK(map_file_names({"../up/000.png", "./000.bmp"}) == std::vector<std::string>{"up_000", "000"});
  CHECK(map_file_names({"good_000.png", "good/000.png", "crack/000.png"}) ==
        std::vector<std::string>{"good_000", "good_000_2", "crack_000"});
}

TEST_CASE("write_map_files writes the map and the overlay whole, and nothing else") {
  testing::TempDir dir("overlay_files");
  const Image image = flat_image(5, 4, 0.25f);
  std::vector<float> map(20, 0.0f);
  map[7] = 9.0f;
  const MapFiles f = write_map_files(dir.path.string(), "crack_000", image, map.data(), 3.0f, "residual_nn");
  CHECK(f.map == dir / "crack_000_map.png");
  CHECK(f.overlay == dir / "crack_000_overlay.png");
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path)) files += e.is_regular_file();
  CHECK(files == 2);
  const Grey16 back = read_png16(testing::read_file(f.map));
  CHECK(back.width == 5);
  CHECK(decode_map_value(back.samples[7]) == doctest::Approx(9.0));
  CHECK_THROWS_AS(write_map_files(dir / "missing_folder", "x", image, map.data(), 3.0f, "residual_nn"), Error);
}
