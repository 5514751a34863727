#pragma once
// Whole-data-set benchmarks (MVTec AD, BTAD, VisA): one training and test per category
// (and seed) with the same options, results as JSON and CSV, and markdown tables
// (category_tables.h). The runs go one after another in this process, or `jobs` at once
// as child processes (each `ganomaly_categories --task I`, as a Slurm array task runs
// one); collect_runs (category_collect.h) builds the same results from finished folders.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "categories/category_tables.h"
#include "ganomaly/train/train.h"

namespace gan {

// A data set's categories in table order; throws "--dataset: ..." for an unknown one.
const std::vector<std::string>& known_categories(const std::string& dataset);
// Where a category lives: <root>/<category> for all three (for VisA, <root> is the
// VisA root holding split_csv/1cls.csv).
std::string category_path(const std::string& root, const std::string& category);

struct CategoryRunOptions {
  std::string dataset;                  // mvtec, btad or visa
  std::string root;                     // the data set's root folder
  std::vector<std::string> categories;  // empty: every known category present under root
  std::vector<uint64_t> seeds;          // empty: train.seed alone, into <out_dir>/<dataset>/<category>; else
                                        // one run per category and seed, into .../<category>/seed_<S>
  std::string out_dir = "runs/categories";
  TrainOptions train;                   // out_dir is replaced by each run's folder; a run_config gets that
                                        // run's "data", "format", "out" and "seed" (its config.json)
  TableLayout table = TableLayout::rows;  // the printed tables (<dataset>_table.md is always rows)
  int jobs = 1;                         // runs at once; above 1, each in a child process (task_command)
  int threads = 0;                      // threads of all jobs together (0: every core); each job gets threads / jobs
  std::vector<std::string> task_command;  // the argv that runs one run alone, --task I appended (jobs > 1)
  std::FILE* log = stdout;              // progress, notes and the tables
  TrainObserver* observer = nullptr;    // each category's training progress; asked whether to stop
};

// The categories to run. Explicit ones must all be folders under root (the error names
// the missing path); without any, the known categories present are used and the others
// listed in `skipped`; none present is an error.
std::vector<std::string> select_categories(const CategoryRunOptions& options,
                                                     std::vector<std::string>* skipped = nullptr);

// One training of a category with one seed, into its folder.
struct CategoryTask {
  std::string category;
  uint64_t seed = 0;
  std::string out_dir;
};
// Every run, category by category and, within one, seed by seed: index I is what
// `--task I` (a Slurm array task) runs.
std::vector<CategoryTask> category_tasks(const CategoryRunOptions& options, const std::vector<std::string>& categories);

// A run's results row from its summary.json object (train_model's summary): its
// figures, or status "failed" and an error when it has none (a one-class test set has
// none, but is not failed).
nlohmann::json results_row(const CategoryTask& task, const std::string& data, const nlohmann::json& summary);

// Writes <out_dir>/<dataset>_results.json, .csv and _table.md (rows layout), atomically.
void write_category_results(const std::string& out_dir, const nlohmann::json& results);

struct CategoryRunResult {
  nlohmann::json results;  // also written to <out_dir>/<dataset>_results.json (.csv)
  std::string markdown;    // the tables, as printed
  int failed = 0;          // categories with status "failed" (bad data, no test metrics)
  bool interrupted = false;
};

// Trains and tests every selected category (and seed). A run that throws is recorded
// with status "failed" and its error, and the others go on. The results files are
// rewritten (atomically) after every run. Stops between runs, or within one, when the
// observer asks to (with jobs > 1: the running children are sent SIGINT and finish their
// step, each leaving its resumable last.gnm).
CategoryRunResult run_categories(const CategoryRunOptions& options);

// "--task: expected 0 to 3 (4 runs: categories x seeds), got 4".
std::string task_range_error(int index, size_t runs);

// `--task I`: runs the I-th of category_tasks alone, into its folder, writing no results
// files (collect_runs or the parent of --jobs builds them); returns its row. An index
// out of range throws naming --task and the number of runs.
nlohmann::json run_category_task(const CategoryRunOptions& options, int index);

}  // namespace gan
