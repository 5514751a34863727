#pragma once
// What the bench records of the machine: the CPU as /proc/cpuinfo names it, its vector
// instructions, and the environment variables that change BLAS or OpenMP behaviour.
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>

extern char** environ;

namespace gan::bench {

// The first processor's fields of /proc/cpuinfo that name the CPU.
inline std::map<std::string, std::string> cpu_fields() {
  std::map<std::string, std::string> fields;
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line) && !line.empty()) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
    const auto start = line.find_first_not_of(" \t", colon + 1);
    fields[key] = start == std::string::npos ? "" : line.substr(start);
  }
  return fields;
}

// The flags that say which vector instructions the CPU has (for the Markdown; the JSON
// keeps them all).
inline std::string simd_flags(const std::string& flags) {
  static const std::regex simd("^(sse|ssse|avx|fma|amx|f16c|bmi|vnni|vaes|vpclmul|gfni)");
  std::istringstream in(flags);
  std::string flag, out;
  while (in >> flag)
    if (std::regex_search(flag, simd)) out += (out.empty() ? "" : " ") + flag;
  return out;
}

// The environment variables that change BLAS, OpenMP, oneDNN, ATen or the loader's choices.
inline std::map<std::string, std::string> behaviour_environment() {
  static const std::regex name("^(OMP_|GOMP_|KMP_|OPENBLAS_|GOTO_|BLIS_|MKL_|DNNL_|ONEDNN_|ATEN_|TORCH_|ORT_|"
                               "GANOMALY_KERNELS$|LD_PRELOAD$|LD_LIBRARY_PATH$)");
  std::map<std::string, std::string> vars;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    const auto eq = kv.find('=');
    if (eq != std::string::npos && std::regex_search(kv.substr(0, eq), name)) vars[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return vars;
}

}  // namespace gan::bench
