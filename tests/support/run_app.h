#pragma once
// Test support: run the built apps, temporary folders, whole-file reads.
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ganomaly/train/train.h"

namespace gan::testing {

struct AppResult {
  int exit_code;
  std::string output;  // stdout and stderr together
};

// `args` is passed through the shell as written; the app is looked up in the build dir.
AppResult run_app(const std::string& app, const std::string& args);
// The argv that starts a built app: its path in the build dir, after the emulator's words
// in a cross build (GANOMALY_TEST_EMULATOR, e.g. qemu-aarch64-static), so the tests need
// no binfmt_misc registration to start aarch64 apps.
std::vector<std::string> app_command(const std::string& app);
// A fresh empty folder under the system temp dir.
std::string temp_dir(const std::string& tag);

// A fresh folder removed again when the object goes out of scope.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& tag) : path(temp_dir(tag)) {}
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string operator/(const std::string& relative) const { return (path / relative).string(); }
};

// A tiny generated category (32 px, 16 training images, 4 + 4 test) and one epoch of
// training on it with a small network: a real model in a second or two.
struct TinyRun {
  std::string data;  // the category folder
  std::string out;   // the training output folder (model.gnm, summary.json, ...)
  nlohmann::json summary;
  TrainResult result;  // what train_model returned (summary is its summary)
};
TinyRun train_tiny_run(const std::string& tag);

// The whole file, byte for byte; empty when it cannot be read.
std::string read_file(const std::string& path);
// Whether `dir`, or a folder under it, holds a "<name>.tmp.<pid>" file of the atomic writer.
bool has_temp_files(const std::filesystem::path& dir);

}  // namespace gan::testing
