#pragma once
// The references the bench times beside ours, each in its own process: PyTorch
// (tools/torch_bench.py: its configurations probed, then timed in the fastest) and ONNX
// Runtime (bench/ort_bench.js on the graph ganomaly_export --features never writes).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_process.h"
#include "bench_stats.h"
#include "ganomaly/eval/calibration.h"
#include "ganomaly/io/onnx_export.h"
#include "ganomaly/model/ganomaly.h"

namespace gan::bench {

// One repetition of one side.
struct Measure {
  double train = 0, score = 0;          // images per second
  double cpu_train = 0, cpu_score = 0;  // CPU time / wall time over the timed steps
  double rss_mib = 0, rss_before_mib = 0;
  int os_threads = 0;
  int64_t params = 0;
};

// tools/torch_bench.py's options for a configuration from its --probe ("config" object).
inline std::string torch_config_args(const nlohmann::json& config) {
  std::string args;
  for (const auto& [key, value] : config.items()) {
    std::string flag = key;
    for (char& ch : flag) ch = ch == '_' ? '-' : ch;
    args += " --" + flag + " " + shell_quote(value.is_string() ? value.get<std::string>() : value.dump());
  }
  return args;
}

// PyTorch's configurations at c's threads (tools/torch_bench.py --probe), its progress
// echoed; the "torch_probe" JSON.
inline nlohmann::json probe_torch(const std::string& python, const std::string& script, const Config& c, int probe_steps,
                           const std::vector<std::string>& blas_dirs) {
  std::string cmd = shell_quote(python) + " " + shell_quote(script) + " --probe --size " + std::to_string(c.size) +
                    " --batch " + std::to_string(c.batch) + " --threads " + std::to_string(c.threads) +
                    " --probe-steps " + std::to_string(probe_steps);
  for (const std::string& dir : blas_dirs) cmd += " --extra-blas-dir " + shell_quote(dir);
  std::string out;
  const bool ok = run_command(cmd, out, "  ", "torch_probe ");
  const nlohmann::json probe = tagged_json(out, "torch_probe ");
  if (!ok || probe.is_null() || probe.contains("error"))
    throw std::runtime_error("the PyTorch probe failed (" + cmd + "):\n" + out);
  return probe;
}

// PyTorch's side: one process of tools/torch_bench.py in `config` (from the probe) for
// `task` (both, train or score); its last line "torch_bench {json}" holds the figures.
inline bool time_torch(const std::string& python, const std::string& script, const Config& c, int steps, int warmup,
                const nlohmann::json& config, const std::string& task, Measure& m, nlohmann::json& raw) {
  const std::string n = std::to_string(c.threads);
  const std::string cmd = shell_quote(python) + " " + shell_quote(script) + " --size " + std::to_string(c.size) +
                          " --batch " + std::to_string(c.batch) + " --steps " + std::to_string(steps) + " --warmup " +
                          std::to_string(warmup) + torch_config_args(config) + " --task " + task;
  std::string out;
  const bool ok = run_command(cmd, out);
  raw = tagged_json(out, "torch_bench ");
  if (!ok || raw.is_null()) {
    std::fprintf(stderr, "ganomaly_bench: the PyTorch side failed (%s):\n%s\n", cmd.c_str(), out.c_str());
    return false;
  }
  if (task != "score") m.train = raw.at("train_img_s"), m.cpu_train = raw.at("train_cpu_per_wall");
  if (task != "train") m.score = raw.at("score_img_s"), m.cpu_score = raw.at("score_cpu_per_wall");
  m.rss_mib = std::max(m.rss_mib, raw.at("peak_rss_mib").get<double>());
  m.rss_before_mib = raw.at("rss_before_model_mib");
  m.os_threads = std::max(m.os_threads, raw.at("os_threads").get<int>());
  m.params = raw.at("params");
  // The thread counts it ran with must be the configuration's.
  if (raw.at("env").value("OMP_NUM_THREADS", std::string()) != n)
    throw std::runtime_error("the PyTorch side ran with OMP_NUM_THREADS != " + n);
  if (raw.at("env").value("OPENBLAS_NUM_THREADS", std::string()) != std::to_string(config.at("blas_threads").get<int>()))
    throw std::runtime_error("the PyTorch side ran with another OPENBLAS_NUM_THREADS than its configuration's");
  if (raw.at("torch_num_threads") != c.threads || raw.at("torch_num_interop_threads") != c.threads)
    throw std::runtime_error("the PyTorch side reports other thread counts than " + n);
  return true;
}

// ONNX Runtime's side: one process of bench/ort_bench.js on `model` (the .onnx file);
// "ort_bench {json}" holds the figures.
inline bool time_ort(const std::string& node, const std::string& node_path, const std::string& script,
              const std::string& model, const Config& c, int steps, int warmup, Measure& m, nlohmann::json& raw) {
  const std::string n = std::to_string(c.threads);
  const std::string cmd = "env NODE_PATH=" + shell_quote(node_path) + " OMP_NUM_THREADS=" + n + " " +
                          shell_quote(node) + " " + shell_quote(script) + " --model " + shell_quote(model) +
                          " --size " + std::to_string(c.size) + " --batch " + std::to_string(c.batch) + " --steps " +
                          std::to_string(steps) + " --warmup " + std::to_string(warmup) + " --threads " + n;
  std::string out;
  const bool ok = run_command(cmd, out);
  raw = tagged_json(out, "ort_bench ");
  if (!ok || raw.is_null()) {
    std::fprintf(stderr, "ganomaly_bench: the ONNX Runtime side failed (%s):\n%s\n", cmd.c_str(), out.c_str());
    return false;
  }
  m.score = raw.at("score_img_s");
  m.cpu_score = raw.at("score_cpu_per_wall");
  m.rss_mib = raw.at("peak_rss_mib");
  m.rss_before_mib = raw.at("rss_before_model_mib");
  m.os_threads = raw.at("os_threads");
  return true;
}

// The graph ganomaly_export --features never writes for a fresh model of c's size (the
// weights do not change the time), in `path`.
inline void export_onnx(const Config& c, const std::string& path) {
  gan::ModelConfig config;
  config.image_size = c.size;
  gan::Ganomaly model(config, gan::Recipe::of(gan::RecipeName::anomalib), 42);
  const gan::onnx::Model graph = gan::build_onnx_model(model, gan::Calibration{}, gan::OnnxFeatures::never);
  std::ofstream out(path, std::ios::binary);
  out << gan::onnx::encode(graph);
  if (!out) throw std::runtime_error(path + ": cannot write the ONNX graph");
}

}  // namespace gan::bench
