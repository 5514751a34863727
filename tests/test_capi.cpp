// The C API (src/capi/ganomaly.h): the same scores as the C++ path and ganomaly_infer,
// concurrent scoring on one model, error codes and messages, and the C example.
#include <doctest/doctest.h>

#include <stb/stb_image.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <thread>
#include <vector>

#include "capi/ganomaly.h"
#include "ganomaly/data/dataset.h"
#include "ganomaly/data/image.h"
#include "ganomaly/eval/anomaly_map.h"
#include "ganomaly/io/model_file.h"
#include "ganomaly/report/png16.h"
#include "ganomaly/data/synth.h"
#include "ganomaly/train/train.h"
#include "support/run_app.h"

using namespace gan;

namespace {

struct Trained {
  Dataset data;
  std::string model_path;
};

// A tiny model, trained once per test binary.
const Trained& trained() {
  static const Trained t = [] {
    const testing::TinyRun run = testing::train_tiny_run("capi");
    Trained r;
    r.data = discover_dataset(run.data);
    r.model_path = run.out + "/model.gnm";
    return r;
  }();
  return t;
}

struct Pixels {
  int width = 0, height = 0, channels = 0;
  std::vector<uint8_t> data;
};

Pixels read_pixels(const std::string& path) {
  Pixels p;
  stbi_uc* raw = stbi_load(path.c_str(), &p.width, &p.height, &p.channels, 0);
  REQUIRE(raw != nullptr);
  p.data.assign(raw, raw + size_t(p.width) * p.height * p.channels);
  stbi_image_free(raw);
  return p;
}

struct Result {
  int status = -1;
  float score = -1, raw = -1;
  int anomalous = -1;
  std::string error;
};

Result score(const ganomaly_model* model, const Pixels& p, size_t stride = 0) {
  Result r;
  char err[256];
  r.status = ganomaly_score(model, p.data.data(), p.width, p.height, p.channels, stride, &r.score, &r.raw,
                            &r.anomalous, err, sizeof err);
  r.error = err;
  return r;
}

struct ModelHandle {
  ganomaly_model* model = nullptr;
  explicit ModelHandle(const std::string& path) {
    char err[256];
    const int status = ganomaly_load(path.c_str(), &model, err, sizeof err);
    INFO(err);
    REQUIRE(status == GANOMALY_OK);
    REQUIRE(model != nullptr);
    CHECK(std::string(err).empty());
  }
  ~ModelHandle() { ganomaly_free(model); }
};

}  // namespace

TEST_CASE("the C API reports its version") {
  CHECK(std::string(ganomaly_version()) == GANOMALY_VERSION);
  CHECK(ganomaly_abi_version() == GANOMALY_ABI_VERSION);
  CHECK(std::string(ganomaly_status_string(GANOMALY_OK)) == "ok");
  CHECK(std::string(ganomaly_status_string(GANOMALY_ERR_BAD_MODEL)) == "bad model file");
  CHECK(std::string(ganomaly_status_string(99)) == "unknown status");
}

TEST_CASE("C API scores are the C++ path's, bit for bit") {
  const Trained& t = trained();
  ModelHandle handle(t.model_path);
  CHECK(ganomaly_image_size(handle.model) == 32);
  CHECK(ganomaly_model_channels(handle.model) == 3);
  LoadedModel loaded = load_model(t.model_path);
  const Calibration& c = loaded.calibration;
  CHECK(ganomaly_threshold(handle.model) == c.threshold);
  REQUIRE(t.data.test.size() == 8);
  for (const Sample& s : t.data.test) {
    CAPTURE(s.path);
    const Tensor images = load_images({s}, 32, 3, loaded.model->recipe.normalization);
    Scores scores = loaded.model->score(images);
    c.fuse(scores);
    const float raw = scores.get(c.score)[0];
    const Result r = score(handle.model, read_pixels(s.path));
    REQUIRE(r.status == GANOMALY_OK);
    CHECK(r.error.empty());
    CHECK(r.raw == raw);
    CHECK(r.score == c.normalizer.apply(raw));
    CHECK(r.anomalous == (raw >= c.threshold ? 1 : 0));
  }
}

TEST_CASE("C API scores match ganomaly_infer on the same file") {
  const Trained& t = trained();
  ModelHandle handle(t.model_path);
  const std::string image = t.data.test.back().path;
  const auto app = testing::run_app("ganomaly_infer", t.model_path + " " + image + " --json");
  REQUIRE(app.exit_code == 0);
  const nlohmann::json j = nlohmann::json::parse(app.output);
  const Result r = score(handle.model, read_pixels(image));
  REQUIRE(r.status == GANOMALY_OK);
  CHECK(j["raw_score"].get<float>() == r.raw);
  CHECK(j["score"].get<float>() == r.score);
  CHECK(j["verdict"] == (r.anomalous ? "anomalous" : "normal"));
}

TEST_CASE("RGBA with padded rows scores as RGB; grey input is accepted") {
  const Trained& t = trained();
  ModelHandle handle(t.model_path);
  const Pixels rgb = read_pixels(t.data.test.front().path);
  REQUIRE(rgb.channels == 3);
  Pixels rgba = rgb;
  rgba.channels = 4;
  const size_t stride = size_t(rgb.width) * 4 + 12;
  rgba.data.assign(stride * rgb.height, 0xAB);
  for (int y = 0; y < rgb.height; ++y)
    for (int x = 0; x < rgb.width; ++x) {
      for (int ch = 0; ch < 3; ++ch)
        rgba.data[y * stride + x * 4 + ch] = rgb.data[(size_t(y) * rgb.width + x) * 3 + ch];
      rgba.data[y * stride + x * 4 + 3] = uint8_t(x * 7);
    }
  const Result a = score(handle.model, rgb), b = score(handle.model, rgba, stride);
  REQUIRE(a.status == GANOMALY_OK);
  REQUIRE(b.status == GANOMALY_OK);
  CHECK(a.raw == b.raw);
  Pixels grey{rgb.width, rgb.height, 1, std::vector<uint8_t>(size_t(rgb.width) * rgb.height, 100)};
  const Result g = score(handle.model, grey);
  CHECK(g.status == GANOMALY_OK);
  CHECK(g.score >= 0.0f);
  CHECK(g.score <= 1.0f);
  // Outputs are optional.
  CHECK(ganomaly_score(handle.model, rgb.data.data(), rgb.width, rgb.height, 3, 0, nullptr, nullptr, nullptr,
                       nullptr, 0) == GANOMALY_OK);
}

TEST_CASE("ganomaly_score_map: ganomaly_score's outputs and the C++ path's map at the input's size") {
  const Trained& t = trained();
  ModelHandle handle(t.model_path);
  LoadedModel loaded = load_model(t.model_path);
  const Calibration& c = loaded.calibration;
  CHECK(ganomaly_map_threshold(handle.model) == c.threshold);  // one threshold decides and outlines
  CHECK(ganomaly_map_threshold(nullptr) == 0.0f);
  for (const Sample& s : {t.data.test.front(), t.data.test.back()}) {
    CAPTURE(s.path);
    // Scored at another size than the model's: the map comes back at the input's.
    Pixels p = read_pixels(s.path);
    const Image wide = resize_image(load_image(s.path, 3), 45, 28);
    p.width = 45, p.height = 28;
    p.data = std::vector<uint8_t>(size_t(45) * 28 * 3);
    for (size_t i = 0; i < p.data.size(); ++i) p.data[i] = uint8_t(std::lround(wide.pixels[i] * 255));
    const Result plain = score(handle.model, p);
    REQUIRE(plain.status == GANOMALY_OK);
    std::vector<float> map(45 * 28, -7.0f);
    float sc = -1, raw = -1;
    int anomalous = -1;
    char err[256];
    REQUIRE(ganomaly_score_map(handle.model, p.data.data(), 45, 28, 3, 0, &sc, &raw, &anomalous, map.data(), map.size(),
                               err, sizeof err) == GANOMALY_OK);
    CHECK(std::string(err).empty());
    CHECK(raw == plain.raw);
    CHECK(sc == plain.score);
    CHECK(anomalous == plain.anomalous);
    // The C++ path: the same 8-bit pixels as an image, scored with its map, resampled.
    Image image;
    image.width = 45, image.height = 28, image.channels = 3;
    for (uint8_t v : p.data) image.pixels.push_back(v / 255.0f);
    const ScoredMaps ours = score_with_maps(*loaded.model, c, model_inputs(*loaded.model, {image}),
                                            feature_score_for(c.score));
    CHECK(map == resize_map(ours.map(0), 32, 32, 45, 28));
    CHECK(*std::max_element(map.begin(), map.end()) == raw);  // the map's peak is the score
    CHECK(std::any_of(map.begin(), map.end(), [&](float v) { return v >= c.threshold; }) == (anomalous == 1));
  }
}

TEST_CASE("ganomaly_score_map: a fused score summing residual_z or residual_max draws that part's map, peaking at the score") {
  const Trained& t = trained();
  LoadedModel loaded = load_model(t.model_path);
  const Tensor images = load_images(t.data.test, 32, 3, loaded.model->recipe.normalization);
  Scores scores = loaded.model->score(images);
  const std::string dir = testing::temp_dir("capi_map_part");
  for (const Score residual : {Score::residual_z, Score::residual_max}) {
    CAPTURE(to_string(residual));
    Calibration c = loaded.calibration;
    c.score = Score::fused;
    c.fit_fusion(scores, labels_of(t.data.test), /*margin=*/1.0, residual);  // margin 1: the part keeps a weight
    REQUIRE(map_part_of(c, *loaded.model).score == residual);
    REQUIRE(map_part_of(c, *loaded.model).slope > 0);
    const std::string path = dir + "/" + to_string(residual) + ".gnm";
    save_model(path, *loaded.model, c, loaded.config.value("info", nlohmann::json::object()));
    ModelHandle handle(path);
    LoadedModel again = load_model(path);
    for (const Sample& s : {t.data.test.front(), t.data.test.back()}) {
      CAPTURE(s.path);
      const Pixels p = read_pixels(s.path);
      std::vector<float> map(size_t(p.width) * p.height);
      float sc = -1, raw = -1;
      int anomalous = -1;
      char err[256];
      REQUIRE(ganomaly_score_map(handle.model, p.data.data(), p.width, p.height, p.channels, 0, &sc, &raw, &anomalous,
                                 map.data(), map.size(), err, sizeof err) == GANOMALY_OK);
      CHECK(*std::max_element(map.begin(), map.end()) == raw);  // the map's peak is the fused score
      Image image;
      image.width = p.width, image.height = p.height, image.channels = p.channels;
      for (uint8_t v : p.data) image.pixels.push_back(v / 255.0f);
      const ScoredMaps ours = score_with_maps(*again.model, again.calibration, model_inputs(*again.model, {image}),
                                              FeatureScore::compute);
      CHECK(ours.part.score == residual);
      CHECK(ours.verdicts[0].raw == raw);
      CHECK(map == resize_map(ours.map(0), 32, 32, p.width, p.height));
    }
  }
}

TEST_CASE("ganomaly_score_map: a NULL or short map buffer is an invalid argument and the buffer is left alone") {
  const Trained& t = trained();
  ModelHandle handle(t.model_path);
  const Pixels p = read_pixels(t.data.test.front().path);
  const size_t need = size_t(p.width) * p.height;
  std::vector<float> map(need, -7.0f);
  char err[256];
  float s = 0;
  CHECK(ganomaly_score_map(handle.model, p.data.data(), p.width, p.height, 3, 0, &s, nullptr, nullptr, nullptr, need,
                           err, sizeof err) == GANOMALY_ERR_INVALID_ARGUMENT);
  CHECK(std::string(err) == "ganomaly_score_map: map is NULL");
  CHECK(ganomaly_score_map(handle.model, p.data.data(), p.width, p.height, 3, 0, &s, nullptr, nullptr, map.data(),
                           need - 1, err, sizeof err) == GANOMALY_ERR_INVALID_ARGUMENT);
  CHECK(std::string(err) == "ganomaly_score_map: map_len " + std::to_string(need - 1) +
                                " is less than width * height = " + std::to_string(need));
  CHECK(ganomaly_score_map(nullptr, p.data.data(), p.width, p.height, 3, 0, &s, nullptr, nullptr, map.data(), need, err,
                           sizeof err) == GANOMALY_ERR_INVALID_ARGUMENT);
  CHECK(std::string(err) == "ganomaly_score_map: model is NULL");
  CHECK(ganomaly_score_map(handle.model, p.data.data(), p.width, p.height, 2, 0, &s, nullptr, nullptr, map.data(), need,
                           err, sizeof err) == GANOMALY_ERR_INVALID_ARGUMENT);
  CHECK(std::all_of(map.begin(), map.end(), [](float v) { return v == -7.0f; }));
  // Outputs other than the map are optional.
  CHECK(ganomaly_score_map(handle.model, p.data.data(), p.width, p.height, 3, 0, nullptr, nullptr, nullptr, map.data(),
                           need, nullptr, 0) == GANOMALY_OK);
  CHECK(std::none_of(map.begin(), map.end(), [](float v) { return v == -7.0f; }));
}

// A stride whose products wrap around size_t (or span more than any buffer) passed the
// stride >= width * channels check and read far outside the caller's buffer.
TEST_CASE("ganomaly_score and ganomaly_score_map: an overflowing stride_bytes is an invalid argument") {
  const Trained& t = trained();
  ModelHandle handle(t.model_path);
  const Pixels p = read_pixels(t.data.test.front().path);
  std::vector<float> map(size_t(p.width) * p.height, -7.0f);
  const size_t huge[] = {SIZE_MAX, size_t(1) << 63, SIZE_MAX / 2 + 1 - 8, size_t(PTRDIFF_MAX)};
  for (const int height : {2, 3, p.height}) {
    for (const size_t stride : huge) {
      INFO("height " << height << ", stride_bytes " << stride);
      char err[256] = "";
      float s = -1;
      CHECK(ganomaly_score(handle.model, p.data.data(), p.width, height, 3, stride, &s, nullptr, nullptr, err,
                           sizeof err) == GANOMALY_ERR_INVALID_ARGUMENT);
      CHECK(std::string(err).find("ganomaly_score: stride_bytes " + std::to_string(stride)) == 0);
      CHECK(ganomaly_score_map(handle.model, p.data.data(), p.width, height, 3, stride, &s, nullptr, nullptr,
                               map.data(), map.size(), err, sizeof err) == GANOMALY_ERR_INVALID_ARGUMENT);
      CHECK(std::string(err).find("ganomaly_score_map: stride_bytes " + std::to_string(stride)) == 0);
      CHECK(s == -1);
    }
  }
  CHECK(std::all_of(map.begin(), map.end(), [](float v) { return v == -7.0f; }));
}

TEST_CASE("four threads scoring one model get the sequential scores") {
  const Trained& t = trained();
  ModelHandle handle(t.model_path);
  std::vector<Pixels> images;
  for (const Sample& s : t.data.test) images.push_back(read_pixels(s.path));
  std::vector<float> expected;
  for (const Pixels& p : images) expected.push_back(score(handle.model, p).raw);
  constexpr int kThreads = 4, kRounds = 3;
  std::vector<std::vector<Result>> got(kThreads);
  std::vector<std::thread> threads;
  for (int k = 0; k < kThreads; ++k)
    threads.emplace_back([&, k] {
      for (int round = 0; round < kRounds; ++round)
        for (size_t i = 0; i < images.size(); ++i) got[k].push_back(score(handle.model, images[(i + k) % images.size()]));
    });
  for (auto& th : threads) th.join();
  for (int k = 0; k < kThreads; ++k) {
    REQUIRE(got[k].size() == kRounds * images.size());
    for (size_t n = 0; n < got[k].size(); ++n) {
      CHECK(got[k][n].status == GANOMALY_OK);
      CHECK(got[k][n].raw == expected[(n % images.size() + k) % images.size()]);
    }
  }
}

TEST_CASE("bad arguments and files give a status and a message") {
  const Trained& t = trained();
  char err[256];
  ganomaly_model* model = reinterpret_cast<ganomaly_model*>(1);

  CHECK(ganomaly_load(nullptr, &model, err, sizeof err) == GANOMALY_ERR_INVALID_ARGUMENT);
  CHECK(model == nullptr);
  CHECK(std::string(err) == "ganomaly_load: path is NULL");
  CHECK(ganomaly_load(t.model_path.c_str(), nullptr, err, sizeof err) == GANOMALY_ERR_INVALID_ARGUMENT);
  CHECK(std::string(err) == "ganomaly_load: out_model is NULL");

  const std::string dir = testing::temp_dir("capi_bad");
  CHECK(ganomaly_load((dir + "/missing.gnm").c_str(), &model, err, sizeof err) == GANOMALY_ERR_FILE_NOT_FOUND);
  CHECK(model == nullptr);
  CHECK(std::string(err).find("missing.gnm: file not found") != std::string::npos);
  CHECK(ganomaly_load(dir.c_str(), &model, err, sizeof err) == GANOMALY_ERR_FILE_NOT_FOUND);

  const std::string garbage = dir + "/garbage.gnm";
  std::ofstream(garbage) << "this is not a model";
  CHECK(ganomaly_load(garbage.c_str(), &model, err, sizeof err) == GANOMALY_ERR_BAD_MODEL);
  CHECK(model == nullptr);
  CHECK(std::string(err).find("garbage.gnm") != std::string::npos);

  // A truncated copy, and one with a flipped byte in the weights.
  std::ifstream in(t.model_path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string truncated = dir + "/truncated.gnm", flipped = dir + "/flipped.gnm";
  std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  bytes[bytes.size() - 20] ^= 0x40;
  std::ofstream(flipped, std::ios::binary) << bytes;
  CHECK(ganomaly_load(truncated.c_str(), &model, err, sizeof err) == GANOMALY_ERR_BAD_MODEL);
  CHECK(std::string(err).find("truncated.gnm") != std::string::npos);
  CHECK(ganomaly_load(flipped.c_str(), &model, err, sizeof err) == GANOMALY_ERR_BAD_MODEL);
  CHECK(model == nullptr);

  // A message that does not fit is cut and still NUL-terminated; no buffer is fine too.
  char small[8];
  std::memset(small, 'x', sizeof small);
  CHECK(ganomaly_load(nullptr, &model, small, sizeof small) == GANOMALY_ERR_INVALID_ARGUMENT);
  CHECK(std::string(small) == "ganomal");
  CHECK(ganomaly_load(nullptr, &model, nullptr, 0) == GANOMALY_ERR_INVALID_ARGUMENT);

  ModelHandle handle(t.model_path);
  const Pixels p = read_pixels(t.data.test.front().path);
  auto call = [&](const ganomaly_model* m, const uint8_t* px, int w, int h, int c, size_t stride) {
    float s = 0;
    return ganomaly_score(m, px, w, h, c, stride, &s, nullptr, nullptr, err, sizeof err);
  };
  CHECK(call(nullptr, p.data.data(), p.width, p.height, 3, 0) == GANOMALY_ERR_INVALID_ARGUMENT);
  CHECK(std::string(err) == "ganomaly_score: model is NULL");
  CHECK(call(handle.model, nullptr, p.width, p.height, 3, 0) == GANOMALY_ERR_INVALID_ARGUMENT);
  CHECK(std::string(err) == "ganomaly_score: pixels is NULL");
  for (int channels : {0, 2, 5, -1}) {
    CHECK(call(handle.model, p.data.data(), p.width, p.height, channels, 0) == GANOMALY_ERR_INVALID_ARGUMENT);
    CHECK(std::string(err).find("channels must be 1 (grey), 3 (RGB) or 4 (RGBA)") != std::string::npos);
  }
  CHECK(call(handle.model, p.data.data(), 0, p.height, 3, 0) == GANOMALY_ERR_INVALID_ARGUMENT);
  CHECK(std::string(err).find("bad image size 0x") != std::string::npos);
  CHECK(call(handle.model, p.data.data(), p.width, -3, 3, 0) == GANOMALY_ERR_INVALID_ARGUMENT);
  CHECK(call(handle.model, p.data.data(), 100000, 100000, 3, 0) == GANOMALY_ERR_INVALID_ARGUMENT);
  CHECK(std::string(err).find("exceeds the limit") != std::string::npos);
  CHECK(call(handle.model, p.data.data(), p.width, p.height, 3, p.width * 3 - 1) == GANOMALY_ERR_INVALID_ARGUMENT);
  CHECK(std::string(err).find("stride_bytes") != std::string::npos);

  CHECK(ganomaly_image_size(nullptr) == 0);
  CHECK(ganomaly_model_channels(nullptr) == 0);
  ganomaly_free(nullptr);
}

TEST_CASE("the C example scores images and exits 0") {
  const Trained& t = trained();
  const std::string images = t.data.test.front().path + " " + t.data.test.back().path;
  const auto ok = testing::run_app("score_image", t.model_path + " " + images);
  INFO(ok.output);
  CHECK(ok.exit_code == 0);
  CHECK(ok.output.find(t.data.test.back().path + "\t") != std::string::npos);
  CHECK((ok.output.find("\tnormal") != std::string::npos || ok.output.find("\tanomalous") != std::string::npos));
  const auto missing = testing::run_app("score_image", t.model_path + " /nonexistent.png");
  CHECK(missing.exit_code == 1);
  const auto bad_model = testing::run_app("score_image", "/nonexistent.gnm " + t.data.test.front().path);
  CHECK(bad_model.exit_code == 1);
  CHECK(bad_model.output.find("file not found") != std::string::npos);
}

TEST_CASE("the C example rounds 16-bit samples to 8 bits: it scores them as the 8-bit file of the rounded values") {
  const Trained& t = trained();
  testing::TempDir dir("capi_png16");
  const int side = 32;
  std::vector<uint16_t> wide(side * side);
  std::vector<uint8_t> rounded(wide.size()), truncated(wide.size());
  for (size_t i = 0; i < wide.size(); ++i) {
    const int level = 1 + int(i * 37 % 127);
    // Even pixels: level - 0.498 in 8-bit terms, which rounds to level; odd ones: level +
    // 0.04. Dropping the low byte gives level - 1 on the even ones only: not a change of
    // gain and offset, which a photometric normalisation would undo.
    wide[i] = uint16_t(i % 2 ? level * 257 + 10 : level * 257 - 128);
    rounded[i] = uint8_t(level);
    truncated[i] = uint8_t(wide[i] >> 8);
  }
  std::ofstream(dir / "wide.png", std::ios::binary) << encode_png_grey16(side, side, wide.data());
  write_png(dir / "rounded.png", side, side, 1, rounded.data());
  write_png(dir / "truncated.png", side, side, 1, truncated.data());
  const auto r = testing::run_app("score_image", t.model_path + " " + (dir / "wide.png") + " " + (dir / "rounded.png") +
                                                     " " + (dir / "truncated.png"));
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  auto scores_of = [&](const std::string& name) {  // "<score>\t<raw score>\t<verdict>" of that file's line
    const std::string prefix = (dir / name) + "\t";
    const size_t at = r.output.find(prefix);
    REQUIRE_MESSAGE(at != std::string::npos, r.output);
    return r.output.substr(at + prefix.size(), r.output.find('\n', at) - at - prefix.size());
  };
  CHECK(scores_of("wide.png") == scores_of("rounded.png"));
  CHECK(scores_of("truncated.png") != scores_of("rounded.png"));  // one grey level shows in the scores
}

TEST_CASE("ganomaly_set_threshold and ganomaly_set_sensitivity move is_anomalous, not the normalised score") {
  const Trained& t = trained();
  ModelHandle handle(t.model_path);
  const Calibration c = load_model(t.model_path).calibration;
  const Pixels p = read_pixels(t.data.test.back().path);
  const Result before = score(handle.model, p);
  REQUIRE(before.status == GANOMALY_OK);
  char err[256];

  // A raw threshold at the image's raw score flags it; one just above does not.
  REQUIRE(ganomaly_set_threshold(handle.model, before.raw, err, sizeof err) == GANOMALY_OK);
  CHECK(std::string(err).empty());
  CHECK(ganomaly_threshold(handle.model) == before.raw);
  Result r = score(handle.model, p);
  CHECK(r.anomalous == 1);
  CHECK(r.raw == before.raw);
  CHECK(r.score == before.score);  // the scale stays: 0.5 is still the calibrated threshold
  const float above = std::nextafter(before.raw, std::numeric_limits<float>::infinity());
  // The map follows: its threshold is the decision's, and it shows a region exactly when
  // the image is flagged (the threshold at the score, then just above it).
  auto region = [&] {
    std::vector<float> map(size_t(p.width) * p.height);
    int flagged = -1;
    REQUIRE(ganomaly_score_map(handle.model, p.data.data(), p.width, p.height, p.channels, 0, nullptr, nullptr, &flagged,
                               map.data(), map.size(), err, sizeof err) == GANOMALY_OK);
    const bool any = std::any_of(map.begin(), map.end(), [&](float v) { return v >= ganomaly_map_threshold(handle.model); });
    CHECK(any == (flagged == 1));
    return any;
  };
  CHECK(ganomaly_map_threshold(handle.model) == before.raw);
  CHECK(region());
  REQUIRE(ganomaly_set_threshold(handle.model, above, err, sizeof err) == GANOMALY_OK);
  CHECK(score(handle.model, p).anomalous == 0);
  CHECK_FALSE(region());

  // Sensitivity is measured from the calibrated threshold, whatever was set before.
  REQUIRE(ganomaly_set_sensitivity(handle.model, 0.5f, err, sizeof err) == GANOMALY_OK);
  CHECK(ganomaly_threshold(handle.model) == c.threshold);
  CHECK(score(handle.model, p).anomalous == before.anomalous);
  REQUIRE(ganomaly_set_sensitivity(handle.model, 0.8f, err, sizeof err) == GANOMALY_OK);
  CHECK(ganomaly_threshold(handle.model) == c.normalizer.inverse(1.0f - 0.8f));
  r = score(handle.model, p);
  CHECK(r.anomalous == (r.raw >= c.normalizer.inverse(1.0f - 0.8f) ? 1 : 0));

  // Bad values: an invalid argument, the threshold left as it was.
  const float kept = ganomaly_threshold(handle.model);
  CHECK(ganomaly_set_sensitivity(handle.model, 1.5f, err, sizeof err) == GANOMALY_ERR_INVALID_ARGUMENT);
  CHECK(std::string(err) == "ganomaly_set_sensitivity: sensitivity: expected a number in [0, 1], got 1.5");
  CHECK(ganomaly_set_sensitivity(handle.model, -0.1f, err, sizeof err) == GANOMALY_ERR_INVALID_ARGUMENT);
  CHECK(ganomaly_set_sensitivity(handle.model, std::nanf(""), err, sizeof err) == GANOMALY_ERR_INVALID_ARGUMENT);
  CHECK(ganomaly_set_threshold(handle.model, std::numeric_limits<float>::infinity(), err, sizeof err) ==
        GANOMALY_ERR_INVALID_ARGUMENT);
  CHECK(std::string(err) == "ganomaly_set_threshold: threshold: expected a finite raw score, got inf");
  CHECK(ganomaly_set_threshold(handle.model, std::nanf(""), err, sizeof err) == GANOMALY_ERR_INVALID_ARGUMENT);
  CHECK(ganomaly_threshold(handle.model) == kept);
  CHECK(ganomaly_set_threshold(nullptr, 1.0f, err, sizeof err) == GANOMALY_ERR_INVALID_ARGUMENT);
  CHECK(std::string(err) == "ganomaly_set_threshold: model is NULL");
  CHECK(ganomaly_set_sensitivity(nullptr, 0.5f, err, sizeof err) == GANOMALY_ERR_INVALID_ARGUMENT);
  CHECK(std::string(err) == "ganomaly_set_sensitivity: model is NULL");
}
