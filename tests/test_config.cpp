// Config files (ganomaly_train --config, apps/config_file.h): the config.json a run writes
// reads back as the same options; the command line wins over the file; unknown keys,
// wrong types and bad values are one-line errors naming the file and the key; and a run
// repeated from its config.json gives the same model, byte for byte.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../apps/train_command.h"
#include "support/fixtures.h"
#include "support/run_app.h"

namespace fs = std::filesystem;
using gan::TrainOptions;
using gan::app::read_train_command;
using gan::app::TrainCommand;
using gan::testing::AppResult;
using gan::testing::run_app;
using gan::testing::temp_dir;
using gan::testing::write_tiny_dataset;

namespace {

// Every TrainOptions field, so that two option sets compare whole.
nlohmann::json every_field(const TrainOptions& o) {
  return {{"image_size", o.model.image_size},
          {"channels", o.model.channels},
          {"n_features", o.model.n_features},
          {"latent_size", o.model.latent_size},
          {"extra_layers", o.model.extra_layers},
          {"spectral_norm", o.model.spectral_norm},
          {"recipe", o.recipe},
          {"epochs", o.epochs},
          {"batch_size", o.batch_size},
          {"learning_rate", o.learning_rate},
          {"lr_schedule", o.lr_schedule},
          {"loss_weights", {o.loss_weights.adversarial, o.loss_weights.contextual, o.loss_weights.encoder}},
          {"stabilisers", {o.stabilisers.discriminator_lr_scale, o.stabilisers.real_label, o.stabilisers.instance_noise,
                           o.stabilisers.clip_grad_norm}},
          {"reinit_saturated_d", o.stabilisers.reinit_saturated_d},
          {"augment", o.augment},
          {"seed", o.seed},
          {"patience", o.patience},
          {"min_steps", o.min_steps},
          {"selection_tolerance", o.selection_tolerance},
          {"fusion_margin", o.fusion_margin},
          {"harden_at", o.harden_at},
          {"validation_fraction", o.validation_fraction},
          {"score", o.score},
          {"ema_decay", o.ema_decay},
          {"recalibrate_batch_norm", o.recalibrate_batch_norm},
          {"validate_on", o.validate_on},
          {"out_dir", o.out_dir},
          {"resume", o.resume},
          {"log_test_auroc", o.log_test_auroc},
          {"max_pixels", o.max_pixels},
          {"on_nan", o.on_nan},
          {"weights", o.weights},
          {"device", gan::device_name(o.device)}};
}

TrainCommand command(std::vector<std::string> words) {
  words.insert(words.begin(), "ganomaly_train");
  std::vector<const char*> argv;
  for (const std::string& w : words) argv.push_back(w.c_str());
  const std::optional<TrainCommand> c = read_train_command(static_cast<int>(argv.size()), argv.data());
  REQUIRE(c.has_value());
  return *c;
}

std::string write_config(const std::string& tag, const std::string& text) {
  const std::string path = temp_dir("config_" + tag) + "/run.json";
  std::ofstream(path) << text;
  return path;
}

// The one-line message a bad command line or config file gives.
std::string usage_error(const std::vector<std::string>& words) {
  try {
    command(words);
  } catch (const gan::app::UsageError& e) {
    return e.what();
  }
  return "no usage error";
}

const std::string kFast = " --epochs 1 --min-steps 0 --image-size 32 --n-features 8 --latent-size 8 --batch-size 8";

std::string q(const std::string& s) { return "'" + s + "'"; }

const std::string& tiny_data() {
  static const std::string root = write_tiny_dataset("config_data");
  return root;
}

}  // namespace

TEST_CASE("config files: the effective config holds every option and reads back as the same options") {
  const TrainCommand typed = command({"data/x", "--out", "runs/x", "--format", "mvtec", "--recipe", "anomalib",
                                      "--image-size", "48", "--channels", "1", "--extra-layers", "1", "--epochs", "3",
                                      "--batch-size", "4", "--lr", "0.00031", "--lr-schedule", "cosine", "--w-con", "40.5",
                                      "--d-lr-scale", "0.5", "--real-label", "0.9", "--spectral-norm",
                                      "--reinit-saturated-d", "--instance-noise", "0.1", "--clip-grad-norm", "2.5",
                                      "--augment", "flip", "--seed", "18446744073709551615", "--patience", "0",
                                      "--min-steps", "7", "--selection-tolerance", "0.0123456789012345",
                                      "--fusion-margin", "0.3", "--harden-at", "0", "--validation-fraction", "0.25",
                                      "--score", "latent", "--ema", "0", "--recalibrate-bn", "--validate-on", "test",
                                      "--on-nan", "skip", "--log-test-auroc", "--max-pixels", "12345678", "--threads", "1",
                                      "--no-report"});
  const nlohmann::json& config = typed.train.run_config;
  INFO(config.dump(2));

  // Every option of ganomaly_train is there, and nothing else.
  std::set<std::string> names;
  const cxxopts::Options options = gan::app::train_command_options();
  for (const auto& o : options.group_help("").options)
    if (o.l.front() != "config" && o.l.front() != "help" && o.l.front() != "version") names.insert(o.l.front());
  std::set<std::string> keys;
  for (const auto& [key, value] : config.items()) keys.insert(key);
  CHECK(keys == names);
  CHECK(config["data"] == "data/x");
  CHECK(config["seed"] == 18446744073709551615ull);
  CHECK(config["lr"].is_number_float());
  CHECK(config["spectral-norm"] == true);
  CHECK(config["no-report"] == true);
  CHECK(config["resume"] == "");

  const std::string file = write_config("round_trip", config.dump(2));
  const TrainCommand read = command({"--config", file});
  CHECK(read.train.run_config == config);
  CHECK(every_field(read.train) == every_field(typed.train));
  CHECK(read.data == "data/x");
  CHECK(read.format == "mvtec");
  CHECK(read.report == false);

  SUBCASE("the defaults are written too, and read back as the defaults") {
    const TrainCommand plain = command({"data/y"});
    const TrainCommand again = command({"--config", write_config("defaults", plain.train.run_config.dump())});
    TrainOptions defaults;
    defaults.run_config = plain.train.run_config;
    CHECK(every_field(again.train) == every_field(defaults));
    CHECK(plain.train.run_config["epochs"] == defaults.epochs);
    CHECK(plain.train.run_config["lr"].get<float>() == defaults.learning_rate);
    CHECK(plain.train.run_config["spectral-norm"] == false);
  }
}

TEST_CASE("config files: the command line wins over the file; DATA_DIR from either") {
  const std::string file = write_config("override", R"({"data": "from_file", "out": "runs/file", "epochs": 5,
                                                        "lr": 0.001, "spectral-norm": true, "score": "latent"})");
  const TrainCommand c = command({"from_cli", "--config", file, "--epochs", "7", "--spectral-norm=false"});
  CHECK(c.data == "from_cli");
  CHECK(c.train.epochs == 7);
  CHECK(c.train.model.spectral_norm == false);
  CHECK(c.train.learning_rate == 0.001f);
  CHECK(c.train.out_dir == "runs/file");
  CHECK(c.train.score == gan::ScoreChoice::latent);
  CHECK(c.train.run_config["epochs"] == 7);  // the effective options, as run
  CHECK(c.train.run_config["data"] == "from_cli");
  CHECK(c.train.run_config["spectral-norm"] == false);

  const TrainCommand from_file = command({"--config", file});
  CHECK(from_file.data == "from_file");
  CHECK(from_file.train.epochs == 5);
  CHECK(from_file.train.model.spectral_norm == true);

  CHECK(usage_error({"--config", write_config("no_data", R"({"epochs": 5})")}) == "missing DATA_DIR (see --help)");
}

// --min-steps scales only what was not typed (test_run_folder): a file's key is typed.
TEST_CASE("config files: --epochs and --patience count as typed from the command line or the file, not as defaults") {
  const TrainCommand plain = command({"data/x"});
  CHECK(!plain.train.typed.epochs);
  CHECK(!plain.train.typed.patience);
  const TrainCommand flags = command({"data/x", "--epochs", "2", "--patience", "1"});
  CHECK(flags.train.typed.epochs);
  CHECK(flags.train.typed.patience);
  const TrainCommand file = command({"data/x", "--config", write_config("typed", R"({"epochs": 2})")});
  CHECK(file.train.typed.epochs);
  CHECK(!file.train.typed.patience);
}

TEST_CASE("config files: unknown keys, wrong types and broken files are usage errors naming the file and the key") {
  auto error_of = [](const std::string& tag, const std::string& text) {
    const std::string file = write_config(tag, text);
    const std::string e = usage_error({"data/x", "--config", file});
    CHECK(e.rfind(file + ": ", 0) == 0);
    return e.substr(std::min(e.size(), file.size() + 2));
  };
  CHECK(error_of("unknown", R"({"epochs": 3, "bogus": 1})") ==
        "bogus: unknown key (expected an option's name as in --help, without the '--')");
  CHECK(error_of("dashes", R"({"--epochs": 3})") ==
        "--epochs: unknown key (expected an option's name as in --help, without the '--')");
  CHECK(error_of("field_name", R"({"learning_rate": 0.1})") ==
        "learning_rate: unknown key (expected an option's name as in --help, without the '--')");
  CHECK(error_of("help", R"({"help": true})") == "help: cannot be set in a config file");
  CHECK(error_of("nested", R"({"config": "other.json"})") == "config: cannot be set in a config file");
  CHECK(error_of("string_int", R"({"epochs": "ten"})") == "epochs: expected an integer, got \"ten\"");
  CHECK(error_of("float_int", R"({"epochs": 2.5})") == "epochs: expected an integer, got 2.5");
  CHECK(error_of("big_int", R"({"epochs": 10000000000})") ==
        "epochs: expected an integer in the 32-bit range, got 10000000000");
  CHECK(error_of("negative_seed", R"({"seed": -1})") == "seed: expected an integer, 0 or more, got -1");
  CHECK(error_of("string_number", R"({"lr": "0.1"})") == "lr: expected a number, got \"0.1\"");
  CHECK(error_of("number_switch", R"({"spectral-norm": 1})") == "spectral-norm: expected true or false, got 1");
  CHECK(error_of("number_text", R"({"out": 5})") == "out: expected a string, got 5");
  CHECK(error_of("null", R"({"recipe": null})") == "recipe: expected a string, got null");
  CHECK(error_of("array", R"([1, 2])") == "expected a JSON object of options ({\"epochs\": 30, ...}), got array");
  CHECK(error_of("broken", "{\"epochs\": 3,") .rfind("not a JSON config file: parse error at line 1", 0) == 0);

  // A missing file is a missing file (exit 1), not a usage error.
  const std::string missing = temp_dir("config_missing") + "/none.json";
  try {
    command({"data/x", "--config", missing});
    FAIL("no error");
  } catch (const gan::app::UsageError&) {
    FAIL("a usage error");
  } catch (const gan::Error& e) {
    CHECK(std::string(e.what()) == missing + ": cannot read the config file (--config): no such file");
  }
}

TEST_CASE("config files: a key twice, a number no double holds, two --config files: usage errors naming file and key") {
  const std::string twice = write_config("twice", R"({"epochs": 3, "lr": 0.001, "epochs": 4})");
  CHECK(usage_error({"data/x", "--config", twice}) == twice + ": epochs: given twice (each key once)");
  const std::string huge = write_config("huge", R"({"epochs": 3, "lr": 1e400})");
  CHECK(usage_error({"data/x", "--config", huge}) == huge + ": lr: number overflow parsing '1e400'");
  const std::string other = write_config("other", R"({"lr": 0.001})");
  CHECK(usage_error({"data/x", "--config", other, "--config", twice}) ==
        "--config: given more than once; give one config file");
}

TEST_CASE("ganomaly_train --config: a data folder from the file that is not there is named by the file and the key") {
  const std::string file = write_config("missing_data", R"({"data": "no/such/folder"})");
  const AppResult r = run_app("ganomaly_train", "--config " + q(file));
  CHECK(r.exit_code == 1);
  CHECK(r.output ==
        "ganomaly_train: " + file + ": data: no/such/folder: not found (a relative path is read from the working folder)\n");
}

// Repeated, a resumed run's config.json must start the run again, not resume a
// checkpoint that has run every epoch ("training already finished").
TEST_CASE("config files: a resumed run's effective config does not resume") {
  const TrainCommand resumed = command({"data/x", "--resume", "runs/a/last.gnm"});
  CHECK(resumed.train.resume == "runs/a/last.gnm");
  CHECK(resumed.train.run_config["resume"] == "");
}

TEST_CASE("--format: a misspelt layout is a usage error (exit 2), from the command line or the file") {
  const std::string out = temp_dir("config_format") + "/run";
  const AppResult typed = run_app("ganomaly_train", q(tiny_data()) + " --out " + q(out) + " --format nonsense");
  CHECK(typed.exit_code == 2);
  CHECK(typed.output ==
        "ganomaly_train: --format: expected auto, mvtec, btad, visa, visa_converted or folder, got 'nonsense'\n");
  const std::string file = write_config("format", R"({"format": "nonsense"})");
  const AppResult from_file = run_app("ganomaly_train", q(tiny_data()) + " --out " + q(out) + " --config " + q(file));
  CHECK(from_file.exit_code == 2);
  CHECK(from_file.output == "ganomaly_train: " + file +
                                ": format: expected auto, mvtec, btad, visa, visa_converted or folder, got 'nonsense'\n");
  CHECK(!fs::exists(out));
}

// "--categories ''" is refused; so is the file's empty list, rather than meaning "every category".
TEST_CASE("ganomaly_categories --config: an empty categories list is refused, as --categories '' is") {
  const std::string root = temp_dir("config_no_categories");
  const std::string file = write_config("no_categories", R"({"categories": []})");
  const AppResult r = run_app("ganomaly_categories", "--dataset mvtec --root " + q(root) + " --out " + q(root + "/out") +
                                                         " --config " + q(file));
  CHECK(r.exit_code == 2);
  CHECK(r.output == "ganomaly_categories: " + file +
                        ": categories: expected at least one name (leave the key out for the default), got []\n");
  const AppResult typed = run_app("ganomaly_categories", "--dataset mvtec --root " + q(root) + " --categories ''");
  CHECK(typed.exit_code == 2);
  CHECK(!fs::exists(root + "/out"));

  const std::string no_root = write_config("no_root", R"({"root": "no/such/root"})");
  const AppResult missing = run_app("ganomaly_categories", "--dataset mvtec --config " + q(no_root));
  CHECK(missing.exit_code == 1);
  CHECK(missing.output == "ganomaly_categories: " + no_root +
                              ": root: no/such/root: not found (a relative path is read from the working folder)\n");
}

TEST_CASE("ganomaly_train --config: a bad value from the file names the file and the key, exit 2, nothing written") {
  const std::string out = temp_dir("config_bad_value") + "/run";
  auto run_with = [&](const std::string& tag, const std::string& entries) {
    const std::string file = write_config(tag, "{\"data\": \"" + tiny_data() + "\", \"out\": \"" + out + "\", " + entries + "}");
    const AppResult r = run_app("ganomaly_train", "--config " + q(file));
    INFO(r.output);
    CHECK(r.exit_code == 2);
    CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
    CHECK(!fs::exists(out));
    return r.output.substr(0, r.output.find(file)) + "F" + r.output.substr(std::min(r.output.size(), r.output.find(file) + file.size()));
  };
  CHECK(run_with("epochs", "\"epochs\": 0") == "ganomaly_train: F: epochs: expected 1 to 100000, got 0\n");
  CHECK(run_with("image_size", "\"image-size\": 7") == "ganomaly_train: F: image-size: expected 32 to 512, got 7\n");
  CHECK(run_with("recipe", "\"recipe\": \"bogus\"") ==
        "ganomaly_train: F: recipe: expected 'anomalib' or 'paper', got 'bogus'\n");
  CHECK(run_with("tiny_lr", "\"lr\": 1e-300") ==
        "ganomaly_train: F: lr: '1e-300' is too close to 0 for a 32-bit float (see --help)\n");
  CHECK(run_with("threads", "\"threads\": -1") == "ganomaly_train: F: threads: expected 0 (all cores) to 1024, got -1\n");
  CHECK(run_with("unknown", "\"bogus\": 1") ==
        "ganomaly_train: F: bogus: unknown key (expected an option's name as in --help, without the '--')\n");
  // The same value typed on the command line is named by its flag.
  const AppResult typed = run_app("ganomaly_train", q(tiny_data()) + " --out " + q(out) + " --epochs 0 --threads 2");
  CHECK(typed.output == "ganomaly_train: --epochs: expected 1 to 100000, got 0\n");
}

TEST_CASE("ganomaly_train --config RUN/config.json repeats the run: the same model.gnm, byte for byte") {
  const std::string root = temp_dir("config_repeat");
  const AppResult first = run_app("ganomaly_train", q(tiny_data()) + " --out " + q(root + "/a") + kFast +
                                                        " --seed 7 --lr 0.0003 --augment flip --threads 1 --no-report");
  INFO(first.output);
  REQUIRE(first.exit_code == 0);
  const std::string config_path = root + "/a/config.json";
  REQUIRE(fs::exists(config_path));
  const nlohmann::json config = nlohmann::json::parse(gan::testing::read_file(config_path));
  CHECK(config["data"] == tiny_data());
  CHECK(config["out"] == root + "/a");
  CHECK(config["seed"] == 7);
  CHECK(config["threads"] == 1);
  CHECK(config["augment"] == "flip");
  for (const auto& f : fs::directory_iterator(root + "/a")) CHECK(f.path().string().find(".tmp.") == std::string::npos);

  const AppResult second = run_app("ganomaly_train", "--config " + q(config_path) + " --out " + q(root + "/b"));
  INFO(second.output);
  REQUIRE(second.exit_code == 0);
  const std::string a = gan::testing::read_file(root + "/a/model.gnm"), b = gan::testing::read_file(root + "/b/model.gnm");
  REQUIRE(!a.empty());
  CHECK(a == b);
  CHECK(gan::testing::read_file(root + "/a/test_scores.csv") == gan::testing::read_file(root + "/b/test_scores.csv"));
  // The second run's config differs from the first's only in "out".
  nlohmann::json repeated = nlohmann::json::parse(gan::testing::read_file(root + "/b/config.json"));
  CHECK(repeated["out"] == root + "/b");
  repeated["out"] = root + "/a";
  CHECK(repeated == config);
}
