// Model files: model.gnm keeps what scoring needs, last.gnm what training needs; model
// files written before lean ones still load and score the same.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "ganomaly/data/dataset.h"
#include "ganomaly/eval/evaluate.h"
#include "ganomaly/io/model_file.h"
#include "ganomaly/train/train.h"
#include "support/fixtures.h"
#include "support/run_app.h"

using namespace gan;

namespace {

// The tiny network with an averaged generator that has drifted from the live one (a few
// steps, decay 0.5), its residual fits made: every tensor a model file can hold.
std::unique_ptr<Ganomaly> drifted_model(float ema_decay) {
  auto model = std::make_unique<Ganomaly>(testing::tiny_model_config(), Recipe::of(RecipeName::paper), 7);
  if (ema_decay > 0) model->enable_ema(ema_decay);
  const Tensor images = testing::random_images(8);
  for (int step = 0; step < 3; ++step) model->train_step(images);
  model->fit_residuals(images, 4);
  return model;
}

std::set<std::string> prefixes(const nn::NamedTensors& tensors) {
  std::set<std::string> out;
  for (const auto& named : tensors) out.insert(named.first.substr(0, named.first.find('.') + 1));
  return out;
}

// Every score the model computes, bit for bit.
void check_same_scores(const Scores& got, const Scores& want) {
  CHECK(got.latent == want.latent);
  CHECK(got.reconstruction == want.reconstruction);
  CHECK(got.feature == want.feature);
  CHECK(got.residual_max == want.residual_max);
  CHECK(got.residual_z == want.residual_z);
  CHECK(got.residual_nn == want.residual_nn);
  CHECK_FALSE(want.residual_nn.empty());
}

const nlohmann::json kInfo = {{"seed", 7}};

}  // namespace

TEST_CASE("model.gnm keeps the scoring generator alone and scores as the model did") {
  const Tensor images = testing::random_images(8);
  testing::TempDir dir("model_file_lean");
  for (const float ema : {0.5f, 0.0f}) {
    CAPTURE(ema);
    const std::unique_ptr<Ganomaly> owned = drifted_model(ema);
    Ganomaly& model = *owned;
    const Scores want = model.score(images, 4);
    const std::string path = dir / "model.gnm";
    save_model(path, model, Calibration{}, kInfo);

    // With an average: "E." (the scoring generator), no live "G."; without: "G.".
    const CheckpointFile f = load_checkpoint(path);
    const std::set<std::string> want_prefixes =
        ema > 0 ? std::set<std::string>{"E.", "D.", "R.", "N.", "I.", "M."} : std::set<std::string>{"G.", "D.", "R.", "N.", "I.", "M."};
    CHECK(prefixes(f.tensors) == want_prefixes);
    CHECK(f.tensors.size() == model.scoring_state().size());
    // The whole model less the live generator beside an average.
    CHECK(f.tensors.size() + (ema > 0 ? model.generator.state().size() : 0) == model.state().size());

    LoadedModel loaded = load_model(path);
    CHECK(loaded.training.is_null());
    CHECK(loaded.model->scoring_only());
    CHECK(loaded.model->ema_decay() == ema);
    CHECK(&loaded.model->scoring_generator() == &loaded.model->generator);  // one generator in memory
    check_same_scores(loaded.model->score(images, 4), want);

    // Saved again from the loaded model: the same file, byte for byte.
    save_model(dir / "again.gnm", *loaded.model, Calibration{}, kInfo);
    CHECK(testing::read_file(dir / "again.gnm") == testing::read_file(path));
  }
}

TEST_CASE("model files written before lean ones, with the live generator too, load and score the same") {
  const Tensor images = testing::random_images(8);
  testing::TempDir dir("model_file_old");
  for (const float ema : {0.5f, 0.0f}) {
    CAPTURE(ema);
    const std::unique_ptr<Ganomaly> owned = drifted_model(ema);
    Ganomaly& model = *owned;
    const Scores want = model.score(images, 4);
    save_model(dir / "lean.gnm", model, Calibration{}, kInfo);
    // The old layout: the same config with every tensor of state(), as save_model wrote
    // them before; a file from before the EMA existed has no "ema_decay" at all.
    CheckpointFile old = load_checkpoint(dir / "lean.gnm");
    old.tensors = model.state();
    if (ema == 0) old.config.erase("ema_decay");
    save_checkpoint(dir / "old.gnm", old);
    CHECK(prefixes(old.tensors).count("G.") == 1);

    const LoadedModel loaded = load_model(dir / "old.gnm");
    CHECK(loaded.model->scoring_only());
    check_same_scores(loaded.model->score(images, 4), want);
  }
}

TEST_CASE("last.gnm keeps the whole model and the optimizers; it loads for training") {
  const Tensor images = testing::random_images(8);
  testing::TempDir dir("model_file_last");
  const std::unique_ptr<Ganomaly> owned = drifted_model(0.5f);
  Ganomaly& model = *owned;
  const std::string path = dir / "last.gnm";
  save_model(path, model, Calibration{}, kInfo, nlohmann::json{{"epoch", 1}});
  const CheckpointFile f = load_checkpoint(path);
  CHECK(prefixes(f.tensors) == std::set<std::string>{"G.", "E.", "D.", "R.", "N.", "I.", "M.", "optimizer_g.", "optimizer_d."});

  LoadedModel loaded = load_model(path);
  CHECK_FALSE(loaded.model->scoring_only());
  CHECK(&loaded.model->scoring_generator() != &loaded.model->generator);
  check_same_scores(loaded.model->score(images, 4), model.score(images, 4));
  // It trains on exactly as the model it was saved from.
  CHECK(loaded.model->train_step(images).generator == model.train_step(images).generator);
}

TEST_CASE("a model loaded for scoring only refuses to train or to become a resumable checkpoint") {
  const Tensor images = testing::random_images(8);
  testing::TempDir dir("model_file_refuse");
  const std::unique_ptr<Ganomaly> owned = drifted_model(0.5f);
  Ganomaly& model = *owned;
  save_model(dir / "model.gnm", model, Calibration{}, kInfo);
  LoadedModel loaded = load_model(dir / "model.gnm");
  CHECK_THROWS_WITH_AS(loaded.model->train_step(images), doctest::Contains("loaded for scoring only"), Error);
  CHECK_THROWS_WITH_AS(loaded.model->enable_ema(0.9f), doctest::Contains("loaded for scoring only"), Error);
  CHECK_THROWS_WITH_AS(loaded.model->load_state(model.state(), "x.gnm"),
                       doctest::Contains("x.gnm: a model loaded for scoring only"), Error);
  const std::string resumable = dir / "last.gnm";
  CHECK_THROWS_WITH_AS(save_model(resumable, *loaded.model, Calibration{}, kInfo, nlohmann::json{{"epoch", 1}}),
                       doctest::Contains((resumable + ": a model loaded for scoring only").c_str()), Error);
  CHECK_FALSE(std::filesystem::exists(resumable));
  // A model file whose ema_decay is out of range names the file.
  CheckpointFile bad = load_checkpoint(dir / "model.gnm");
  bad.config["ema_decay"] = 1.5;
  save_checkpoint(dir / "bad.gnm", bad);
  const std::string expected = dir / "bad.gnm" + ": bad model config: expected an ema_decay in [0, 1), got 1.5";
  CHECK_THROWS_WITH_AS(load_model(dir / "bad.gnm"), doctest::Contains(expected.c_str()), Error);
}

TEST_CASE("training writes a lean model.gnm beside a whole last.gnm") {
  const testing::TinyRun run = testing::train_tiny_run("model_file_train");
  const CheckpointFile model = load_checkpoint(run.out + "/model.gnm");
  const CheckpointFile last = load_checkpoint(run.out + "/last.gnm");
  // The default EMA; "P." when training chose the photometric normalisation.
  std::set<std::string> expected{"E.", "D.", "R.", "N.", "I.", "M."};
  const bool photometric = load_model(run.out + "/model.gnm").model->photometric.on();
  if (photometric) expected.insert("P.");
  CHECK(prefixes(model.tensors) == expected);
  const std::set<std::string> in_last = prefixes(last.tensors);
  for (const char* p : {"G.", "E.", "D.", "optimizer_g.", "optimizer_d.", "best."}) CHECK(in_last.count(p) == 1);
  // Every tensor of model.gnm is last.gnm's copy of the kept model's; the photometric
  // choice and the fits made with it come after the last epoch's last.gnm.
  std::set<std::string> last_names;
  for (const auto& named : last.tensors) last_names.insert(named.first);
  for (const auto& named : model.tensors) {
    const std::string prefix = named.first.substr(0, 2);
    if (photometric && (prefix == "P." || prefix == "R." || prefix == "N." || prefix == "I." ||
                        prefix == "M."))
      continue;
    CHECK(last_names.count("best." + named.first) == 1);
  }
}

TEST_CASE("fp16 model files: half the weight bytes, every score within 1e-3 relative of float32's") {
  // The default network's width (64 features, a latent of 100) at 32 px, a few steps in.
  ModelConfig config;
  config.image_size = 32;
  Ganomaly model(config, Recipe::of(RecipeName::paper), 11);
  model.enable_ema(0.5f);
  const Tensor images = testing::random_images(8);
  for (int step = 0; step < 2; ++step) model.train_step(images);
  model.fit_residuals(images, 4);
  testing::TempDir dir("model_file_fp16");
  const std::string f32 = dir / "f32.gnm", f16 = dir / "f16.gnm";
  save_model(f32, model, Calibration{}, kInfo);
  save_model(f16, model, Calibration{}, kInfo, nullptr, {}, WeightStorage::fp16);

  // Only the convolution weights are halved; 4 bytes of storage type per tensor.
  const CheckpointFile stored = load_checkpoint(f16);
  CHECK(stored.config.at("weights") == "fp16");
  int64_t halved = 0;
  for (const auto& named : stored.tensors) {
    // The neighbour images ("M.images") are 4-D too, and stay float32: they are data, not weights.
    const bool convolution = named.second.ndim() == 4 && named.first.rfind("M.", 0) != 0;
    CHECK(stored.half_precision.count(named.first) == (convolution ? 1u : 0u));
    if (convolution) halved += named.second.numel();
  }
  CHECK(halved > 1000000);
  CHECK(std::filesystem::file_size(f16) ==
        std::filesystem::file_size(f32) - 2 * uint64_t(halved) + 4 * stored.tensors.size() +
            (stored.config.dump().size() - load_checkpoint(f32).config.dump().size()));

  const Scores want = load_model(f32).model->score(images, 4);
  const Scores got = load_model(f16).model->score(images, 4);
  for (const Score s : {Score::latent, Score::reconstruction, Score::feature, Score::residual_max, Score::residual_z,
                        Score::residual_nn}) {
    CAPTURE(to_string(s));
    const std::vector<float>&a = got.get(s), &b = want.get(s);
    REQUIRE(a.size() == b.size());
    double worst = 0;
    for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(double(a[i]) - b[i]) / std::fabs(b[i]));
    CHECK(worst <= 1e-3);
    CHECK(worst > 0);  // the weights did change
  }

  // A resumable checkpoint stays float32, so that resuming is bitwise.
  CHECK_THROWS_WITH_AS(save_model(dir / "last.gnm", model, Calibration{}, kInfo, nlohmann::json{{"epoch", 1}}, {},
                                  WeightStorage::fp16),
                       doctest::Contains("a resumable checkpoint keeps float32 weights"), Error);
}

TEST_CASE("training with fp16 weights: model.gnm at half precision, the summary its scores") {
  const std::string data = testing::write_tiny_dataset("model_file_fp16_train");
  TrainOptions o = testing::tiny_train_options(testing::temp_dir("model_file_fp16_run"), 1);
  o.weights = WeightStorage::fp16;
  const TrainResult r = train_model(discover_dataset(data), o);
  REQUIRE(r.model);
  CHECK_FALSE(load_checkpoint(o.out_dir + "/model.gnm").half_precision.empty());
  CHECK(load_checkpoint(o.out_dir + "/last.gnm").half_precision.empty());
  // The summary's test figures are model.gnm's, as ganomaly_test would find them.
  const LoadedModel loaded = load_model(o.out_dir + "/model.gnm");
  const Dataset d = discover_dataset(data);
  const Tensor test = load_images(d.test, 32, 3, loaded.model->recipe.normalization);
  const Evaluation e = evaluate(*loaded.model, loaded.calibration, test, labels_of(d.test));
  CHECK(e.image_auroc == r.summary.at("image_auroc").get<double>());
  const std::string again = o.out_dir + "/again.csv";
  write_scores_csv(again, d.test, e, loaded.calibration);
  CHECK(testing::read_file(again) == testing::read_file(o.out_dir + "/test_scores.csv"));
}
