// The decision in the exported graph, run by the real ONNX Runtime (npm's onnxruntime-node
// 1.30, installed into the build folder by tools/onnxruntime/install.sh): tiny models
// trained with every score and both normalisations, exported by ganomaly_export, run by
// tools/onnxruntime/run.js on the data set's test images, and compared with what
// ganomaly_infer --json --maps prints for the same images (score, raw score, verdict,
// every score, the map's peak) and with the maps it computes (score_with_maps, its path,
// before resizing): scores within 1e-4 relative, the same verdict for every image not
// within 1e-4 of the threshold, maps within 1e-4 of their largest magnitude. A threshold
// moved by a sensitivity, computed from the file's metadata alone, decides as
// ganomaly_infer --sensitivity does.
//
// Needs node and npm (Debian: apt-get install nodejs npm) and the npm registry once;
// without them the test says why and exits 77, which CTest reports as skipped.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <sys/wait.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "ganomaly/data/dataset.h"
#include "ganomaly/data/image.h"
#include "ganomaly/eval/anomaly_map.h"
#include "ganomaly/io/model_file.h"
#include "support/fixtures.h"
#include "support/run_app.h"
#include "support/tensor_file.h"

namespace fs = std::filesystem;
using namespace gan;
using gan::testing::run_app;
using gan::testing::HostTensor;
using gan::testing::read_tensors;
using gan::testing::write_tensors;
using gan::testing::TempDir;

namespace {

std::string q(const std::string& s) { return "'" + s + "'"; }  // no test path has a quote in it

// A command's exit code and its standard output (standard error joined to it).
std::pair<int, std::string> run_command(const std::string& command) {
  std::string out;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return {-1, "popen failed"};
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// onnxruntime-node's folder, installed once into the build folder; exits 77 (skipped)
// when node, npm or the registry is missing, saying why.
const std::string kNodePath = [] {
  const std::string build = GANOMALY_BINARY_DIR;
  const auto [rc, out] = run_command(q(std::string(GANOMALY_SOURCE_DIR) + "/tools/onnxruntime/install.sh") + " " + q(build));
  if (rc == 77) {
    std::printf("test_onnx_runtime: %s\n", trimmed(out).c_str());
    std::fflush(stdout);
    std::exit(77);
  }
  if (rc != 0) {
    std::printf("test_onnx_runtime: tools/onnxruntime/install.sh failed (exit %d): %s\n", rc, out.c_str());
    std::exit(1);
  }
  return build + "/onnxruntime/node_modules";
}();

// ---- the comparison ----

// |a - b| / |b|, 0 when both are 0 (a normalised score clipped to 0 or 1 on both sides).
double relative(double a, double b, double magnitude = 0) {
  const double d = std::fabs(a - b);
  return d == 0 ? 0 : d / std::max({std::fabs(b), magnitude, 1e-30});
}

// The size of what a raw score is summed from: for the fused score, the largest of its
// parts as ganomaly_infer printed them, in the sum's units, weight * (|part| + |mean|) /
// stddev. A part's float rounding (1e-6 of its value) reaches the sum magnified by
// weight / stddev, however close the part lies to its mean and however much the parts
// cancel, so the raw score's error is measured against that; a single score is its own.
double term_magnitude(const Calibration& c, const nlohmann::json& j) {
  double largest = 0;
  if (c.score == Score::fused)
    for (const auto& [part, f] : c.fusion)
      largest = std::max(largest, std::fabs(f.weight / f.stddev) *
                                      (std::fabs(j.at(to_string(part)).get<double>()) + std::fabs(f.mean)));
  return largest;
}

struct Row {
  std::string model, score;
  double score_rel = 0, raw_rel = 0, every_score_rel = 0, map_err = 0;
  // The normalised score's difference over what 1e-4 relative on the raw score allows it
  // ((raw - t) / (max - min) + 0.5 magnifies a raw difference by 1 / (max - min)).
  double score_vs_raw_tolerance = 0;
  int agree = 0, near = 0, images = 0, moved_agree = 0, moved_near = 0;
};

std::vector<nlohmann::json> json_lines(const std::string& output) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] == '{') lines.push_back(nlohmann::json::parse(line));
  return lines;
}

// Whether a raw score is too close to the threshold for its verdict to be compared: within
// the scores' tolerance (1e-4 relative), float rounding may fall on either side.
bool near_threshold(double raw, double threshold) {
  return std::fabs(raw - threshold) <= 1e-4 * std::max(std::fabs(raw), std::fabs(threshold));
}

struct Case {
  std::string recipe;  // paper: tanh; anomalib: imagenet
  int size = 32;       // 48: padded to 64 for the network, and cropped back
  std::string score;
  std::string photometric = "off";  // on: the graph brings each image to the training normals' light
  std::string map = "auto";          // residual_z, residual_max: the fused score's residual part (--map)
};

Row check_model(const Case& c, const std::string& data, const std::vector<Sample>& images, const std::string& work) {
  Row row;
  row.model = c.recipe + "_" + std::to_string(c.size) + (c.photometric == "on" ? "_photometric" : "") +
              (c.map != "auto" ? "_map_" + c.map : "");
  row.score = c.score;
  const std::string out = work + "/" + row.model + "_" + c.score;
  TrainOptions o = gan::testing::tiny_train_options(out, 1);
  o.recipe = parse_choice<RecipeName>("recipe", c.recipe);
  o.model.image_size = c.size;
  o.score = parse_choice<ScoreChoice>("score", c.score);
  o.photometric = parse_choice<PhotometricChoice>("photometric", c.photometric);
  o.map = parse_choice<MapChoice>("map", c.map);
  // A forced map is drawn only while the fusion weighs its residual part above 0: a margin
  // of 1 keeps every part whatever its validation AUROC, so the forced part is in the graph.
  if (c.map != "auto") o.fusion_margin = 1.0;
  const TrainResult trained = train_model(discover_dataset(data), o);
  REQUIRE(trained.model);
  if (c.map != "auto") {
    const MapPart part = map_part_of(trained.calibration, *trained.model);
    REQUIRE(to_string(part.score) == c.map);
    REQUIRE(part.slope > 0);
  }
  REQUIRE(trained.model->photometric.on() == (c.photometric == "on"));
  const std::string model_path = out + "/model.gnm", onnx_path = out + "/model.onnx";
  const auto exported = run_app("ganomaly_export", q(model_path) + " " + q(onnx_path));
  INFO(exported.output);
  REQUIRE(exported.exit_code == 0);

  // ganomaly_infer's side: its JSON lines, and the maps its --maps path computes.
  std::string paths;
  for (const Sample& s : images) paths += " " + q(s.path);
  const auto infer = run_app("ganomaly_infer", q(model_path) + paths + " --json --threads 1 --maps " + q(out + "/maps"));
  INFO(infer.output);
  REQUIRE(infer.exit_code == 0);
  const std::vector<nlohmann::json> lines = json_lines(infer.output);
  REQUIRE(lines.size() == images.size());
  const auto moved = run_app("ganomaly_infer", q(model_path) + paths + " --json --threads 1 --sensitivity 0.8");
  INFO(moved.output);
  REQUIRE(moved.exit_code == 0);
  const std::vector<nlohmann::json> moved_lines = json_lines(moved.output);
  REQUIRE(moved_lines.size() == images.size());
  LoadedModel loaded = load_model(model_path);
  std::vector<Image> pixels;
  for (const Sample& s : images) pixels.push_back(load_image(s.path, 3));
  std::vector<ScoredMaps> maps;  // one image at a time, as --maps scores them
  for (const Image& img : pixels)
    maps.push_back(score_with_maps(*loaded.model, loaded.calibration, model_inputs(*loaded.model, {img}),
                                   FeatureScore::compute));

  // ONNX Runtime's side: the pixels in [0, 1], at the calibrated threshold and at the moved one.
  const int64_t n = images.size(), s = c.size;
  HostTensor in{{n, 3, s, s}, {}};
  for (const Image& img : pixels) {
    REQUIRE(img.width == s);
    for (int ch = 0; ch < 3; ++ch)
      for (int y = 0; y < s; ++y)
        for (int x = 0; x < s; ++x) in.values.push_back(img.at(x, y, ch));
  }
  write_tensors(out + "/in.bin", {{"images", in}});
  const std::string node = "NODE_PATH=" + q(kNodePath) + " node " + q(std::string(GANOMALY_SOURCE_DIR) + "/tools/onnxruntime/run.js") +
                           " " + q(onnx_path) + " " + q(out + "/in.bin") + " ";
  const auto [rc, ran] = run_command(node + q(out + "/out.bin") + " --sensitivity 0.8");
  INFO(ran);
  REQUIRE(rc == 0);
  const auto theirs = read_tensors(out + "/out.bin");
  for (const char* name : {"score", "raw_score", "anomalous", "anomaly_map", "anomalous_at_sensitivity"})
    REQUIRE(theirs.count(name));
  CHECK(theirs.at("anomaly_map").dims == std::vector<int64_t>{n, 1, s, s});
  const nlohmann::json meta = nlohmann::json::parse(ran);
  // The graph's anomaly_map is the residual map; --maps writes it in the deciding score's
  // units, raw_score + map_slope * (map - its largest value), map_slope from the metadata.
  const float slope = std::stof(meta.at("metadata").at("map_slope").get<std::string>());

  for (int64_t i = 0; i < n; ++i) {
    const nlohmann::json& j = lines[i];
    INFO(row.model << " " << c.score << ": " << j.dump());
    ++row.images;
    const double score = j.at("score").get<double>(), their_score = theirs.at("score").values[i];
    row.score_rel = std::max(row.score_rel, relative(their_score, score));
    const ScoreNormalizer& normalizer = loaded.calibration.normalizer;
    const double range = double(normalizer.max) - double(normalizer.min);
    if (range > 0)
      row.score_vs_raw_tolerance =
          std::max(row.score_vs_raw_tolerance,
                   std::fabs(their_score - score) / (1e-4 * std::fabs(j.at("raw_score").get<double>()) / range));
    const double terms = term_magnitude(loaded.calibration, j);
    row.raw_rel =
        std::max(row.raw_rel, relative(theirs.at("raw_score").values[i], j.at("raw_score").get<double>(), terms));
    for (const Score each : kScores)  // every score ganomaly_infer prints
      if (j.contains(to_string(each))) {
        if (!theirs.count(to_string(each))) {  // the graph leaves out a feature score the decision does not need
          CHECK((each == Score::feature && loaded.calibration.feature_needed() == FeatureScore::skip));
          continue;
        }
        row.every_score_rel =
            std::max(row.every_score_rel, relative(theirs.at(to_string(each)).values[i], j.at(to_string(each)).get<double>()));
      }
    const double raw = j.at("raw_score").get<double>();
    if (near_threshold(raw, j.at("threshold").get<double>()))
      ++row.near;
    else if ((theirs.at("anomalous").values[i] == 1) == (j.at("verdict") == "anomalous"))
      ++row.agree;
    const nlohmann::json& m = moved_lines[i];
    if (near_threshold(raw, m.at("threshold").get<double>()))
      ++row.moved_near;
    else if ((theirs.at("anomalous_at_sensitivity").values[i] == 1) == (m.at("verdict") == "anomalous"))
      ++row.moved_agree;
    // The map: the library's (the path --maps takes), and its peak as --json printed it.
    const float* mine = maps[i].map(0);
    std::vector<float> moved(theirs.at("anomaly_map").values.begin() + i * s * s,
                             theirs.at("anomaly_map").values.begin() + (i + 1) * s * s);
    to_decision_maps(moved, size_t(s * s), {float(theirs.at("raw_score").values[i])}, slope);
    const float* map = moved.data();
    double magnitude = 0, err = 0;
    for (int64_t p = 0; p < s * s; ++p) {
      magnitude = std::max(magnitude, double(std::fabs(mine[p])));
      err = std::max(err, double(std::fabs(map[p] - mine[p])));
    }
    row.map_err = std::max(row.map_err, err / std::max(magnitude, 1e-30));
    const double peak = *std::max_element(map, map + s * s);
    CHECK(relative(peak, j.at("map").at("peak").at("value").get<double>(), terms) <= 1e-4);
    CHECK(maps[i].verdicts.at(0).normalised == j.at("score").get<float>());  // the library is ganomaly_infer's path
  }
  // The moved threshold, from the metadata by the formula, is the one ganomaly_infer moved to.
  CHECK(meta.at("metadata").at("decision_score") == loaded.calibration.score);
  CHECK(relative(meta.at("threshold").get<double>(), moved_lines[0].at("threshold").get<double>()) <= 1e-5);
  return row;
}

}  // namespace

TEST_CASE("ONNX Runtime runs the exported decision as ganomaly_infer decides, for every score") {
  CHECK(fs::exists(kNodePath + "/onnxruntime-node/package.json"));
#ifdef _OPENMP
  // The tiny models train and score in milliseconds; threads would only wait for each other.
  omp_set_num_threads(1);
#endif
  TempDir work("onnx_runtime");
  // Two data sets: 32 px (the network's size) and 48 px (padded to 64 and cropped back).
  // 32 training images: more than the 20 neighbours residual_nn takes, so TopK chooses.
  const std::vector<Case> recipes = {{"paper", 32, ""}, {"anomalib", 48, ""}};
  std::vector<Row> rows;
  for (const Case& r : recipes) {
    const std::string data = gan::testing::write_generated_category("onnx_runtime_" + r.recipe, r.size, 32, 4, 4);
    const Dataset d = discover_dataset(data);
    for (const Score score : kScores) {
      Case c = r;
      c.score = to_string(score);
      rows.push_back(check_model(c, data, d.test, work.path.string()));
    }
    Case lit = r;  // photometric normalisation in the graph, under the default score
    lit.score = "fused";
    lit.photometric = "on";
    rows.push_back(check_model(lit, data, d.test, work.path.string()));
    // A fused score whose map is not residual_nn's. At 32 px only: the 1-epoch anomalib
    // model's residual_max barely varies over validation (slope weight / stddev 144), so
    // float differences of 1e-6 in that score (every single score agrees within 1.1e-6, the
    // map within 3e-7) become 3e-4 of a fused score near 0, past the raw score's 1e-4.
    for (const char* map : {"residual_z", "residual_max"}) {
      if (r.recipe != "paper") break;
      Case other = r;
      other.score = "fused";
      other.map = map;
      rows.push_back(check_model(other, data, d.test, work.path.string()));
    }
  }
  std::ostringstream table;
  table << "| model | score | score max rel | raw_score max rel | every score max rel | map max err / largest magnitude | verdicts | moved (sensitivity 0.8) |\n"
        << "|---|---|---|---|---|---|---|---|\n";
  char line[512];
  for (const Row& r : rows) {
    std::snprintf(line, sizeof line, "| %s | %s | %.1e | %.1e | %.1e | %.1e | %d/%d%s | %d/%d%s |\n", r.model.c_str(),
                  r.score.c_str(), r.score_rel, r.raw_rel, r.every_score_rel, r.map_err, r.agree, r.images - r.near,
                  r.near ? str(" (", r.near, " at the threshold)").c_str() : "", r.moved_agree, r.images - r.moved_near,
                  r.moved_near ? str(" (", r.moved_near, " at the threshold)").c_str() : "");
    table << line;
    INFO(r.model << " " << r.score);
    // Within 1e-4 relative, or within what 1e-4 relative on the raw score allows: the tiny
    // models' latent scores span about 1e-5 over validation, which magnifies float rounding
    // by 100 and more.
    CHECK((r.score_rel <= 1e-4 || r.score_vs_raw_tolerance <= 1));
    CHECK(r.raw_rel <= 1e-4);
    CHECK(r.every_score_rel <= 1e-4);
    CHECK(r.map_err <= 1e-4);
    CHECK(r.agree == r.images - r.near);
    CHECK(r.moved_agree == r.images - r.moved_near);
  }
  MESSAGE("ONNX Runtime against ganomaly_infer:\n" << table.str());
}
