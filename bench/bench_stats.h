#pragma once
// The arithmetic and the Markdown of ganomaly_bench's fair table, kept apart from the
// timing so that tests/test_bench_stats.cpp can check them without timing anything.
//
// Each configuration (image size, batch, threads) is measured in R alternating
// repetitions (ours, PyTorch, ours, PyTorch, ...); a repetition gives one images/second
// figure per side and per task (training step, scoring pass). The table shows the
// median of the R figures and their range (min-max); a ratio is ours' median over
// PyTorch's median, and its range is the worst and best pairing of the two ranges
// (ours' min / PyTorch's max, ours' max / PyTorch's min), so a range that stays above 1
// holds whichever repetitions are compared.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace gan::bench {

// One measured configuration: image size, batch, threads.
struct Config {
  int size = 0, batch = 0, threads = 0;
};

// "SIZE:BATCH:THREADS", e.g. "256:4:2"; throws std::invalid_argument naming --configs.
inline Config parse_config(const std::string& text) {
  Config c;
  char tail = 0;
  if (std::sscanf(text.c_str(), "%d:%d:%d%c", &c.size, &c.batch, &c.threads, &tail) != 3 || c.size < 8 ||
      (c.size & (c.size - 1)) || c.batch < 2 || c.threads < 1)
    throw std::invalid_argument("--configs: expected SIZE:BATCH:THREADS with a power-of-two size >= 8, batch >= 2 and "
                                "threads >= 1, got '" + text + "'");
  return c;
}

// A run too short for the README: fewer than 20 timed steps or 3 repetitions.
inline bool quick_run(int steps, int reps) { return steps < 20 || reps < 3; }

struct Summary {
  double median = 0, min = 0, max = 0;
};

// Median (the mean of the two middle values for an even count), min and max.
inline Summary summarize(std::vector<double> v) {
  if (v.empty()) throw std::invalid_argument("summarize: no values");
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  Summary s;
  s.median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  s.min = v.front();
  s.max = v.back();
  return s;
}

// ours / theirs: the ratio of the medians, and the range of the ratio over the pairings.
inline Summary ratio(const Summary& ours, const Summary& theirs) {
  if (!(theirs.min > 0)) throw std::invalid_argument("ratio: PyTorch's figures must be positive");
  return {ours.median / theirs.median, ours.min / theirs.max, ours.max / theirs.min};
}

// A side is flagged when its process used more CPU time than `threads` cores could give
// in the wall time, with 0.2 of slack for the clocks and the runtime's own threads.
inline bool over_threads(double cpu_per_wall, int threads) { return cpu_per_wall > threads + 0.2; }

// Three significant figures or more: 1234, 251.6 -> 252, 41.45 -> 41.5, 3.532 -> 3.53.
inline std::string figure(double v) {
  char buf[64];
  const double a = std::fabs(v);
  std::snprintf(buf, sizeof buf, a >= 100 ? "%.0f" : a >= 10 ? "%.1f" : a >= 1 ? "%.2f" : "%.3f", v);
  return buf;
}

// "75.2 (74.1-76.0)"; one value only when the range is empty.
inline std::string cell(const Summary& s) {
  if (figure(s.min) == figure(s.max)) return figure(s.median);
  return figure(s.median) + " (" + figure(s.min) + "-" + figure(s.max) + ")";
}

// "2.93x (2.80-3.05)", bold when the whole range is at or above `bold_at` (0: never).
inline std::string ratio_cell(const Summary& r, double bold_at = 0) {
  char m[32], lo[32], hi[32];
  std::snprintf(m, sizeof m, "%.2fx", r.median);
  std::snprintf(lo, sizeof lo, "%.2f", r.min);
  std::snprintf(hi, sizeof hi, "%.2f", r.max);
  std::string median = m;
  if (bold_at > 0 && r.min >= bold_at) median = "**" + median + "**";
  if (std::string(lo) == hi) return median;
  return median + " (" + lo + "-" + hi + ")";
}

// CPU time over wall time of one side (the largest over its repetitions), "1.98", with
// " (!)" when over_threads says it used more cores than stated.
inline std::string cpu_cell(double cpu_per_wall, int threads) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", cpu_per_wall);
  return std::string(buf) + (over_threads(cpu_per_wall, threads) ? " (!)" : "");
}

// One configuration, every figure already reduced over its repetitions.
struct Row {
  int size = 0, batch = 0, threads = 0;
  Summary train, torch_train, score, torch_score, ort_score;
  double cpu_train = 0, cpu_score = 0, torch_cpu_train = 0, torch_cpu_score = 0, ort_cpu_score = 0;  // max CPU/wall
  double rss_mib = 0, rss_before_mib = 0;              // ours: peak, and before the model
  double torch_rss_mib = 0, torch_rss_before_mib = 0;  // PyTorch: peak, and the interpreter before the model
  double ort_rss_mib = 0, ort_rss_before_mib = 0;      // ONNX Runtime: peak, and node with the library loaded
  double flops_train = 0, flops_score = 0;             // per image (step_flops.h)
  double peak_gflops = 0;                              // the FMA probe at `threads` (fma_peak.h)
};

// Which references a table shows.
struct Sides {
  bool torch = false, ort = false;
};

// The table: ours, and beside it PyTorch (training and scoring) and ONNX Runtime (scoring)
// when measured: medians and ranges, ratios, CPU/wall and peak RSS.
inline std::string markdown_table(const std::vector<Row>& rows, Sides sides) {
  std::string head = "| px | batch | threads | train img/s |", rule = "|---|---|---|---|";
  auto column = [&](const char* name) { head += std::string(" ") + name + " |", rule += "---|"; };
  if (sides.torch) column("torch train"), column("train ratio");
  column("score img/s");
  if (sides.torch) column("torch score"), column("score ratio");
  if (sides.ort) column("ORT score"), column("ratio to ORT");
  column("CPU/wall train, score");
  if (sides.torch) column("torch CPU/wall");
  if (sides.ort) column("ORT CPU/wall");
  column("peak RSS MiB (before model)");
  if (sides.torch) column("torch peak RSS MiB (before model)");
  if (sides.ort) column("ORT peak RSS MiB (before model)");
  std::string out = head + "\n" + rule + "\n";
  char buf[128];
  auto rss = [&](double peak, double before) {
    std::snprintf(buf, sizeof buf, " %.0f (%.0f) |", peak, before);
    return std::string(buf);
  };
  for (const Row& r : rows) {
    std::snprintf(buf, sizeof buf, "| %d | %d | %d | ", r.size, r.batch, r.threads);
    out += buf + cell(r.train) + " | ";
    if (sides.torch) out += cell(r.torch_train) + " | " + ratio_cell(ratio(r.train, r.torch_train), 1.0) + " | ";
    out += cell(r.score) + " | ";
    if (sides.torch) out += cell(r.torch_score) + " | " + ratio_cell(ratio(r.score, r.torch_score), 1.0) + " | ";
    if (sides.ort) out += cell(r.ort_score) + " | " + ratio_cell(ratio(r.score, r.ort_score), 1.0) + " | ";
    out += cpu_cell(r.cpu_train, r.threads) + ", " + cpu_cell(r.cpu_score, r.threads) + " |";
    if (sides.torch) out += " " + cpu_cell(r.torch_cpu_train, r.threads) + ", " + cpu_cell(r.torch_cpu_score, r.threads) + " |";
    if (sides.ort) out += " " + cpu_cell(r.ort_cpu_score, r.threads) + " |";
    out += rss(r.rss_mib, r.rss_before_mib);
    if (sides.torch) out += rss(r.torch_rss_mib, r.torch_rss_before_mib);
    if (sides.ort) out += rss(r.ort_rss_mib, r.ort_rss_before_mib);
    out += "\n";
  }
  return out;
}

// Achieved GFLOP/s of `img_s` images per second at `flops` per image, and its share of
// `peak`: "95.3 (41%)".
inline std::string gflops_cell(double img_s, double flops, double peak) {
  char buf[64];
  const double g = img_s * flops * 1e-9;
  std::snprintf(buf, sizeof buf, "%s (%.0f%%)", figure(g).c_str(), peak > 0 ? 100.0 * g / peak : 0.0);
  return buf;
}

// Each side's GFLOP/s (of the medians) beside the FMA peak at the row's threads.
inline std::string gflops_table(const std::vector<Row>& rows, Sides sides) {
  std::string out = "| px | batch | threads | FMA peak GFLOP/s | GFLOP per image train, score | train GFLOP/s (of peak) |";
  std::string rule = "|---|---|---|---|---|---|";
  if (sides.torch) out += " torch train |", rule += "---|";
  out += " score GFLOP/s |", rule += "---|";
  if (sides.torch) out += " torch score |", rule += "---|";
  if (sides.ort) out += " ORT score |", rule += "---|";
  out += "\n" + rule + "\n";
  char buf[160];
  for (const Row& r : rows) {
    std::snprintf(buf, sizeof buf, "| %d | %d | %d | %s | %s, %s | ", r.size, r.batch, r.threads,
                  figure(r.peak_gflops).c_str(), figure(r.flops_train * 1e-9).c_str(),
                  figure(r.flops_score * 1e-9).c_str());
    out += buf + gflops_cell(r.train.median, r.flops_train, r.peak_gflops) + " | ";
    if (sides.torch) out += gflops_cell(r.torch_train.median, r.flops_train, r.peak_gflops) + " | ";
    out += gflops_cell(r.score.median, r.flops_score, r.peak_gflops) + " | ";
    if (sides.torch) out += gflops_cell(r.torch_score.median, r.flops_score, r.peak_gflops) + " | ";
    if (sides.ort) out += gflops_cell(r.ort_score.median, r.flops_score, r.peak_gflops) + " | ";
    out.pop_back();
    out += "\n";
  }
  return out;
}

// True when any side of any row used more cores than it was given.
inline bool any_over_threads(const std::vector<Row>& rows) {
  for (const Row& r : rows)
    for (double c : {r.cpu_train, r.cpu_score, r.torch_cpu_train, r.torch_cpu_score, r.ort_cpu_score})
      if (over_threads(c, r.threads)) return true;
  return false;
}

}  // namespace gan::bench
