#pragma once
// Whole-data-set benchmarks (MVTec AD, BTAD, VisA): one training and test per category
// with the same options, results as JSON and CSV, and markdown tables in the shape of
// anomalib's GANomaly README (an "Image-Level AUC" table and F1 tables, each with the
// columns | | Avg | <category>... | and one row).
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

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
  std::string out_dir = "runs/categories";
  TrainOptions train;                   // out_dir is replaced by <out_dir>/<dataset>/<category>; a run_config
                                        // gets that category's "data", "format" and "out" (its config.json)
  std::FILE* log = stdout;              // progress, notes and the tables
  TrainObserver* observer = nullptr;    // each category's training progress; asked whether to stop
};

// The categories to run. Explicit ones must all be folders under root (the error names
// the missing path); without any, the known categories present are used and the others
// listed in `skipped`; none present is an error.
std::vector<std::string> select_categories(const CategoryRunOptions& options,
                                                     std::vector<std::string>* skipped = nullptr);

struct CategoryRunResult {
  nlohmann::json results;  // also written to <out_dir>/<dataset>_results.json (.csv)
  std::string markdown;    // the tables, as printed
  int failed = 0;          // categories with status "failed" (bad data, no test metrics)
  bool interrupted = false;
};

// Trains and tests every selected category in turn. A category that throws is
// recorded with status "failed" and its error, and the run goes on. The results files
// are rewritten (atomically) after every category. Stops between categories, or with
// the category's training, when the observer asks to.
CategoryRunResult run_categories(const CategoryRunOptions& options);

// The markdown tables for a results object as run_categories builds it: AUROC, oracle
// F1 and validation-threshold F1, values with 3 decimals, Avg over the categories
// that have the metric.
std::string categories_markdown(const nlohmann::json& results);
// One row per category: category,image_auroc,image_f1_oracle,image_f1,threshold,
// train_seconds,image_size,recipe,score,status,error.
std::string categories_csv(const nlohmann::json& results);

}  // namespace gan
