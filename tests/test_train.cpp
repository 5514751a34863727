// GANomaly end to end on a generated data set: learning, checkpoints, resume.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ganomaly/eval/evaluate.h"
#include "ganomaly/eval/floors.h"
#include "ganomaly/io/model_file.h"
#include "ganomaly/train/train.h"
#include "support/fixtures.h"
#include "support/run_app.h"

using namespace gan;

using gan::testing::read_file;

namespace {

// A small generated MVTec-layout category (64 px, 60 train, 16 + 16 test), made once
// per test binary.
const std::string& generated_category() {
  static const std::string root = testing::write_generated_category("train_data", 64, 60, 16, 16);
  return root;
}

// Runs fn() with the process's stdout going to `path`; returns what fn returns.
template <typename Fn>
auto with_stdout_to(const std::string& path, Fn fn) {
  std::fflush(stdout);
  const int saved = dup(1);
  const int file = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  REQUIRE(saved >= 0);
  REQUIRE(file >= 0);
  dup2(file, 1);
  close(file);
  struct Restore {
    int saved;
    ~Restore() {
      std::fflush(stdout);
      dup2(saved, 1);
      close(saved);
    }
  } restore{saved};
  return fn();
}

// Asks training to stop after this many steps, as SIGINT does in the apps.
struct StopAfterSteps : TrainObserver {
  explicit StopAfterSteps(int steps) : steps(steps) {}
  void on_step(const StepReport&) override { ++seen; }
  bool should_stop() override { return seen >= steps; }
  int steps, seen = 0;
};

// The tiny run, a little wider, for three epochs: enough to learn the generated set.
TrainOptions small_options(const std::string& out) {
  TrainOptions o = testing::tiny_train_options(out, 3);
  o.model.n_features = 16;
  o.model.latent_size = 32;
  o.batch_size = 16;
  return o;
}

}  // namespace

TEST_CASE("training writes a model, a log and a summary with every metric") {
  const Dataset data = discover_dataset(generated_category());
  const std::string out = testing::temp_dir("train_outputs");
  const nlohmann::json s = train_model(data, small_options(out)).summary;
  CHECK(s["status"] == "completed");
  for (const char* key : {"image_auroc", "image_f1_oracle", "image_f1", "threshold", "train_seconds", "image_size",
                          "recipe", "seed", "image_aupr", "score"})
    CHECK_MESSAGE(s.contains(key), key);
  CHECK(s["image_size"] == 32);
  // The generated set has masks: the residual maps and the anomaly map (residual_nn's)
  // are scored against them.
  for (const char* key : {"pixel_auroc_residual_baseline", "pixel_auroc_residual_z", "pixel_aupro_residual_baseline",
                          "pixel_aupro_residual_z", "pixel_auroc_residual_nn", "pixel_aupro_residual_nn"}) {
    REQUIRE_MESSAGE(s.contains(key), key);
    CHECK_MESSAGE(s[key].get<double>() >= 0.0, key);  // a tiny model's AUPRO can be 0
    CHECK(s[key].get<double>() <= 1.0);
  }
  CHECK(s["image_auroc_by_score"].contains("residual_z"));
  CHECK(s["image_auroc_by_score"].contains("residual_nn"));
  // The trivial floors sit beside the model's figures.
  for (const std::string& name : floor_score_names()) {
    REQUIRE_MESSAGE(s["floor_image_auroc"].contains(name), name);
    CHECK(s["floor_image_auroc"][name].get<double>() >= 0.0);
    CHECK(s["floor_image_auroc"][name].get<double>() <= 1.0);
  }
  CHECK(std::filesystem::exists(out + "/model.gnm"));
  CHECK(std::filesystem::exists(out + "/last.gnm"));
  CHECK(std::filesystem::exists(out + "/test_scores.csv"));
  CHECK(nlohmann::json::parse(read_file(out + "/summary.json")) == s);
  int lines = 0;
  std::ifstream log(out + "/train_log.jsonl");
  for (std::string line; std::getline(log, line); ++lines) CHECK(nlohmann::json::parse(line).contains("val_auroc"));
  CHECK(lines == 3);
}

TEST_CASE("a saved model scores exactly as at the end of training") {
  const Dataset data = discover_dataset(generated_category());
  for (const bool spectral_norm : {false, true}) {  // D's normalised weights come from its stored u, v
    CAPTURE(spectral_norm);
    const std::string out = testing::temp_dir(spectral_norm ? "roundtrip_sn" : "roundtrip");
    TrainOptions options = small_options(out);
    options.model.spectral_norm = spectral_norm;
    const nlohmann::json s = train_model(data, options).summary;
    LoadedModel loaded = load_model(out + "/model.gnm");
    CHECK(loaded.model->config.spectral_norm == spectral_norm);
    const Tensor images = load_images(data.test, 32, 3, loaded.model->recipe.normalization);
    const Evaluation e = evaluate(*loaded.model, loaded.calibration, images, labels_of(data.test));
    CHECK(e.image_auroc == s["image_auroc"].get<double>());
    CHECK(loaded.calibration.threshold == s["threshold"].get<float>());
    const std::string again = out + "/again.csv";
    write_scores_csv(again, data.test, e, loaded.calibration);
    CHECK(read_file(again) == read_file(out + "/test_scores.csv"));
  }
}

TEST_CASE("an interrupted run resumed from last.gnm ends bitwise where an uninterrupted run ends") {
  const Dataset data = discover_dataset(generated_category());
  const std::string straight = testing::temp_dir("straight"), broken = testing::temp_dir("broken");
  train_model(data, small_options(straight));
  for (int stop_at : {2, 3}) {  // mid-epoch, and at an epoch's last step
    CAPTURE(stop_at);
    TrainOptions first = small_options(broken);
    StopAfterSteps stop_first(stop_at);
    CHECK(train_model(data, first, &stop_first).summary["status"] == "interrupted");
    TrainOptions second = small_options(broken);
    second.resume = broken + "/last.gnm";
    CHECK(train_model(data, second).summary["status"] == "completed");
    CHECK(read_file(broken + "/test_scores.csv") == read_file(straight + "/test_scores.csv"));
  }
}

// Stopped at the last step of an epoch, the run must still validate that epoch, select
// on it and log it before it stops; skipping that, the resumed run kept another epoch's
// model than the straight run for some seeds (seed 42 happened to agree). Compared here:
// every weight of model.gnm and last.gnm, the training state, and the log.
TEST_CASE("resume after a stop at any step, several seeds: model.gnm, last.gnm and the log are bitwise the straight run's") {
  const Dataset data = discover_dataset(generated_category());
  auto options = [](const std::string& out, uint64_t seed) {
    TrainOptions o = small_options(out);  // 48 training images, batch 16: 3 steps per epoch
    o.model.n_features = 8;
    o.model.latent_size = 8;
    o.seed = seed;
    return o;
  };
  auto same_tensors = [](const std::string& a, const std::string& b) {
    const LoadedModel x = load_model(a), y = load_model(b);
    REQUIRE(x.tensors.size() == y.tensors.size());
    for (size_t i = 0; i < x.tensors.size(); ++i) {
      CAPTURE(x.tensors[i].first);
      REQUIRE(x.tensors[i].first == y.tensors[i].first);
      const Tensor& t = x.tensors[i].second;
      const Tensor& u = y.tensors[i].second;
      REQUIRE(t.numel() == u.numel());
      CHECK(std::memcmp(t.data(), u.data(), sizeof(float) * size_t(t.numel())) == 0);
    }
    nlohmann::json tx = x.training, ty = y.training;  // the time spent differs, nothing else
    if (tx.is_object()) tx.erase("train_seconds");
    if (ty.is_object()) ty.erase("train_seconds");
    CHECK(tx == ty);
  };
  for (const uint64_t seed : {42ull, 43ull, 44ull}) {
    const std::string straight = testing::temp_dir("resume_straight");
    with_stdout_to(straight + ".out", [&] { return train_model(data, options(straight, seed)).summary; });
    for (const int stop_at : {3, 5, 6}) {  // the end of epoch 1, mid epoch 2, the end of epoch 2
      CAPTURE(seed);
      CAPTURE(stop_at);
      const std::string broken = testing::temp_dir("resume_broken");
      TrainOptions first = options(broken, seed);
      StopAfterSteps stop_first(stop_at);
      CHECK(with_stdout_to(broken + ".out", [&] { return train_model(data, first, &stop_first).summary; })["status"] == "interrupted");
      TrainOptions second = options(broken, seed);
      second.resume = broken + "/last.gnm";
      CHECK(with_stdout_to(broken + ".out", [&] { return train_model(data, second).summary; })["status"] == "completed");
      same_tensors(broken + "/model.gnm", straight + "/model.gnm");
      same_tensors(broken + "/last.gnm", straight + "/last.gnm");
      CHECK(read_file(broken + "/train_log.jsonl") == read_file(straight + "/train_log.jsonl"));
    }
  }
}

// After a SIGKILL: a checkpoint write cut short leaves last.gnm.tmp.<pid>, and a kill
// between an epoch's log line and its last.gnm leaves one log line too many.
TEST_CASE("resume after a hard kill: the stale temporary file is removed and the log cut back to the checkpoint") {
  const Dataset data = discover_dataset(generated_category());
  const std::string straight = testing::temp_dir("kill_straight"), broken = testing::temp_dir("kill_broken");
  auto options = [](const std::string& out) {
    TrainOptions o = small_options(out);
    o.model.n_features = 8;
    o.model.latent_size = 8;
    o.epochs = 2;
    return o;
  };
  with_stdout_to(straight + ".out", [&] { return train_model(data, options(straight)).summary; });
  TrainOptions first = options(broken);
  StopAfterSteps stop_first(3);  // the end of epoch 1: last.gnm at (1, 0), one log line
  REQUIRE(with_stdout_to(broken + ".out", [&] { return train_model(data, first, &stop_first).summary; })["status"] == "interrupted");
  // Epoch 2's line as the straight run logged it, then the kill before last.gnm was renamed.
  std::string straight_log = read_file(straight + "/train_log.jsonl");
  const std::string epoch2 = straight_log.substr(straight_log.find('\n') + 1);
  REQUIRE(!epoch2.empty());
  { std::ofstream(broken + "/train_log.jsonl", std::ios::app) << epoch2; }
  const pid_t dead = fork();
  if (dead == 0) _exit(0);
  REQUIRE(dead > 0);
  REQUIRE(waitpid(dead, nullptr, 0) == dead);
  const std::string stale = broken + "/last.gnm.tmp." + std::to_string(dead);
  { std::ofstream(stale) << "half a checkpoint"; }

  TrainOptions second = options(broken);
  second.resume = broken + "/last.gnm";
  CHECK(with_stdout_to(broken + ".out", [&] { return train_model(data, second).summary; })["status"] == "completed");
  CHECK_FALSE(std::filesystem::exists(stale));
  CHECK(read_file(broken + "/train_log.jsonl") == straight_log);
  CHECK(read_file(broken + "/test_scores.csv") == read_file(straight + "/test_scores.csv"));
}

TEST_CASE("with augmentation, instance noise and spectral norm, a resumed run still ends bitwise where a straight one ends") {
  const Dataset data = discover_dataset(generated_category());
  const std::string straight = testing::temp_dir("straight_noisy"), broken = testing::temp_dir("broken_noisy"),
                    plain = testing::temp_dir("plain");
  auto noisy = [](const std::string& out) {
    TrainOptions o = small_options(out);
    o.epochs = 2;
    o.augment = Augment::flip;
    o.stabilisers.instance_noise = 0.3f;
    o.model.spectral_norm = true;  // its power-iteration vectors travel in last.gnm
    return o;
  };
  train_model(data, noisy(straight));
  TrainOptions first = noisy(broken);
  StopAfterSteps stop_first(2);
  CHECK(train_model(data, first, &stop_first).summary["status"] == "interrupted");
  TrainOptions second = noisy(broken);
  second.resume = broken + "/last.gnm";
  CHECK(train_model(data, second).summary["status"] == "completed");
  CHECK(read_file(broken + "/test_scores.csv") == read_file(straight + "/test_scores.csv"));
  // And the levers do act: without them the same seed gives another model.
  TrainOptions without = small_options(plain);
  without.epochs = 2;
  train_model(data, without);
  CHECK(read_file(plain + "/test_scores.csv") != read_file(straight + "/test_scores.csv"));
}

TEST_CASE("instance noise: D sees noisy images, drawn from the step's seed; sigma 0 is the plain step") {
  const ModelConfig config = testing::tiny_model_config();
  const Tensor images = testing::random_images();
  auto step = [&](float sigma, uint64_t seed) {
    Ganomaly model(config, Recipe::of(RecipeName::paper), 7);
    StepInputs inputs;
    inputs.instance_noise = {sigma, seed};
    return model.train_step(images, inputs).discriminator;
  };
  CHECK(step(0.0f, 1) == step(0.0f, 2));  // no noise: the seed is unused
  CHECK(step(0.5f, 1) == step(0.5f, 1));
  CHECK(step(0.5f, 1) != step(0.5f, 2));
  CHECK(step(0.5f, 1) != step(0.0f, 1));
}

TEST_CASE("the same seed gives the same run; another seed another") {
  const Dataset data = discover_dataset(generated_category());
  const std::string a = testing::temp_dir("seed_a"), b = testing::temp_dir("seed_b"), c = testing::temp_dir("seed_c");
  TrainOptions o = small_options(a);
  o.epochs = 1;
  train_model(data, o);
  o.out_dir = b;
  train_model(data, o);
  o.out_dir = c;
  o.seed = 43;
  train_model(data, o);
  CHECK(read_file(a + "/test_scores.csv") == read_file(b + "/test_scores.csv"));
  CHECK(read_file(a + "/test_scores.csv") != read_file(c + "/test_scores.csv"));
}

TEST_CASE("a small set's epochs and patience are scaled up to --min-steps; large sets and 0 leave them") {
  TrainOptions o;
  o.epochs = 30;
  o.patience = 10;
  o.min_steps = 300;
  CHECK(scaled_for_steps(o, 10).epochs == 30);  // bottle: 10 steps an epoch, 300 in all
  const TrainOptions small = scaled_for_steps(o, 2);  // 38 images at batch 16
  CHECK(small.epochs == 150);
  CHECK(small.patience == 50);  // a third of the run, as 10 of 30
  CHECK(scaled_for_steps(o, 7).epochs == 43);  // rounded up: 301 steps
  CHECK(scaled_for_steps(o, 7).patience == 15);  // 10 x 43 / 30 = 14.3, up
  o.min_steps = 0;
  CHECK(scaled_for_steps(o, 1).epochs == 30);

  // In a run: 48 training images at batch 16 are 3 steps an epoch; --min-steps 7 makes 3 epochs of 1.
  const Dataset data = discover_dataset(generated_category());
  TrainOptions run = small_options(testing::temp_dir("min_steps"));
  run.epochs = 1;
  run.min_steps = 7;
  const nlohmann::json s = train_model(data, run).summary;
  CHECK(s["epochs_run"] == 3);
}

// A validation set at AUROC 1 cannot tell epochs apart: the pseudo-anomalies are made
// fainter, and the kept model is measured again on them, so that it meets later epochs
// on one set. Its re-measured AUROC is then what last.gnm carries as the best.
TEST_CASE("saturated validation: fainter pseudo-anomalies, the kept model re-measured on them, resumed bitwise") {
  const Dataset data = discover_dataset(generated_category());
  // Selected on one score: the fused score's image_z part reads these generated images at
  // AUROC 1 from the first epoch, so the fused AUROC never rises to harden at.
  ScoreChoice score = ScoreChoice::latent;
  auto options = [&score](const std::string& out, uint64_t seed, double harden_at) {
    TrainOptions o = small_options(out);
    o.model.n_features = 8;
    o.model.latent_size = 8;
    o.seed = seed;
    o.harden_at = harden_at;
    o.score = score;
    return o;
  };
  auto log_of = [](const std::string& out) {
    std::vector<nlohmann::json> lines;
    std::ifstream in(out + "/train_log.jsonl");
    for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
    return lines;
  };
  // Find a run whose selection AUROC rises at epoch 2; hardening just above epoch 1's
  // figure then happens at a later epoch, with a kept model to re-measure.
  uint64_t seed = 0;
  double threshold = 0;
  int hardened_epoch = 0;
  for (ScoreChoice choice : {ScoreChoice::residual_nn, ScoreChoice::feature, ScoreChoice::latent}) {
    for (uint64_t s = 42; s < 48 && !hardened_epoch; ++s) {
      score = choice;
      const std::string plain = testing::temp_dir("harden_plain");
      with_stdout_to(plain + ".out", [&] { return train_model(data, options(plain, s, 0.0)).summary; });
      const auto log = log_of(plain);
      REQUIRE(log.size() == 3);
      // Epoch 2, so that a resumed run has an epoch left; above 0.6, so that fainter
      // pseudo-anomalies rank lower (a score below 0.5 would rise towards it).
      const double first = log[0]["selection_auroc"].get<double>(), second = log[1]["selection_auroc"].get<double>();
      if (second > first + 1e-9 && second > 0.6) {
        seed = s;
        threshold = second;
        hardened_epoch = 2;
      }
    }
    if (hardened_epoch) break;
  }
  REQUIRE_MESSAGE(hardened_epoch > 0, "no seed whose validation AUROC rises after epoch 1");
  CAPTURE(seed);
  CAPTURE(to_string(score));
  CAPTURE(hardened_epoch);

  const std::string straight = testing::temp_dir("harden_straight");
  with_stdout_to(straight + ".out", [&] { return train_model(data, options(straight, seed, threshold)).summary; });
  const auto log = log_of(straight);
  CHECK(log[0]["pseudo_anomaly_strength"] == 1.0);
  CHECK(log[hardened_epoch - 1]["pseudo_anomaly_strength"].get<double>() < 1.0);
  CHECK(log[hardened_epoch - 1]["selection_auroc"].get<double>() < threshold);

  // Stopped at the end of the hardening epoch: the kept model, scored on the fainter set,
  // gives the best AUROC last.gnm carries.
  const std::string stopped = testing::temp_dir("harden_stopped");
  TrainOptions first = options(stopped, seed, threshold);
  StopAfterSteps stop_first(3 * hardened_epoch);
  REQUIRE(with_stdout_to(stopped + ".out", [&] { return train_model(data, first, &stop_first).summary; })["status"] == "interrupted");
  const LoadedModel last = load_model(stopped + "/last.gnm");
  const float strength = last.training.at("pseudo_strength").get<float>();
  CHECK(strength < 1.0f);
  LoadedModel kept = load_model(stopped + "/model.gnm");
  const Split split = split_training(data, first);
  std::vector<int> labels;
  const Tensor val = with_pseudo_anomalies(
      load_images(split.validation, 32, 3, kept.model->recipe.normalization), seed, &labels, strength);
  Scores scores = kept.model->score(val);
  kept.calibration.fuse(scores);
  CHECK(auroc(scores.get(*fixed_score(score)), labels) == doctest::Approx(last.training.at("best_metric").get<double>()).epsilon(1e-9));

  // A resumed run starts on the fainter set: stopped again after one step, its
  // checkpoint still carries the strength.
  const std::string copy = testing::temp_dir("harden_copy");
  std::filesystem::copy(stopped, copy, std::filesystem::copy_options::recursive);
  TrainOptions one_step = options(copy, seed, threshold);
  one_step.resume = copy + "/last.gnm";
  StopAfterSteps stop_one_step(1);
  REQUIRE(with_stdout_to(copy + ".out", [&] { return train_model(data, one_step, &stop_one_step).summary; })["status"] == "interrupted");
  CHECK(load_model(copy + "/last.gnm").training.at("pseudo_strength").get<float>() == strength);

  // Resumed from there, the run ends bitwise where the straight one ends.
  TrainOptions second = options(stopped, seed, threshold);
  second.resume = stopped + "/last.gnm";
  CHECK(with_stdout_to(stopped + ".out", [&] { return train_model(data, second).summary; })["status"] == "completed");
  CHECK(read_file(stopped + "/train_log.jsonl") == read_file(straight + "/train_log.jsonl"));
  CHECK(read_file(stopped + "/test_scores.csv") == read_file(straight + "/test_scores.csv"));
}

TEST_CASE("both recipes train, and anomalib's test-set validation is labelled as such") {
  const Dataset data = discover_dataset(generated_category());
  TrainOptions o = small_options(testing::temp_dir("anomalib"));
  o.recipe = RecipeName::anomalib;
  o.validate_on = ValidateOn::test;
  o.epochs = 1;
  const nlohmann::json s = train_model(data, o).summary;
  CHECK(s["recipe"] == "anomalib");
  CHECK(s["normalization"] == "imagenet");
  CHECK(s["validate_on"] == "test");
  CHECK(s["threshold_chosen_on"] == "test");
}

TEST_CASE("a NaN loss stops training without touching the weights, or skips the batch when asked") {
  const Dataset data = discover_dataset(generated_category());
  TrainOptions o = small_options(testing::temp_dir("nan_stop"));
  o.epochs = 2;
  TrainFaults faults;
  faults.nan_at_step = 5;  // in the second epoch: the first epoch's best model exists
  const std::string printed = o.out_dir + ".stdout";
  ConsoleObserver console(stdout, false);  // the library is silent: the app's printing
  const nlohmann::json stopped = with_stdout_to(printed, [&] { return train_model(data, o, &console, faults).summary; });
  CHECK(stopped["status"] == "diverged");
  // One line naming the loss, the epoch and the step, and what was kept.
  const std::string out = read_file(printed);
  CHECK(out.find("\ntraining stopped: the generator loss is not finite at epoch 2 step ") != std::string::npos);
  CHECK(out.find(" (no weights changed); the best model (epoch 1) is kept\n") != std::string::npos);
  CHECK(stopped["best_epoch"] == 1);
  LoadedModel kept = load_model(o.out_dir + "/model.gnm");
  for (const auto& named : kept.model->state()) {  // not a structured binding: clang 14 cannot capture one
    const std::string& name = named.first;
    const Tensor& t = named.second;
    CAPTURE(name);
    CHECK(std::all_of(t.data(), t.data() + t.numel(), [](float v) { return std::isfinite(v); }));
  }
  o.out_dir = testing::temp_dir("nan_skip");
  o.on_nan = OnNan::skip;
  CHECK(train_model(data, o, nullptr, faults).summary["status"] == "completed");
}

TEST_CASE("stabilisers: a discriminator pinned at BCE's clamp is re-initialised only when asked; D's own learning rate") {
  const ModelConfig config = testing::tiny_model_config();
  const Tensor images = testing::random_images();
  for (const bool reinit : {false, true}) {
    CAPTURE(reinit);
    Stabilisers stabilisers;
    stabilisers.reinit_saturated_d = reinit;
    stabilisers.discriminator_lr_scale = 0.5f;
    nn::AdamOptions adam;
    adam.lr = 1e-3f;
    Ganomaly model(config, Recipe::of(RecipeName::paper), 7, adam, LossWeights{}, stabilisers);
    CHECK(model.optimizer_g.options.lr == doctest::Approx(1e-3f));
    CHECK(model.optimizer_d.options.lr == doctest::Approx(5e-4f));
    // A huge positive classifier: D calls every image real, fake ones included, so the
    // fake half of its loss sits at BCE's clamp of 100 (loss 50): the collapse seen in
    // training.
    Tensor classifier_weight = model.discriminator.classifier->parameters().at(0);
    classifier_weight.fill(1e4f);
    const StepLosses losses = model.train_step(images);
    CHECK(losses.discriminator > 40.0f);
    CHECK(losses.discriminator_reinitialised == reinit);
    const float after = classifier_weight.data()[0];
    if (reinit)
      CHECK(std::fabs(after) < 1.0f);  // fresh N(0, 0.02) weights
    else
      CHECK(after > 1e3f);  // one Adam step moved it by about the learning rate
  }
}

TEST_CASE("stabilisers: gradient clipping changes the steps once the gradients' norm varies; the plain step is untouched") {
  const Tensor images = testing::random_images();
  auto generator_after_two_steps = [&](float clip) {
    Stabilisers stabilisers;
    stabilisers.clip_grad_norm = clip;
    Ganomaly model(testing::tiny_model_config(), Recipe::of(RecipeName::paper), 7, nn::AdamOptions{}, LossWeights{}, stabilisers);
    for (int i = 0; i < 2; ++i) {
      const StepLosses l = model.train_step(images);
      CHECK_FALSE(l.skipped);
      CHECK((clip > 0 ? l.generator_grad_norm > 0 && l.discriminator_grad_norm > 0
                      : l.generator_grad_norm == -1 && l.discriminator_grad_norm == -1));
    }
    return model.generator.parameters().at(0).to_vector();
  };
  const std::vector<float> plain = generator_after_two_steps(0.0f);
  CHECK(generator_after_two_steps(1e6f) == plain);  // a bound never reached: bitwise the plain step
  // Adam's first step is scale-free; from the second on, a clipped gradient weighs less
  // against the moments it joins.
  const std::vector<float> clipped = generator_after_two_steps(1e-3f);
  CHECK(clipped != plain);
  CHECK(std::all_of(clipped.begin(), clipped.end(), [](float v) { return std::isfinite(v); }));
}

TEST_CASE("the cosine learning-rate schedule runs from 1 down towards 0; constant stays at 1") {
  CHECK(learning_rate_factor(LrSchedule::constant, 7, 10) == 1.0f);
  CHECK(learning_rate_factor(LrSchedule::cosine, 0, 10) == doctest::Approx(1.0));
  CHECK(learning_rate_factor(LrSchedule::cosine, 5, 10) == doctest::Approx(0.5));
  CHECK(learning_rate_factor(LrSchedule::cosine, 9, 10) == doctest::Approx(0.5 * (1 + std::cos(M_PI * 0.9))));
  for (int e = 1; e < 10; ++e) CHECK(learning_rate_factor(LrSchedule::cosine, e, 10) < learning_rate_factor(LrSchedule::cosine, e - 1, 10));
}

TEST_CASE("GANomaly learns the generated category: test AUROC well above chance") {
  // Small but real: 48 training images at 32 px, 20 epochs of 6 steps. The chosen score
  // typically reaches 0.8 to 1.0 here; 0.7 leaves room for thread-count differences.
  const Dataset data = discover_dataset(generated_category());
  TrainOptions o = small_options(testing::temp_dir("learns"));
  o.model.n_features = 64;
  o.model.latent_size = 100;
  o.batch_size = 8;
  o.epochs = 20;
  const nlohmann::json s = train_model(data, o).summary;
  INFO("score ", s["score"].get<std::string>(), ", best epoch ", s["best_epoch"].get<int>());
  CHECK(s["image_auroc"].get<double>() >= 0.7);
}

TEST_CASE("options: a bad value throws OptionError naming the field; the choices' names convert both ways") {
  TrainOptions o;
  o.epochs = 0;
  try {
    o.validate();
    FAIL("validate() accepted 0 epochs");
  } catch (const OptionError& e) {
    CHECK(e.field() == "epochs");
    CHECK(e.problem() == "expected 1 to 100000, got 0");
    CHECK(std::string(e.what()) == "epochs: expected 1 to 100000, got 0");
  }
  o = TrainOptions{};
  o.loss_weights.contextual = -1;
  CHECK_THROWS_WITH_AS(o.validate(), "loss_weights.contextual: expected a weight in [0, 10000], got -1", OptionError);
  CHECK(parse_choice<ScoreChoice>("score", "auto") == ScoreChoice::best_on_validation);
  CHECK(std::string(to_string(ScoreChoice::best_on_validation)) == "auto");
  CHECK(parse_choice<RecipeName>("recipe", to_string(RecipeName::anomalib)) == RecipeName::anomalib);
  CHECK_THROWS_WITH_AS(parse_choice<OnNan>("on_nan", "x"), "on_nan: expected stop or skip, got 'x'", OptionError);
  // Files keep the names: an enum in JSON is its name.
  CHECK(nlohmann::json(ValidateOn::test) == "test");
  CHECK(nlohmann::json{{"augment", Augment::flip}}.dump() == R"({"augment":"flip"})");
}
