// ganomaly_infer --maps, --tile, --stride: the files written (read back: the 16-bit map
// against the JSON's peak and area), the scores (the same as without maps; tiles as the
// library's score_tiled), one threshold for the verdict and the outline (also moved, and
// on 1x1 and 7x7 images), the names of same-stem inputs, and the errors.
#include <doctest/doctest.h>

#include <stb/stb_image.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ganomaly/data/image.h"
#include "ganomaly/eval/tiling.h"
#include "ganomaly/io/model_file.h"
#include "ganomaly/report/overlay.h"
#include "support/run_app.h"
#include "tensor/number_text.h"

namespace fs = std::filesystem;
using namespace gan;
using gan::testing::run_app;

namespace {

struct Setup {
  testing::TinyRun run;
  std::string model, wide;  // wide: a 48x40 image, another size than the model's 32
  std::vector<std::string> test_folders;
};

const Setup& setup() {
  static const Setup s = [] {
    Setup r;
    r.run = testing::train_tiny_run("infer_maps");
    r.model = r.run.out + "/model.gnm";
    for (const auto& e : fs::directory_iterator(r.run.data + "/test")) r.test_folders.push_back(e.path().string());
    std::sort(r.test_folders.begin(), r.test_folders.end());
    const std::string first = r.test_folders.back() + "/000.png";
    REQUIRE(fs::exists(first));
    r.wide = testing::temp_dir("infer_maps_wide") + "/000.png";  // the same stem as the test images
    write_png(r.wide, resize_image(load_image(first, 3), 48, 40));
    return r;
  }();
  return s;
}

std::string q(const std::string& s) { return "'" + s + "'"; }

std::vector<nlohmann::json> json_lines(const std::string& output) {
  std::vector<nlohmann::json> out;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("{", 0) == 0) out.push_back(nlohmann::json::parse(line));
  return out;
}

struct Map16 {
  int width = 0, height = 0;
  std::vector<float> values;
};

Map16 read_map(const std::string& path) {
  Map16 m;
  int channels = 0;
  REQUIRE(stbi_is_16_bit(path.c_str()) == 1);
  std::unique_ptr<stbi_us, void (*)(void*)> raw(stbi_load_16(path.c_str(), &m.width, &m.height, &channels, 0),
                                                 stbi_image_free);
  REQUIRE(raw != nullptr);
  REQUIRE(channels == 1);
  for (size_t i = 0; i < size_t(m.width) * m.height; ++i) m.values.push_back(decode_map_value(raw.get()[i]));
  return m;
}

// The contract for a failing run: the exit code, one line naming `needle`.
void check_error(const testing::AppResult& r, int code, const std::string& needle) {
  INFO("output: <<<" << r.output << ">>>");
  CHECK(r.exit_code == code);
  CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
  CHECK(r.output.find(needle) != std::string::npos);
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
  REQUIRE(fs::exists(path));
}

size_t images_in(const std::vector<std::string>& folders) {
  size_t n = 0;
  for (const std::string& f : folders)
    for (const auto& e : fs::directory_iterator(f)) n += e.path().extension() == ".png";
  return n;
}

size_t files_in(const std::string& dir) {
  size_t n = 0;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec)) n += e.is_regular_file();
  return n;
}

}  // namespace

TEST_CASE("infer --maps: a 16-bit map and an overlay per image at its size; --json gives the peak and the area") {
  const Setup& s = setup();
  const std::string out = testing::temp_dir("infer_maps_out") + "/maps";
  std::string inputs;
  for (const std::string& f : s.test_folders) inputs += q(f) + " ";
  inputs += q(s.wide);
  const auto r = run_app("ganomaly_infer", q(s.model) + " " + inputs + " --json --threads 2 --maps " + q(out));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::vector<nlohmann::json> lines = json_lines(r.output);
  REQUIRE(lines.size() == images_in(s.test_folders) + 1);
  CHECK(files_in(out) == 2 * lines.size());  // distinct names for the many 000.png, nothing left over

  // The scores are those of the batched path without maps.
  const auto plain = run_app("ganomaly_infer", q(s.model) + " " + inputs + " --json --threads 2");
  REQUIRE(plain.exit_code == 0);
  std::map<std::string, float> raw;
  for (const auto& j : json_lines(plain.output)) raw[j["path"].get<std::string>()] = j["raw_score"].get<float>();

  for (const auto& j : lines) {
    CAPTURE(j.dump());
    const std::string path = j["path"].get<std::string>();
    CHECK(j["raw_score"].get<float>() == raw.at(path));
    const nlohmann::json& m = j["map"];
    CHECK(m["score"] == j["score_name"]);  // the map is in the deciding score's units
    CHECK(m["part"] == "residual_nn");
    const Map16 map = read_map(m["file"].get<std::string>());
    const ImageInfo info = probe_image(path);
    CHECK(map.width == info.width);
    CHECK(map.height == info.height);
    CHECK(m["width"] == info.width);
    // The peak: where the file's largest value is, to the encoding's 0.005.
    const float peak = m["peak"]["value"], threshold = m["threshold"];
    const int x = m["peak"]["x"], y = m["peak"]["y"];
    CHECK(std::fabs(map.values[size_t(y) * map.width + x] - peak) <= 0.0051f);
    CHECK(std::fabs(*std::max_element(map.values.begin(), map.values.end()) - peak) <= 0.0051f);
    // The peak at the image's size is the image's score; the threshold the decision's.
    CHECK(peak == j["raw_score"].get<float>());
    CHECK(threshold == j["threshold"].get<float>());
    // The area: the pixels at or above the threshold, to the encoding's step.
    const int64_t area = m["area_pixels"];
    CHECK((area > 0) == (j["verdict"] == "anomalous"));
    const auto above = [&](float t) { return std::count_if(map.values.begin(), map.values.end(), [t](float v) { return v >= t; }); };
    CHECK(area <= above(threshold - 0.0051f));
    CHECK(area >= above(threshold + 0.0051f));
    CHECK(m["area_fraction"].get<double>() == doctest::Approx(double(area) / (map.width * map.height)));
    int w = 0, h = 0, channels = 0;
    REQUIRE(stbi_info(m["overlay"].get<std::string>().c_str(), &w, &h, &channels));
    CHECK(w == info.width);
    CHECK(h == info.height);
    CHECK(channels == 3);
  }
  // Without --json: the lines of the plain text output, and the files again.
  const auto text = run_app("ganomaly_infer", q(s.model) + " " + q(s.wide) + " --threads 2 --maps " + q(out));
  CHECK(text.exit_code == 0);
  CHECK(text.output == run_app("ganomaly_infer", q(s.model) + " " + q(s.wide) + " --threads 2").output);
  CHECK(fs::exists(out + "/000_map.png"));
}

TEST_CASE("infer --maps: one threshold outlines the map and decides, moved or not, on images of any size") {
  const Setup& s = setup();
  // The test images, and one of them shrunk to 7x7 and to 1x1 (the map's peak is then
  // the score too, not a mean of the map).
  const std::string tiny = testing::temp_dir("infer_maps_tiny");
  const Image first = load_image(s.test_folders.back() + "/000.png", 3);
  write_png(tiny + "/seven.png", resize_image(first, 7, 7));
  write_png(tiny + "/one.png", resize_image(first, 1, 1));
  std::string inputs = q(tiny);
  for (const std::string& f : s.test_folders) inputs += " " + q(f);
  const auto plain = run_app("ganomaly_infer", q(s.model) + " " + inputs + " --json --threads 2");
  REQUIRE(plain.exit_code == 0);
  std::vector<float> raws;
  for (const auto& j : json_lines(plain.output)) raws.push_back(j["raw_score"].get<float>());
  std::sort(raws.begin(), raws.end());
  REQUIRE(raws.size() >= 4);
  // The calibrated threshold; raw thresholds at a score and between scores, so that some
  // images are flagged and some not; sensitivities that move it both ways.
  const std::string at_score = exact_text(raws[raws.size() / 2]);
  const std::string between = exact_text(0.5f * (raws[raws.size() / 4] + raws[raws.size() / 4 + 1]));
  for (const std::string& moved : {std::string(), "--threshold " + at_score, "--threshold " + between,
                                   std::string("--sensitivity 0.9"), std::string("--sensitivity 0.1")}) {
    CAPTURE(moved);
    const std::string out = testing::temp_dir("infer_maps_one_threshold");
    const auto r = run_app("ganomaly_infer", q(s.model) + " " + inputs + " --json --threads 2 --maps " + q(out) + " " + moved);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    const std::vector<nlohmann::json> lines = json_lines(r.output);
    REQUIRE(lines.size() == raws.size());
    size_t flagged = 0;
    for (const auto& j : lines) {
      CAPTURE(j.dump());
      const nlohmann::json& m = j["map"];
      CHECK(m["threshold"].get<float>() == j["threshold"].get<float>());
      CHECK(m["peak"]["value"].get<float>() == j["raw_score"].get<float>());
      const bool anomalous = j["verdict"] == "anomalous";
      CHECK((m["area_pixels"].get<int64_t>() > 0) == anomalous);
      flagged += anomalous;
      // The overlay draws the outline (pure green) exactly on the flagged images.
      int w = 0, h = 0, channels = 0;
      std::unique_ptr<stbi_uc, void (*)(void*)> rgb(stbi_load(m["overlay"].get<std::string>().c_str(), &w, &h, &channels, 3),
                                                    stbi_image_free);
      REQUIRE(rgb != nullptr);
      bool green = false;
      for (size_t p = 0; p < size_t(w) * h; ++p)
        green = green || (rgb.get()[3 * p] == 0 && rgb.get()[3 * p + 1] == 255 && rgb.get()[3 * p + 2] == 0);
      CHECK(green == anomalous);
    }
    if (moved.find(between) != std::string::npos && raws[raws.size() / 4] < raws[raws.size() / 4 + 1])
      CHECK(flagged == raws.size() - raws.size() / 4 - 1);
  }
}

TEST_CASE("infer --tile: the largest tile score, the stitched map at the image's size") {
  const Setup& s = setup();
  const std::string out = testing::temp_dir("infer_tiles_out");
  const auto r = run_app("ganomaly_infer", q(s.model) + " " + q(s.wide) + " --json --threads 2 --tile 24 --stride 8 --maps " + q(out));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::vector<nlohmann::json> lines = json_lines(r.output);
  REQUIRE(lines.size() == 1);
  const nlohmann::json& j = lines[0];
  CHECK(j["tiles"]["count"] == 4 * 3);  // x 0, 8, 16, 24; y 0, 8, 16
  CHECK(j["tiles"]["size"] == 24);
  CHECK(j["tiles"]["stride"] == 8);
  // As the library tiles it with the same model.
  LoadedModel loaded = load_model(s.model);
  const Calibration& c = loaded.calibration;
  const TiledScore t = score_tiled(*loaded.model, c, load_image(s.wide, 3), 24, 8, FeatureScore::compute, true);
  CHECK(j["raw_score"].get<float>() == t.scores.get(c.score)[0]);
  CHECK(j["tiles"]["worst"]["x"] == t.worst_x);
  CHECK(j["tiles"]["worst"]["y"] == t.worst_y);
  CHECK(j["verdict"] == (t.scores.get(c.score)[0] >= c.threshold ? "anomalous" : "normal"));
  const Map16 map = read_map(j["map"]["file"].get<std::string>());
  REQUIRE(map.width == 48);
  REQUIRE(map.height == 40);
  for (size_t p = 0; p < map.values.size(); ++p) CHECK(std::fabs(map.values[p] - t.map[p]) <= 0.0051f);
  // Without --stride the tiles do not overlap (the last one flush with the edge).
  const auto plain = run_app("ganomaly_infer", q(s.model) + " " + q(s.wide) + " --json --threads 2 --tile 24");
  REQUIRE(plain.exit_code == 0);
  CHECK(json_lines(plain.output).at(0)["tiles"]["count"] == 2 * 2);
}

TEST_CASE("infer --maps / --tile / --stride: bad values are one-line errors, nothing written") {
  const Setup& s = setup();
  const std::string out = testing::temp_dir("infer_maps_bad");
  auto infer = [&](const std::string& args) {
    return run_app("ganomaly_infer", q(s.model) + " " + q(s.wide) + " --threads 2 " + args);
  };
  SUBCASE("--tile 0") { check_error(infer("--tile 0"), 2, "ganomaly_infer: --tile: expected a tile side of at least 1 pixel, got 0"); }
  SUBCASE("--tile -3") { check_error(infer("--tile -3"), 2, "--tile"); }
  SUBCASE("--tile abc") { check_error(infer("--tile abc"), 2, "--tile: 'abc' is not a valid value"); }
  SUBCASE("--stride 0") { check_error(infer("--tile 16 --stride 0"), 2, "ganomaly_infer: --stride: expected at least 1 pixel, got 0"); }
  SUBCASE("--stride above --tile") { check_error(infer("--tile 16 --stride 17"), 2, "no tile sees"); }
  SUBCASE("--stride without --tile") { check_error(infer("--stride 8"), 2, "ganomaly_infer: --stride: needs --tile"); }
  SUBCASE("--maps ''") { check_error(infer("--maps ''"), 2, "ganomaly_infer: --maps: expected a folder, got ''"); }
  SUBCASE("--tile larger than the image") {
    check_error(infer("--tile 64 --maps " + q(out + "/m")), 1,
                "ganomaly_infer: " + s.wide + ": the image is 48x40, smaller than --tile 64");
  }
  SUBCASE("--maps a regular file") {
    write_file(out + "/file", "x");
    check_error(infer("--maps " + q(out + "/file")), 1, "cannot use as the output folder (--maps): it is a file");
  }
  SUBCASE("--maps the folder of an input image, or a folder named as input") {
    const std::string wide_folder = fs::path(s.wide).parent_path().string();
    check_error(infer("--maps " + q(wide_folder)), 2,
                "ganomaly_infer: --maps: " + wide_folder + " holds the input images (" + s.wide +
                    "); maps written there would be scored as images by the next run: choose another folder\n");
    CHECK(files_in(wide_folder) == 1);
    const std::string images = s.test_folders.front();
    const size_t before = files_in(images);
    check_error(run_app("ganomaly_infer", q(s.model) + " " + q(images) + " --maps " + q(images + "/.")), 2,
                "ganomaly_infer: --maps: " + images + "/. holds the input images (" + images + ")");
    CHECK(files_in(images) == before);
  }
  CHECK(files_in(out) <= 1);  // at most the regular file the case made
}

TEST_CASE("infer --maps: an unreadable image among readable ones is reported, the others mapped, exit 1") {
  const Setup& s = setup();
  const std::string dir = testing::temp_dir("infer_maps_mixed"), out = testing::temp_dir("infer_maps_mixed_out");
  fs::copy_file(s.wide, dir + "/000.png");
  write_file(dir + "/001.png", "not an image\n");
  const auto r = run_app("ganomaly_infer", q(s.model) + " " + q(dir) + " --threads 2 --maps " + q(out));
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("ganomaly_infer: image: " + dir + "/001.png: not a readable image") != std::string::npos);
  CHECK(r.output.find("ganomaly_infer: 1 of 2 images could not be scored and were skipped") != std::string::npos);
  CHECK(fs::exists(out + "/000_map.png"));
  CHECK(fs::exists(out + "/000_overlay.png"));
  CHECK(files_in(out) == 2);
}
