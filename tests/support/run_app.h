#pragma once
// Runs one of the built apps and captures its exit code and output, for CLI tests.
#include <string>

namespace gan::testing {

struct AppResult {
  int exit_code;
  std::string output;  // stdout and stderr together
};

// `args` is passed through the shell as written; the app is looked up in the build dir.
AppResult run_app(const std::string& app, const std::string& args);
// A fresh empty folder under the system temp dir.
std::string temp_dir(const std::string& tag);

}  // namespace gan::testing
