// ONNX export (ganomaly_export, src/ganomaly/io/onnx_*): the protobuf writer byte for
// byte against hand-computed encodings, the graph's contents, the app's errors and
// atomic write, and parity: the exported graph, checked by onnx's full checker and run by
// an independent interpreter (tools/onnx_run.py: PyTorch's functional ops), against
// Ganomaly::score on the same images.
//
// The parity case needs /usr/bin/python3 with onnx and torch (Debian: python3-onnx,
// python3-torch; GANOMALY_TEST_PYTHON names another interpreter). Without them it says
// what is missing and skips; every other case runs anyway.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "ganomaly/data/dataset.h"
#include "ganomaly/data/image.h"
#include "ganomaly/eval/anomaly_map.h"
#include "ganomaly/io/atomic_file.h"
#include "ganomaly/io/checkpoint_io.h"
#include "ganomaly/io/model_file.h"
#include "ganomaly/io/onnx_decision.h"
#include "ganomaly/io/onnx_export.h"
#include "ganomaly/io/onnx_writer.h"
#include "nn/init.h"
#include "tensor/number_text.h"
#include "support/run_app.h"
#include "support/tensor_file.h"

namespace fs = std::filesystem;
using namespace gan;
using gan::testing::read_file;
using gan::testing::run_app;
using gan::testing::host_tensor;
using gan::testing::read_tensors;
using gan::testing::write_tensors;
using gan::testing::TempDir;

namespace {

std::string bytes(std::initializer_list<int> values) {
  std::string s;
  for (int v : values) s += static_cast<char>(v);
  return s;
}

std::string hex(const std::string& s) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    if (!out.empty()) out += ' ';
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string q(const std::string& s) { return "'" + s + "'"; }  // no test path has a quote in it

// ---- small models ----

struct ModelCase {
  std::string name;
  std::string recipe;  // "paper" (tanh) or "anomalib" (imagenet)
  int image_size = 32, channels = 3, extra_layers = 0;
  bool spectral_norm = false;
  float ema = 0;
  std::string score = "fused";
};

// Weights of a scale that keeps every activation of order 1 (the initial N(0, 0.02) ones
// make tiny outputs, against which a tolerance of 1e-4 would prove little), and batch-norm
// parameters and running statistics far from 1 and 0.
void randomise(nn::Module& network, Rng& rng) {
  for (auto& [name, m] : network.named_modules()) {
    const bool conv = dynamic_cast<nn::Conv2d*>(m) != nullptr, deconv = dynamic_cast<nn::ConvTranspose2d*>(m) != nullptr;
    for (auto& [tensor_name, t] : m->named_parameters()) {
      if (tensor_name.find('.') != std::string::npos) continue;  // a child's: done in its turn
      if (conv || deconv) {
        // Fan-in: IC k k for a convolution; a stride-2 transposed one sees a quarter of its taps.
        const double fan_in = double(t.size(conv ? 1 : 0)) * t.size(2) * t.size(3) / (deconv ? 4.0 : 1.0);
        nn::fill_normal(t, 0.0f, float(1.5 / std::sqrt(fan_in)), rng);
      } else if (tensor_name == "weight") {
        nn::fill_uniform(t, 0.5f, 1.5f, rng);
      } else {
        nn::fill_normal(t, 0.0f, 0.2f, rng);
      }
    }
    for (auto& [tensor_name, t] : m->named_buffers()) {
      if (tensor_name == "running_mean") nn::fill_normal(t, 0.0f, 0.3f, rng);
      if (tensor_name == "running_var") nn::fill_uniform(t, 0.5f, 2.0f, rng);
    }
  }
}

// A model with random weights of order 1, trained for a few steps on noise (so an
// averaged generator differs from the live one), saved with a calibration that names
// `score`.
std::string make_model(const ModelCase& c, const std::string& dir) {
  ModelConfig config;
  config.image_size = c.image_size;
  config.channels = c.channels;
  config.n_features = 8;
  config.latent_size = 8;
  config.extra_layers = c.extra_layers;
  config.spectral_norm = c.spectral_norm;
  nn::AdamOptions adam;
  adam.lr = 2e-3f;
  Ganomaly model(config, Recipe::of(parse_choice<RecipeName>("recipe", c.recipe)), 7, adam);
  Rng rng(11);
  randomise(model.generator, rng);
  randomise(model.discriminator, rng);
  if (c.ema > 0) model.enable_ema(c.ema);
  Tensor batch = Tensor::zeros(Shape{4, c.channels, c.image_size, c.image_size});
  for (int step = 0; step < 3; ++step) {
    nn::fill_normal(batch, 0.0f, 0.5f, rng);
    model.train_step(batch);
  }
  Calibration calibration;
  calibration.score = parse_choice<Score>("score", c.score);
  const std::string path = dir + "/" + c.name + ".gnm";
  save_model(path, model, calibration, nlohmann::json::object());
  return path;
}

// N images with some structure, as PNG files; each image's pixels are k / 255.
std::vector<Sample> write_images(const std::string& dir, int n, int size, int channels) {
  std::vector<Sample> samples;
  for (int i = 0; i < n; ++i) {
    Image img;
    img.width = img.height = size;
    img.channels = channels;
    img.pixels.resize(size_t(size) * size * channels);
    for (int y = 0; y < size; ++y)
      for (int x = 0; x < size; ++x)
        for (int ch = 0; ch < channels; ++ch)
          img.at(x, y, ch) = 0.5f + 0.45f * std::sin(0.3f * x * (i + 1) + 0.2f * y - ch) * std::cos(0.1f * (x - y) + i);
    const std::string path = dir + "/image" + std::to_string(i) + ".png";
    write_png(path, img);
    samples.push_back({path, 0, "good", ""});
  }
  return samples;
}

// The pixels in [0, 1] as the inspection line feeds them: [N, C, S, S].
Tensor raw_pixels(const std::vector<Sample>& samples, int size, int channels) {
  Tensor out = Tensor::zeros(Shape{int64_t(samples.size()), channels, size, size});
  for (size_t i = 0; i < samples.size(); ++i) {
    const Image img = load_image(samples[i].path, channels);
    REQUIRE(img.width == size);
    for (int ch = 0; ch < channels; ++ch)
      for (int y = 0; y < size; ++y)
        for (int x = 0; x < size; ++x) out.data()[((i * channels + ch) * size + y) * size + x] = img.at(x, y, ch);
  }
  return out;
}

std::vector<int64_t> dims_of(const Tensor& t) {
  std::vector<int64_t> d;
  for (int i = 0; i < t.ndim(); ++i) d.push_back(t.size(i));
  return d;
}

Tensor crop(const Tensor& x, int size) {
  const int64_t n = x.size(0), c = x.size(1), s = x.size(2), top = (s - size + 1) / 2;
  Tensor out = Tensor::zeros(Shape{n, c, size, size});
  for (int64_t p = 0; p < n * c; ++p)
    for (int64_t y = 0; y < size; ++y)
      for (int64_t xx = 0; xx < size; ++xx)
        out.data()[(p * size + y) * size + xx] = x.data()[(p * s + top + y) * s + top + xx];
  return out;
}

std::string python() {
  const char* env = std::getenv("GANOMALY_TEST_PYTHON");
  return env && *env ? env : "/usr/bin/python3";
}

// What the parity check lacks, or "" when python, onnx and torch are all there.
std::string missing_python_modules() {
  if (!fs::exists(python())) return python() + " (no such interpreter)";
  std::string missing;
  for (const char* module : {"onnx", "torch", "numpy"}) {
    const std::string cmd = python() + " -c 'import " + module + "' >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) missing += std::string(missing.empty() ? "" : ", ") + "the Python module " + module;
  }
  return missing;
}

const onnx::Node* find_node(const onnx::Model& m, const std::string& output) {
  for (const auto& n : m.graph.nodes)
    if (!n.outputs.empty() && n.outputs[0] == output) return &n;
  return nullptr;
}

const onnx::TensorData* find_initializer(const onnx::Model& m, const std::string& name) {
  for (const auto& t : m.graph.initializers)
    if (t.name == name) return &t;
  return nullptr;
}

std::vector<std::string> output_names(const onnx::Model& m) {
  std::vector<std::string> names;
  for (const auto& o : m.graph.outputs) names.push_back(o.name);
  return names;
}

}  // namespace

TEST_CASE("onnx writer: varints and fields are the protobuf encoding, byte for byte") {
  CHECK(onnx::varint(0) == bytes({0x00}));
  CHECK(onnx::varint(1) == bytes({0x01}));
  CHECK(onnx::varint(127) == bytes({0x7f}));
  CHECK(onnx::varint(128) == bytes({0x80, 0x01}));
  CHECK(onnx::varint(150) == bytes({0x96, 0x01}));  // the protobuf documentation's example
  CHECK(onnx::varint(300) == bytes({0xac, 0x02}));
  CHECK(onnx::varint(16384) == bytes({0x80, 0x80, 0x01}));
  CHECK(onnx::varint(uint64_t(1) << 63) == bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}));
  // A negative int64 is its two's complement: ten bytes.
  onnx::ProtoWriter negative;
  negative.int64_field(3, -1);
  CHECK(hex(negative.bytes()) == "18 ff ff ff ff ff ff ff ff ff 01");

  onnx::ProtoWriter w;
  w.varint_field(1, 150);        // key (1 << 3) | 0 = 08
  w.bytes_field(2, "testing");   // key (2 << 3) | 2 = 12, length 7
  w.float_field(2, 1.0f);        // key (2 << 3) | 5 = 15, 1.0f = 0x3f800000 little-endian
  w.float_field(7, -2.5f);       // key 3d, -2.5f = 0xc0200000
  w.varint_field(20, 7);         // key (20 << 3) | 0 = 160 = a0 01
  CHECK(hex(w.bytes()) == "08 96 01 12 07 74 65 73 74 69 6e 67 15 00 00 80 3f 3d 00 00 20 c0 a0 01 07");

  onnx::ProtoWriter inner, outer;
  inner.varint_field(1, 150);
  outer.message_field(3, inner);  // key 1a, length 3, the message
  CHECK(hex(outer.bytes()) == "1a 03 08 96 01");
  // A length of 128 or more takes a two-byte varint.
  onnx::ProtoWriter long_field;
  long_field.bytes_field(1, std::string(200, 'a'));
  CHECK(hex(long_field.bytes().substr(0, 3)) == "0a c8 01");
}

TEST_CASE("onnx writer: tensor, attribute, node, value info and model messages, byte for byte") {
  onnx::TensorData t;
  t.name = "w";
  t.dims = {2};
  t.floats = {1.0f, -2.0f};
  // dims 1: 08 02 | data_type 2: 10 01 | name 8: 42 01 'w' | raw_data 9: 4a 08 <1.0f> <-2.0f>
  CHECK(hex(onnx::encode(t)) == "08 02 10 01 42 01 77 4a 08 00 00 80 3f 00 00 00 c0");

  onnx::TensorData ints;
  ints.name = "p";
  ints.dims = {2};
  ints.type = onnx::DataType::int64;
  ints.ints = {1, -1};
  CHECK(hex(onnx::encode(ints)) ==
        "08 02 10 07 42 01 70 4a 10 01 00 00 00 00 00 00 00 ff ff ff ff ff ff ff ff");

  onnx::TensorData wrong = t;
  wrong.dims = {3};
  CHECK_THROWS_WITH_AS(onnx::encode(wrong), "onnx: tensor 'w' has 2 values for 3 elements", Error);

  // name 1: 0a 05 "alpha" | f 2: 15 <0.2f = 0x3e4ccccd> | type 20: a0 01 01
  CHECK(hex(onnx::encode(onnx::Attribute::of("alpha", 0.2f))) == "0a 05 61 6c 70 68 61 15 cd cc 4c 3e a0 01 01");
  // ints 8 (one key each): 40 01 40 02 | type 20: a0 01 07
  CHECK(hex(onnx::encode(onnx::Attribute::of("k", std::vector<int64_t>{1, 2}))) == "0a 01 6b 40 01 40 02 a0 01 07");
  CHECK(hex(onnx::encode(onnx::Attribute::of("m", std::string("c")))) == "0a 01 6d 22 01 63 a0 01 03");
  CHECK(hex(onnx::encode(onnx::Attribute::of("n", int64_t{0}))) == "0a 01 6e 18 00 a0 01 02");

  onnx::Node n;
  n.op_type = "Relu";
  n.name = "y";
  n.inputs = {"x"};
  n.outputs = {"y"};
  // input 1: 0a 01 'x' | output 2: 12 01 'y' | name 3: 1a 01 'y' | op_type 4: 22 04 "Relu"
  CHECK(hex(onnx::encode(n)) == "0a 01 78 12 01 79 1a 01 79 22 04 52 65 6c 75");

  onnx::ValueInfo v;
  v.name = "x";
  v.dims = {-1, 3};
  // name 1: 0a 01 'x' | type 2: 12 0f { tensor_type 1: 0a 0d { elem_type 1: 08 01 |
  //   shape 2: 12 09 { dim 1: 0a 03 { dim_param 2: 12 01 'N' } dim 1: 0a 02 { dim_value 1: 08 03 } } } }
  CHECK(hex(onnx::encode(v)) == "0a 01 78 12 0f 0a 0d 08 01 12 09 0a 03 12 01 4e 0a 02 08 03");

  onnx::Model m;
  m.producer_name = "p";
  m.producer_version = "1";
  m.graph.name = "g";
  // ir_version 1: 08 07 | producer_name 2: 12 01 'p' | producer_version 3: 1a 01 '1' |
  // graph 7: 3a 03 { name 2: 12 01 'g' } | opset_import 8: 42 04 { domain 1: 0a 00 | version 2: 10 0d }
  CHECK(hex(onnx::encode(m)) == "08 07 12 01 70 1a 01 31 3a 03 12 01 67 42 04 0a 00 10 0d");
}

TEST_CASE("export: the graph holds the scoring network the model scores with") {
  TempDir dir("export_graph");
  SUBCASE("tanh, 32 px, averaged generator, fused score: features included, no padding") {
    const std::string path = make_model({"ema", "paper", 32, 3, 0, false, 0.9f, "fused"}, dir.path.string());
    LoadedModel loaded = load_model(path);
    const onnx::Model m = build_onnx_model(*loaded.model, loaded.calibration);
    // A fused calibration without parts (saved before validation) cannot decide: no decision outputs.
    CHECK(output_names(m) == std::vector<std::string>{"fake", "z", "z_hat", "latent", "features", "features_fake",
                                                      "feature", "reconstruction", "residual_max", "anomaly_map"});
    CHECK(m.graph.inputs.size() == 1);
    CHECK(m.graph.inputs[0].name == "images");
    CHECK(m.graph.inputs[0].dims == std::vector<int64_t>{-1, 3, 32, 32});
    CHECK(find_node(m, "x.padded") == nullptr);
    const onnx::TensorData* mean = find_initializer(m, "pixel_mean");
    REQUIRE(mean != nullptr);
    CHECK(mean->floats == std::vector<float>{0.5f, 0.5f, 0.5f});
    // The averaged weights, not the live ones: the model file keeps the averaged
    // generator alone ("E."), and the model loaded from it scores with those.
    const onnx::TensorData* w = find_initializer(m, "G.enc1.0.weight");
    REQUIRE(w != nullptr);
    const CheckpointFile file = load_checkpoint(path);
    CHECK_THROWS(file.tensor("G.enc1.0.weight"));
    const Tensor& averaged = file.tensor("E.enc1.0.weight");
    CHECK(w->floats == std::vector<float>(averaged.data(), averaged.data() + averaged.numel()));
    // D's weights are written once, for both passes.
    CHECK(std::count_if(m.graph.initializers.begin(), m.graph.initializers.end(),
                        [](const onnx::TensorData& t) { return t.name == "D.features.0.weight"; }) == 1);
    CHECK(m.metadata.size() >= 4);
  }
  SUBCASE("imagenet, 48 px: padded to 64 and cropped back; latent score: no discriminator") {
    LoadedModel loaded = load_model(make_model({"latent", "anomalib", 48, 3, 0, false, 0, "latent"}, dir.path.string()));
    const onnx::Model m = build_onnx_model(*loaded.model, loaded.calibration);
    CHECK(output_names(m) == std::vector<std::string>{"fake", "z", "z_hat", "latent", "reconstruction", "residual_max",
                                                      "anomaly_map", "raw_score", "score", "anomalous"});
    const onnx::Node* pad = find_node(m, "x.padded");
    REQUIRE(pad != nullptr);
    const onnx::TensorData* pads = find_initializer(m, pad->inputs.at(1));
    REQUIRE(pads != nullptr);
    CHECK(pads->ints == std::vector<int64_t>{0, 0, 8, 8, 0, 0, 8, 8});
    REQUIRE(find_node(m, "fake") != nullptr);
    CHECK(find_node(m, "fake")->op_type == "Slice");
    CHECK(m.graph.outputs[0].dims == std::vector<int64_t>{-1, 3, 48, 48});
    const onnx::TensorData* stdev = find_initializer(m, "pixel_stdev");
    REQUIRE(stdev != nullptr);
    CHECK(stdev->floats == pixel_normalization("imagenet", 3).stdev);
    for (const auto& n : m.graph.nodes) CHECK(n.outputs[0].rfind("D(", 0) != 0);
    // --features always adds them.
    const onnx::Model with = build_onnx_model(*loaded.model, loaded.calibration, OnnxFeatures::always);
    const std::vector<std::string> names = output_names(with);
    CHECK(std::count(names.begin(), names.end(), "feature") == 1);
  }
  SUBCASE("fitted residual statistics and a fused calibration: the whole decision, its numbers in the metadata") {
    LoadedModel loaded = load_model(make_model({"decision", "paper", 32, 3, 0, false, 0, "fused"}, dir.path.string()));
    Ganomaly& model = *loaded.model;
    Tensor normals = Tensor::zeros(Shape{24, 3, 32, 32});
    Rng rng(3);
    nn::fill_uniform(normals, -1.0f, 1.0f, rng);
    model.fit_residuals(normals);
    REQUIRE(!model.residual_nn.empty());
    Calibration c = loaded.calibration;
    c.fusion[Score::latent] = {0.5f, 0.25f, 1.0f};
    c.fusion[Score::feature] = {0.1f, 0.05f, 0.5f};
    c.fusion[Score::residual_nn] = {2.0f, 0.5f, 0.75f};
    c.threshold = 0.3f;
    c.normalizer = {-2.0f, 6.0f, 0.3f};
    const onnx::Model m = build_onnx_model(model, c);
    CHECK(output_names(m) == std::vector<std::string>{"fake", "z", "z_hat", "latent", "features", "features_fake",
                                                      "feature", "reconstruction", "residual_max", "residual_z",
                                                      "residual_nn", "image_z", "image_nn", "anomaly_map", "raw_score", "score",
                                                      "anomalous"});
    CHECK(m.graph.outputs.back().type == onnx::DataType::boolean);
    CHECK(m.graph.outputs.at(13).dims == std::vector<int64_t>{-1, 1, 32, 32});
    // The 20 nearest of the 24 stored maps, the smallest distances first.
    const onnx::Node* topk = find_node(m, "residual_nn.nearest_distance");
    REQUIRE(topk != nullptr);
    CHECK(topk->op_type == "TopK");
    CHECK(topk->outputs == std::vector<std::string>{"residual_nn.nearest_distance", "residual_nn.nearest"});
    CHECK(find_initializer(m, topk->inputs.at(1))->ints == std::vector<int64_t>{20});
    const onnx::TensorData* maps = find_initializer(m, "residual_nn.stored");
    REQUIRE(maps != nullptr);
    CHECK(maps->dims == std::vector<int64_t>{24, 32, 32});
    CHECK(maps->floats == model.residual_nn.state().at(0).second.to_vector());
    // image_nn: the 10 nearest of the 24 stored images, matched by the same thumbnail node.
    const onnx::Node* image_topk = find_node(m, "image_nn.nearest_distance");
    REQUIRE(image_topk != nullptr);
    CHECK(find_initializer(m, image_topk->inputs.at(1))->ints == std::vector<int64_t>{10});
    const onnx::TensorData* images = find_initializer(m, "image_nn.stored");
    REQUIRE(images != nullptr);
    CHECK(images->dims == std::vector<int64_t>{24, 3, 32, 32});
    CHECK(images->floats == model.image_nn.images());
    // The fused parts in name order (feature, latent, residual_nn), as Calibration::fuse adds them.
    CHECK(find_node(m, "fused.latent.sum") != nullptr);
    CHECK(find_node(m, "fused.residual_nn.sum") != nullptr);
    CHECK(find_node(m, "fused.feature.sum") == nullptr);
    std::map<std::string, std::string> meta(m.metadata.begin(), m.metadata.end());
    CHECK(meta["decision_score"] == "fused");
    CHECK(meta["decision_threshold"] == "0.3");
    CHECK(meta["decision_normalizer_min"] == "-2");
    CHECK(meta["decision_normalizer_max"] == "6");
    CHECK(meta["decision_normalizer_threshold"] == "0.3");
    CHECK(meta["decision_sensitivity_formula"] == kSensitivityFormula);
    CHECK(meta["map_score"] == "residual_nn");
    CHECK(meta["map_slope"] == exact_text(map_part_of(c, model).slope));  // the decision map's, as --maps writes it
    CHECK(meta.count("map_threshold") == 0);  // one threshold: the decision's
    // Without the feature score, the fused score cannot be computed: no decision.
    const onnx::Model without = build_onnx_model(model, c, OnnxFeatures::never);
    const std::vector<std::string> names = output_names(without);
    CHECK(std::count(names.begin(), names.end(), "score") == 0);
    CHECK(std::count(names.begin(), names.end(), "anomaly_map") == 1);
    CHECK(without.graph.doc.find("no decision: the fused score needs the feature score") != std::string::npos);
  }
  SUBCASE("spectral norm: the discriminator's convolutions carry their effective weights") {
    LoadedModel loaded = load_model(make_model({"sn", "paper", 32, 1, 0, true, 0, "fused"}, dir.path.string()));
    Ganomaly& model = *loaded.model;
    const onnx::Model m = build_onnx_model(model, loaded.calibration);
    auto* conv = dynamic_cast<nn::Conv2d*>(&(*model.discriminator.features)[0]);
    REQUIRE(conv != nullptr);
    REQUIRE(conv->spectral_norm());
    Tensor u, v;
    for (const auto& [name, t] : conv->named_buffers()) (name == "weight_u" ? u : v) = t;
    NoGradGuard no_grad;
    const Tensor effective = spectral_normalize(conv->weight(), u, v, false);
    const onnx::TensorData* w = find_initializer(m, "D.features.0.weight");
    REQUIRE(w != nullptr);
    CHECK(w->floats == std::vector<float>(effective.data(), effective.data() + effective.numel()));
    CHECK(w->floats != std::vector<float>(conv->weight().data(), conv->weight().data() + conv->weight().numel()));
  }
}

TEST_CASE("ganomaly_export: one-line errors, and the file written whole or not at all") {
  TempDir dir("export_app");
  const std::string model = make_model({"m", "paper", 32, 3, 0, false, 0.9f, "fused"}, dir.path.string());
  const std::string out = dir / "out";
  fs::create_directories(out);
  auto check_error = [&](const gan::testing::AppResult& r, int code, const std::string& line) {
    INFO("output: <<<" << r.output << ">>>");
    CHECK(r.exit_code == code);
    CHECK(r.output == line + "\n");
    CHECK(fs::is_empty(out));  // nothing written, no temporary file left
  };
  SUBCASE("--help and --version") {
    CHECK(run_app("ganomaly_export", "--help").exit_code == 0);
    CHECK(run_app("ganomaly_export", "--version").output.rfind("ganomaly_export ", 0) == 0);
  }
  SUBCASE("no arguments") {
    check_error(run_app("ganomaly_export", ""), 2, "ganomaly_export: expected MODEL and OUTPUT (see --help)");
  }
  SUBCASE("only the model") {
    check_error(run_app("ganomaly_export", q(model)), 2, "ganomaly_export: expected MODEL and OUTPUT (see --help)");
  }
  SUBCASE("a stray argument") {
    check_error(run_app("ganomaly_export", q(model) + " " + q(out + "/m.onnx") + " stray"), 2,
                "ganomaly_export: unexpected argument 'stray' (see --help)");
  }
  SUBCASE("--features bogus") {
    check_error(run_app("ganomaly_export", q(model) + " " + q(out + "/m.onnx") + " --features bogus"), 2,
                "ganomaly_export: --features: expected auto, always or never, got 'bogus'");
  }
  SUBCASE("unknown option") {
    check_error(run_app("ganomaly_export", q(model) + " " + q(out + "/m.onnx") + " --bogus"), 2,
                "ganomaly_export: Option 'bogus' does not exist (see --help)");
  }
  SUBCASE("one flipped byte") {
    const std::string flipped = dir / "flipped.gnm";
    std::string b = read_file(model);
    b[b.size() / 2] ^= 1;
    std::ofstream(flipped, std::ios::binary) << b;
    check_error(run_app("ganomaly_export", q(flipped) + " " + q(out + "/m.onnx")), 1,
                "ganomaly_export: load_checkpoint: " + flipped + ": corrupt: checksum mismatch");
  }
  SUBCASE("missing model") {
    const std::string missing = dir / "missing.gnm";
    check_error(run_app("ganomaly_export", q(missing) + " " + q(out + "/m.onnx")), 1,
                "ganomaly_export: load_checkpoint: cannot open " + missing + ": No such file or directory");
  }
  SUBCASE("truncated model") {
    const std::string truncated = dir / "truncated.gnm";
    std::ofstream(truncated, std::ios::binary) << read_file(model).substr(0, 5000);
    const auto r = run_app("ganomaly_export", q(truncated) + " " + q(out + "/m.onnx"));
    check_error(r, 1, "ganomaly_export: load_checkpoint: " + truncated + ": truncated: 5000 of " +
                          std::to_string(fs::file_size(model)) + " bytes");
  }
  SUBCASE("not a model (an image)") {
    const std::string image = dir / "image.png";
    write_images(dir.path.string(), 1, 32, 3);
    fs::rename(dir / "image0.png", image);
    check_error(run_app("ganomaly_export", q(image) + " " + q(out + "/m.onnx")), 1,
                "ganomaly_export: load_checkpoint: " + image + ": not a ganomaly.cpp checkpoint (wrong magic bytes)");
  }
  SUBCASE("the output is a folder") {
    fs::create_directories(out + "/folder.onnx");
    const auto r = run_app("ganomaly_export", q(model) + " " + q(out + "/folder.onnx"));
    CHECK(r.exit_code == 1);
    CHECK(r.output == "ganomaly_export: " + out + "/folder.onnx: is a folder; expected the name of the .onnx file to write\n");
  }
  SUBCASE("the output is the model itself") {
    const std::string before = read_file(model);
    const auto r = run_app("ganomaly_export", q(model) + " " + q(dir / "./m.gnm"));
    CHECK(r.exit_code == 2);
    CHECK(r.output == "ganomaly_export: " + (dir / "./m.gnm") + ": is the model file itself; choose another OUTPUT (see --help)\n");
    CHECK(read_file(model) == before);
  }
  SUBCASE("the output is a checkpoint (run/last.gnm) or another model: refused, left as it was") {
    CheckpointFile checkpoint;
    checkpoint.config = {{"resumable", true}};
    save_checkpoint(dir / "last.gnm", checkpoint);
    fs::copy_file(model, dir / "other.gnm");
    for (const std::string& target : {dir / "last.gnm", dir / "other.gnm"}) {
      const std::string before = read_file(target);
      check_error(run_app("ganomaly_export", q(model) + " " + q(target)), 2,
                  "ganomaly_export: " + target + ": is a ganomaly.cpp model or checkpoint; choose another OUTPUT (see --help)");
      CHECK(read_file(target) == before);
    }
  }
  SUBCASE("the output's folder does not exist") {
    check_error(run_app("ganomaly_export", q(model) + " " + q(out + "/nowhere/m.onnx")), 1,
                "ganomaly_export: " + out + "/nowhere/m.onnx: cannot write: No such file or directory");
  }
  SUBCASE("success: the outputs and why the decision is missing, the file complete, no temporary file left") {
    const std::string onnx_path = out + "/m.onnx";
    const auto r = run_app("ganomaly_export", q(model) + " " + q(onnx_path));
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(r.output.find("outputs fake z z_hat latent features features_fake feature reconstruction residual_max "
                        "anomaly_map\n" + onnx_path +
                        ": no decision outputs: the model's fused score has no fitted parts (a model saved before "
                        "validation)\n") != std::string::npos);
    CHECK(std::vector<fs::path>(fs::directory_iterator(out), fs::directory_iterator()) ==
          std::vector<fs::path>{fs::path(onnx_path)});
    LoadedModel loaded = load_model(model);
    CHECK(read_file(onnx_path) == onnx::encode(build_onnx_model(*loaded.model, loaded.calibration)));
  }
  SUBCASE("a write that fails half way leaves the old file as it was and no temporary file") {
    const std::string onnx_path = out + "/m.onnx";
    std::ofstream(onnx_path) << "old";
    LoadedModel loaded = load_model(model);
    const std::string encoded = onnx::encode(build_onnx_model(*loaded.model, loaded.calibration));
    {
      InjectedDiskFull disk_full(1000);
      CHECK_THROWS_WITH_AS(write_file_atomically(onnx_path, encoded),
                           (onnx_path + ": cannot write: No space left on device").c_str(), Error);
    }
    CHECK(read_file(onnx_path) == "old");
    CHECK(std::distance(fs::directory_iterator(out), fs::directory_iterator()) == 1);
    write_file_atomically(onnx_path, encoded);
    CHECK(read_file(onnx_path) == encoded);
  }
}

TEST_CASE("export parity: the graph, run by an independent interpreter, matches Ganomaly::score") {
  const std::string missing = missing_python_modules();
  if (!missing.empty()) {
    MESSAGE("parity check skipped: it needs " << missing
                                              << " (Debian: apt-get install python3-onnx python3-torch; "
                                                 "GANOMALY_TEST_PYTHON names another interpreter)");
    return;
  }
  TempDir dir("export_parity");
  const std::vector<ModelCase> cases = {
      {"tanh_rgb_32_ema", "paper", 32, 3, 0, false, 0.9f, "fused"},
      {"imagenet_rgb_48_extra", "anomalib", 48, 3, 1, false, 0, "fused"},
      {"tanh_grey_48_spectral", "paper", 48, 1, 0, true, 0.9f, "fused"},
      {"imagenet_grey_32_latent", "anomalib", 32, 1, 0, false, 0, "latent"},
  };
  for (const ModelCase& c : cases) {
    SUBCASE(c.name.c_str()) {
      const std::string model_path = make_model(c, dir.path.string());
      const std::string onnx_path = dir / (c.name + ".onnx");
      const auto exported = run_app("ganomaly_export", q(model_path) + " " + q(onnx_path));
      INFO(exported.output);
      REQUIRE(exported.exit_code == 0);

      // Our side: the images as load_images gives them, scored by the loaded model.
      const std::string image_dir = dir / (c.name + "_images");
      fs::create_directories(image_dir);
      const int n = 5;
      const std::vector<Sample> samples = write_images(image_dir, n, c.image_size, c.channels);
      LoadedModel loaded = load_model(model_path);
      Ganomaly& model = *loaded.model;
      const Tensor x = load_images(samples, c.image_size, c.channels, model.recipe.normalization);
      std::vector<float> residuals;
      Scores scores = model.score(x, 32, &residuals, FeatureScore::compute);
      std::map<std::string, std::pair<std::vector<int64_t>, std::vector<float>>> ours;
      {
        NoGradGuard no_grad;
        Generator& g = model.scoring_generator();
        g.eval();
        model.discriminator.eval();
        const Tensor padded = pad_to_network(x, model.config);
        const Generator::Output out = g.run(padded);
        const Tensor fake = crop(out.fake, c.image_size);
        ours["fake"] = {dims_of(fake), fake.to_vector()};
        ours["z"] = {dims_of(out.z), out.z.to_vector()};
        ours["z_hat"] = {dims_of(out.z_hat), out.z_hat.to_vector()};
        ours["latent"] = {{n}, scores.latent};
        if (c.score != "latent") {
          const Tensor fx = model.discriminator.run(padded).features, ffake = model.discriminator.run(out.fake).features;
          ours["features"] = {dims_of(fx), fx.to_vector()};
          ours["features_fake"] = {dims_of(ffake), ffake.to_vector()};
          ours["feature"] = {{n}, scores.feature};
        }
      }
      // The decision's outputs (onnx_decision.h): these models have no fitted residual
      // statistics, so the map is residual_max's; only the latent one can decide (the
      // fused calibrations have no parts).
      ours["reconstruction"] = {{n}, scores.reconstruction};
      ours["residual_max"] = {{n}, scores.residual_max};
      ours["anomaly_map"] = {{n, 1, c.image_size, c.image_size},
                             anomaly_maps(model, Score::residual_max, x, residuals)};
      if (c.score == "latent") {
        std::vector<float> normalised, anomalous;
        for (const Verdict& v : loaded.calibration.decide(scores)) {
          normalised.push_back(v.normalised);
          anomalous.push_back(v.anomalous ? 1.0f : 0.0f);
        }
        ours["raw_score"] = {{n}, scores.latent};
        ours["score"] = {{n}, normalised};
        ours["anomalous"] = {{n}, anomalous};
      }

      // Theirs: the pixels in [0, 1] through the ONNX graph.
      const std::string in = dir / (c.name + "_in.bin"), out = dir / (c.name + "_out.bin");
      write_tensors(in, {{"images", host_tensor(raw_pixels(samples, c.image_size, c.channels))}});
      const std::string cmd = python() + " " + q(std::string(GANOMALY_SOURCE_DIR) + "/tools/onnx_run.py") + " " +
                              q(onnx_path) + " " + q(in) + " " + q(out) + " 2>&1";
      const int rc = std::system(cmd.c_str());
      REQUIRE(rc == 0);
      const auto theirs = read_tensors(out);

      CHECK(theirs.size() == ours.size());
      for (const auto& [name, mine] : ours) {
        INFO(c.name << ": output " << name);
        REQUIRE(theirs.count(name) == 1);
        const auto& [dims, values] = theirs.at(name);
        CHECK(dims == mine.first);
        REQUIRE(values.size() == mine.second.size());
        // |theirs - ours| <= 1e-4 + 1e-4 |ours| for every value; the relative figure is
        // over the values of magnitude 1e-3 or more.
        double max_abs = 0, max_rel = 0, max_magnitude = 0;
        size_t bad = 0;
        for (size_t i = 0; i < values.size(); ++i) {
          const double a = values[i], b = mine.second[i], d = std::fabs(a - b);
          max_abs = std::max(max_abs, d);
          max_magnitude = std::max(max_magnitude, std::fabs(b));
          if (std::fabs(b) >= 1e-3) max_rel = std::max(max_rel, d / std::fabs(b));
          if (!(d <= 1e-4 + 1e-4 * std::fabs(b))) ++bad;
        }
        CHECK(bad == 0);
        MESSAGE(c.name << " " << name << ": " << values.size() << " values up to " << max_magnitude
                       << ", max |diff| " << max_abs << ", max relative " << max_rel);
      }
    }
  }
}
