#include "support/run_app.h"

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

#include "ganomaly/data/synth.h"
#include "ganomaly/train/train.h"

namespace gan::testing {

std::vector<std::string> app_command(const std::string& app) {
  std::vector<std::string> words;
#ifdef GANOMALY_TEST_EMULATOR
  std::istringstream emulator(GANOMALY_TEST_EMULATOR);
  for (std::string word; emulator >> word;) words.push_back(word);
#endif
  words.push_back(std::string(GANOMALY_BINARY_DIR) + "/" + app);
  return words;
}

AppResult run_app(const std::string& app, const std::string& args) {
  std::string command;
  for (const std::string& word : app_command(app)) command += word + " ";
  command += args + " 2>&1";
  AppResult result{-1, ""};
  std::FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) result.output.append(buf.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::string temp_dir(const std::string& tag) {
  static int counter = 0;
  const auto dir = std::filesystem::temp_directory_path() /
                   ("ganomaly_" + tag + "_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

TinyRun train_tiny_run(const std::string& tag) {
  SynthOptions s;
  s.out = temp_dir(tag + "_data");
  s.category = "bottle";
  s.size = 32;
  s.train = 16;
  s.test_good = 4;
  s.test_bad = 4;
  TinyRun run;
  run.data = write_synthetic_dataset(s);
  TrainOptions o;
  o.model.image_size = 32;
  o.model.n_features = 8;
  o.model.latent_size = 8;
  o.epochs = 1;
  o.batch_size = 8;
  o.patience = 0;
  o.min_steps = 0;
  run.out = temp_dir(tag + "_run");
  o.out_dir = run.out;
  run.result = train_model(discover_dataset(run.data), o);
  run.summary = run.result.summary;
  return run;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool has_temp_files(const std::filesystem::path& dir) {
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir))
    if (entry.path().filename().string().find(".tmp.") != std::string::npos) return true;
  return false;
}

}  // namespace gan::testing
