#pragma once
// The tables of a whole-data-set run (run_categories, or collect_runs over finished
// folders), from its results object.
//
// rows (the default): the layout of the GANomaly model README anomalib ships, one table
//   per data set with one row per category and a last `Average` row under
//   | Model | Image AUROC | Image F1 |, then the oracle F1 and the four trivial floors
//   (eval/floors.h) as further columns. Every category of the data set has its row; one
//   without figures keeps empty cells and a note under the table says why.
// columns: anomalib's older layout, a table per metric with the columns
//   | | Avg | <category>... | and one row for the setting.
//
// With several seeds a category's cell is the mean over its seeds with results and their
// standard deviation ("0.912 ± 0.004"); Average is the mean of the categories' means.
#include <string>

#include <nlohmann/json.hpp>

namespace gan {

enum class TableLayout { rows, columns };
// "rows" or "columns"; throws "--table: ..." otherwise.
TableLayout parse_table_layout(const std::string& name);

// A run's results row has figures (a finite image AUROC).
bool has_results(const nlohmann::json& row);
// Tested, but its test set holds one class: its image metrics are undefined (null).
bool is_one_class(const nlohmann::json& row);

// The "average" object of a results file: per metric (image_auroc, image_f1_oracle,
// image_f1), the mean over the categories that have it of each category's mean over seeds.
nlohmann::json categories_average(const nlohmann::json& rows);

// The markdown for a results object: values with 3 decimals.
std::string categories_markdown(const nlohmann::json& results, TableLayout layout = TableLayout::rows);
// One line per run: category,seed,image_auroc,image_f1_oracle,image_f1,threshold,
// train_seconds,image_size,recipe,score,status,error.
std::string categories_csv(const nlohmann::json& results);

}  // namespace gan
