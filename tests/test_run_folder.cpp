// What a training run's output folder holds: a run resumed into another --out, and the
// epochs a small set scales to (--min-steps) against the epochs the user typed.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../apps/app_common.h"
#include "ganomaly/io/checkpoint_io.h"
#include "ganomaly/io/model_file.h"
#include "ganomaly/train/train.h"
#include "support/fixtures.h"
#include "support/run_app.h"

using namespace gan;
using gan::testing::read_file;

namespace {

std::vector<int> logged_epochs(const std::string& log) {
  std::vector<int> epochs;
  std::istringstream in(read_file(log));
  for (std::string line; std::getline(in, line);) epochs.push_back(nlohmann::json::parse(line).at("epoch").get<int>());
  return epochs;
}

// Records the notes a run prints.
struct NoteTaker : TrainObserver {
  void on_note(const Note& note, bool) override { notes += FieldError::render(note, app::flag_of) + "\n"; }
  std::string notes;
};

}  // namespace

// Resumed into a new folder, a run whose later epochs never beat the checkpoint's best
// ended "completed" with summary.json naming a model.gnm that was never written, and a
// log that began at the resumed epoch.
TEST_CASE("resumed into another --out with no better epoch: the new folder holds the kept model and the whole log") {
  const Dataset data = discover_dataset(testing::write_tiny_dataset("resume_new_out_data"));
  const testing::TempDir first("resume_first"), second("resume_second");
  train_model(data, testing::tiny_train_options(first.path.string(), 2));
  // No resumed epoch can beat a stored best AUROC of 2.
  CheckpointFile last = load_checkpoint(first / "last.gnm");
  last.config["training"]["best_metric"] = 2.0;
  save_checkpoint(first / "last.gnm", last);

  TrainOptions more = testing::tiny_train_options(second.path.string(), 3);
  more.resume = first / "last.gnm";
  const TrainResult r = train_model(data, more);
  CHECK(r.summary["status"] == "completed");
  CHECK(r.summary["best_epoch"] == last.config["training"]["best_epoch"]);
  REQUIRE(r.summary["model"] == second / "model.gnm");
  CHECK(read_file(second / "model.gnm") == read_file(first / "model.gnm"));  // the kept model, bitwise
  CHECK(load_model(second / "model.gnm").model != nullptr);
  CHECK(read_file(second / "test_scores.csv") == read_file(first / "test_scores.csv"));
  CHECK(logged_epochs(second / "train_log.jsonl") == std::vector<int>{1, 2, 3});
  CHECK(logged_epochs(first / "train_log.jsonl") == std::vector<int>{1, 2});  // the source is left alone
}

TEST_CASE("resumed into another --out that holds an earlier run's log: the log is the resumed run's alone") {
  const Dataset data = discover_dataset(testing::write_tiny_dataset("resume_old_log_data"));
  const testing::TempDir first("resume_log_first"), second("resume_log_second");
  train_model(data, testing::tiny_train_options(first.path.string(), 1));
  train_model(data, testing::tiny_train_options(second.path.string(), 2));  // an unrelated earlier run
  TrainOptions more = testing::tiny_train_options(second.path.string(), 2);
  more.resume = first / "last.gnm";
  NoteTaker notes;
  train_model(data, more, &notes);
  CHECK(logged_epochs(second / "train_log.jsonl") == std::vector<int>{1, 2});
  CHECK(read_file(second / "train_log.jsonl").rfind(read_file(first / "train_log.jsonl"), 0) == 0);  // its epoch 1
  CHECK(notes.notes.find("epochs 1 to 1 copied from " + first / "train_log.jsonl") != std::string::npos);

  // Without the checkpoint's log, the new one starts at the resumed epoch, and says so.
  const testing::TempDir third("resume_log_third");
  std::filesystem::remove(first / "train_log.jsonl");
  more.out_dir = third.path.string();
  NoteTaker no_log;
  train_model(data, more, &no_log);
  CHECK(logged_epochs(third / "train_log.jsonl") == std::vector<int>{2});
  CHECK(no_log.notes.find("note: " + first / "train_log.jsonl" + " not found: " + third / "train_log.jsonl" +
                          " starts at epoch 2") != std::string::npos);
}

TEST_CASE("--min-steps scales only a default --epochs and --patience: typed ones are kept, and the note says which") {
  TrainOptions o;
  o.epochs = 30, o.patience = 10, o.min_steps = 300;
  CHECK(scaled_for_steps(o, 2).epochs == 150);
  CHECK(scaled_for_steps(o, 2).patience == 50);
  o.typed.patience = true;
  CHECK(scaled_for_steps(o, 2).epochs == 150);
  CHECK(scaled_for_steps(o, 2).patience == 10);
  o.typed.epochs = true;
  CHECK(scaled_for_steps(o, 2).epochs == 30);

  // The tiny set: 6 training images at batch 4 are 1 step an epoch; --min-steps 3 asks for 3 epochs.
  const Dataset data = discover_dataset(testing::write_tiny_dataset("min_steps_typed_data"));
  const testing::TempDir out("min_steps_typed");
  TrainOptions run = testing::tiny_train_options(out.path.string(), 1);
  run.min_steps = 3;
  run.run_config = {{"epochs", 1}, {"patience", 0}};
  NoteTaker scaled;
  CHECK(train_model(data, run, &scaled).summary["epochs_run"] == 3);
  CHECK(scaled.notes.find("--epochs 1 (the default) -> 3 and --patience 0 -> 0, so that training runs at least 3 steps") !=
        std::string::npos);
  // config.json holds the epochs as run: repeated from it, they are typed and give the same run.
  CHECK(nlohmann::json::parse(read_file(out / "config.json"))["epochs"] == 3);

  run.typed.epochs = true;
  NoteTaker kept;
  CHECK(train_model(data, run, &kept).summary["epochs_run"] == 1);
  CHECK(kept.notes.find("--epochs 1 as typed: 1 steps, fewer than --min-steps 3 (which scales only a default --epochs)") !=
        std::string::npos);
}

// The app reads a typed --epochs as typed (a config file's key too: test_config).
TEST_CASE("ganomaly_train --epochs 2 on a small set trains 2 epochs, whatever --min-steps asks") {
  const std::string data = testing::write_tiny_dataset("epochs_typed_data");
  const testing::TempDir out("epochs_typed");
  const std::string tiny = " --image-size 32 --n-features 8 --latent-size 8 --batch-size 4 --threads 2 --no-report";
  const testing::AppResult typed =
      testing::run_app("ganomaly_train", data + " --out " + out / "flag" + tiny + " --epochs 2 --min-steps 5");
  INFO(typed.output);
  REQUIRE(typed.exit_code == 0);
  CHECK(nlohmann::json::parse(read_file(out / "flag/summary.json"))["epochs_run"] == 2);
}
