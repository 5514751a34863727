#pragma once
// ganomaly_bench --profile: where a training step's and a scoring pass's CPU time goes,
// per op family (tensor/profile.h), with the GEMM's GFLOP/s beside the whole step's.
// Shares of the step's CPU time and CPU milliseconds per step rather than wall time, so
// that a loaded machine (other processes taking the cores) changes the figures little;
// each repetition builds a fresh model, and the tables give the median and the range over
// the repetitions.
#include <ctime>
#include <cstdio>
#include <string>
#include <vector>

#include "bench_stats.h"
#include "ganomaly/model/ganomaly.h"
#include "step_flops.h"
#include "tensor/profile.h"

namespace gan::bench {

inline double process_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// One task's profile over one repetition: per-step CPU seconds per op family, and of the
// whole step (process CPU time), and the step's wall time.
struct TaskProfile {
  std::vector<double> op_cpu = std::vector<double>(profile::kOps);
  std::vector<double> op_calls = std::vector<double>(profile::kOps);
  double step_cpu = 0, step_wall = 0;
};

// Runs `warmup` unprofiled steps, then `steps` profiled ones.
template <typename Step>
TaskProfile profile_task(Step step, int steps, int warmup) {
  for (int s = 0; s < warmup; ++s) step();
  profile::set_enabled(true);
  profile::reset();
  const double cpu0 = process_cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  for (int s = 0; s < steps; ++s) step();
  TaskProfile p;
  p.step_wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / steps;
  p.step_cpu = (process_cpu_seconds() - cpu0) / steps;
  const profile::Totals totals = profile::totals();
  profile::set_enabled(false);
  for (int i = 0; i < profile::kOps; ++i) {
    p.op_cpu[i] = totals.cpu_seconds[i] / steps;
    p.op_calls[i] = static_cast<double>(totals.calls[i]) / steps;
  }
  return p;
}

// "median (min-max)" with `digits` decimals.
inline std::string spread(const std::vector<double>& v, int digits) {
  const Summary s = summarize(v);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%.*f (%.*f-%.*f)", digits, s.median, digits, s.min, digits, s.max);
  return buf;
}

// The Markdown table of one task over its repetitions; flops: the task's FLOPs per step.
inline std::string profile_table(const std::string& title, const std::vector<TaskProfile>& reps, double flops) {
  std::string out = "#### " + title +
                    "\n\n| op family | share of the step's CPU time, % | CPU ms per step | calls per step |\n"
                    "|---|---|---|---|\n";
  auto column = [&](auto get) {
    std::vector<double> v;
    for (const TaskProfile& p : reps) v.push_back(get(p));
    return v;
  };
  for (int i = 0; i < profile::kOps; ++i) {
    out += std::string("| ") + profile::name(static_cast<profile::Op>(i)) + " | " +
           spread(column([i](const TaskProfile& p) { return 100 * p.op_cpu[i] / p.step_cpu; }), 1) + " | " +
           spread(column([i](const TaskProfile& p) { return 1e3 * p.op_cpu[i]; }), 1) + " | " +
           spread(column([i](const TaskProfile& p) { return p.op_calls[i]; }), 0) + " |\n";
  }
  auto outside = [](const TaskProfile& p) {
    double in = 0;
    for (double v : p.op_cpu) in += v;
    return p.step_cpu - in;
  };
  out += "| outside the kernels (autograd tape, op glue) | " +
         spread(column([&](const TaskProfile& p) { return 100 * outside(p) / p.step_cpu; }), 1) + " | " +
         spread(column([&](const TaskProfile& p) { return 1e3 * outside(p); }), 1) + " | |\n";
  out += "| **whole step** | 100 | " + spread(column([](const TaskProfile& p) { return 1e3 * p.step_cpu; }), 1) +
         " | |\n\n";
  const int gemm = static_cast<int>(profile::Op::gemm);
  out += "GFLOP/s per CPU second: GEMM alone " +
         spread(column([&](const TaskProfile& p) { return 1e-9 * flops / p.op_cpu[gemm]; }), 1) + ", whole step " +
         spread(column([&](const TaskProfile& p) { return 1e-9 * flops / p.step_cpu; }), 1) +
         "; the step at " + spread(column([&](const TaskProfile& p) { return 100 * p.op_cpu[gemm] / p.step_cpu; }), 1) +
         "% of the GEMM's speed. CPU/wall " +
         spread(column([](const TaskProfile& p) { return p.step_cpu / p.step_wall; }), 2) +
         ".\n\n";
  return out;
}

// Profiles `reps` fresh models at configuration c (threads already set) and prints the
// training and scoring tables; scoring as ganomaly_bench times it (no feature score).
inline void profile_config(const Config& c, int steps, int warmup, int reps) {
  const StepFlops flops = step_flops(c.size);
  std::vector<TaskProfile> train, score;
  for (int r = 0; r < reps; ++r) {
    ModelConfig config;
    config.image_size = c.size;
    Ganomaly model(config, Recipe::of(RecipeName::anomalib), 42);
    Rng rng(1);
    Tensor x = Tensor::empty(Shape{c.batch, 3, c.size, c.size});
    for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] = rng.uniform(-1.0f, 1.0f);
    train.push_back(profile_task([&] { model.train_step(x); }, steps, warmup));
    score.push_back(profile_task([&] { model.score(x, c.batch, nullptr, FeatureScore::skip); }, steps, warmup));
    std::fprintf(stderr, "  profiled repetition %d/%d\n", r + 1, reps);
  }
  const std::string config = std::to_string(c.size) + " px, batch " + std::to_string(c.batch) + ", " +
                             std::to_string(c.threads) + " thread" + (c.threads == 1 ? "" : "s") + ", " +
                             std::to_string(steps) + " steps x " + std::to_string(reps) + " repetitions";
  std::printf("%s", profile_table("Training step, " + config, train, flops.train * c.batch).c_str());
  std::printf("%s", profile_table("Scoring pass, " + config, score, flops.score * c.batch).c_str());
  std::fflush(stdout);
}

}  // namespace gan::bench
