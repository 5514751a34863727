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
  Summary train, torch_train, score, torch_score;
  double cpu_train = 0, cpu_score = 0, torch_cpu_train = 0, torch_cpu_score = 0;  // max CPU/wall
  double rss_mib = 0, rss_before_mib = 0;              // ours: peak, and before the model
  double torch_rss_mib = 0, torch_rss_before_mib = 0;  // PyTorch: peak, and the interpreter before the model
};

// The table: with PyTorch, both sides, medians and ranges, ratios, CPU/wall and peak RSS;
// without, ours' columns only.
inline std::string markdown_table(const std::vector<Row>& rows, bool with_torch) {
  std::string out =
      with_torch ? "| px | batch | threads | train img/s | torch train | train ratio | score img/s | torch score | score ratio "
                   "| CPU/wall train, score | torch CPU/wall | peak RSS MiB (before model) | torch peak RSS MiB (before model) |\n"
                   "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
                 : "| px | batch | threads | train img/s | score img/s | CPU/wall train, score | peak RSS MiB (before model) |\n"
                   "|---|---|---|---|---|---|---|\n";
  char buf[128];
  for (const Row& r : rows) {
    std::snprintf(buf, sizeof buf, "| %d | %d | %d | ", r.size, r.batch, r.threads);
    out += buf;
    if (with_torch) {
      out += cell(r.train) + " | " + cell(r.torch_train) + " | " + ratio_cell(ratio(r.train, r.torch_train), 1.0) + " | ";
      out += cell(r.score) + " | " + cell(r.torch_score) + " | " + ratio_cell(ratio(r.score, r.torch_score), 1.0) + " | ";
    } else {
      out += cell(r.train) + " | " + cell(r.score) + " | ";
    }
    out += cpu_cell(r.cpu_train, r.threads) + ", " + cpu_cell(r.cpu_score, r.threads) + " | ";
    if (with_torch) out += cpu_cell(r.torch_cpu_train, r.threads) + ", " + cpu_cell(r.torch_cpu_score, r.threads) + " | ";
    std::snprintf(buf, sizeof buf, "%.0f (%.0f) |", r.rss_mib, r.rss_before_mib);
    out += buf;
    if (with_torch) {
      std::snprintf(buf, sizeof buf, " %.0f (%.0f) |", r.torch_rss_mib, r.torch_rss_before_mib);
      out += buf;
    }
    out += "\n";
  }
  return out;
}

// True when any side of any row used more cores than it was given.
inline bool any_over_threads(const std::vector<Row>& rows) {
  for (const Row& r : rows)
    for (double c : {r.cpu_train, r.cpu_score, r.torch_cpu_train, r.torch_cpu_score})
      if (over_threads(c, r.threads)) return true;
  return false;
}

}  // namespace gan::bench
