// AUPRO against the naive reference (tools/aupro_reference.py, which wrote the golden
// cases: ties, several regions per image, images without defects, limits 0.3 and 1),
// and its region labelling and limits by hand.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "ganomaly/eval/aupro.h"
#include "tensor/check.h"

using namespace gan;

TEST_CASE("label_regions: 8-connected components, numbered in scan order") {
  // Two diagonal pixels touch (8-connectivity); a lone pixel and a bar are their own.
  const std::vector<uint8_t> mask = {1, 0, 0, 1,  //
                                     0, 1, 0, 0,  //
                                     0, 0, 0, 0,  //
                                     1, 1, 1, 0};
  std::vector<int32_t> labels(mask.size());
  CHECK(label_regions(mask.data(), 4, 4, labels.data()) == 3);
  CHECK(labels == std::vector<int32_t>{1, 0, 0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 3, 3, 3, 0});
}

TEST_CASE("aupro matches the naive reference on the golden cases") {
  std::ifstream in(GANOMALY_SOURCE_DIR "/tests/golden/aupro_cases.json");
  REQUIRE(in);
  const nlohmann::json golden = nlohmann::json::parse(in);
  REQUIRE(golden["cases"].size() >= 10);
  for (const auto& c : golden["cases"]) {
    const int h = c["height"], w = c["width"];
    std::vector<float> maps;
    std::vector<uint8_t> masks;
    for (const auto& m : c["maps"])
      for (double v : m) maps.push_back(static_cast<float>(v));
    for (const auto& m : c["masks"])
      for (int v : m) masks.push_back(static_cast<uint8_t>(v));
    const int64_t images = static_cast<int64_t>(c["maps"].size());
    CAPTURE(h);
    CAPTURE(w);
    CAPTURE(images);
    const double limit = c["limit"];
    CHECK(aupro(maps.data(), masks.data(), images, h, w, limit) == doctest::Approx(c["aupro"].get<double>()).epsilon(1e-9));
  }
}

TEST_CASE("aupro: a perfect map is 1, an inverted one 0, no region or no normal pixel is undefined") {
  // Two images of 4 x 4; one defect region each, of different sizes.
  std::vector<uint8_t> masks(32, 0);
  masks[0] = masks[1] = masks[4] = masks[5] = 1;  // a 2 x 2 square in image 0
  masks[16 + 15] = 1;                             // one pixel in image 1
  std::vector<float> perfect(32), inverted(32);
  for (size_t i = 0; i < masks.size(); ++i) {
    perfect[i] = masks[i] ? 1.0f + 0.01f * static_cast<float>(i) : 0.01f * static_cast<float>(i);
    inverted[i] = -perfect[i];
  }
  CHECK(aupro(perfect.data(), masks.data(), 2, 4, 4) == doctest::Approx(1.0));
  CHECK(aupro(inverted.data(), masks.data(), 2, 4, 4) == doctest::Approx(0.0));
  // Every pixel the same score: the curve jumps from (0, 0) to (1, 1); to 0.3 the
  // interpolated overlap is 0.3 and the area 0.045, so 0.15 after dividing by 0.3.
  const std::vector<float> flat(32, 0.5f);
  CHECK(aupro(flat.data(), masks.data(), 2, 4, 4) == doctest::Approx(0.15));
  // Each region counts once, whatever its size: the one-pixel region found first and the
  // square last gives overlap 1/2 from the start.
  std::vector<float> one_first(32, 0.0f);
  one_first[16 + 15] = 2.0f;
  for (int p : {0, 1, 4, 5}) one_first[p] = 1.0f;
  CHECK(aupro(one_first.data(), masks.data(), 2, 4, 4) == doctest::Approx(1.0));

  const std::vector<uint8_t> none(32, 0), all(32, 1);
  CHECK(std::isnan(aupro(flat.data(), none.data(), 2, 4, 4)));
  CHECK(std::isnan(aupro(flat.data(), all.data(), 2, 4, 4)));
}

TEST_CASE("aupro refuses non-finite maps and a limit outside (0, 1]") {
  std::vector<uint8_t> masks(4, 0);
  masks[0] = 1;
  std::vector<float> maps = {1, 0, 0, 0};
  CHECK_THROWS_WITH_AS(aupro(maps.data(), masks.data(), 1, 2, 2, 0.0), doctest::Contains("FPR limit"), Error);
  maps[2] = std::nanf("");
  CHECK_THROWS_WITH_AS(aupro(maps.data(), masks.data(), 1, 2, 2), doctest::Contains("not finite"), Error);
}
