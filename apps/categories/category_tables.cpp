#include "categories/category_tables.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <vector>

#include "categories/category_runner.h"
#include "ganomaly/io/json_text.h"
#include "tensor/check.h"

namespace gan {

namespace {

bool has_number(const nlohmann::json& row, const std::string& key) {
  return row.is_object() && row.contains(key) && row[key].is_number() && std::isfinite(row[key].get<double>());
}

// The metrics every layout shows, with the row layout's headings.
struct Metric {
  const char* key;
  const char* column;  // rows layout
  const char* title;   // columns layout: the table's heading
};
const Metric kMetrics[] = {
    {"image_auroc", "Image AUROC", "Image-Level AUC"},
    {"image_f1", "Image F1", "Image F1 (threshold chosen on validation, honest)"},
    {"image_f1_oracle", "Image F1 (oracle)", "Image F1 (oracle threshold, as anomalib reports)"},
};
// ganomaly_baseline's floors (eval/floors.h), as summary.json's floor_image_auroc names them.
const std::pair<const char*, const char*> kFloors[] = {{"nearest_l1", "Floor: nearest L1"},
                                                       {"nearest_l2", "Floor: nearest L2"},
                                                       {"mean_l1", "Floor: mean L1"},
                                                       {"mean_l2", "Floor: mean L2"}};
std::string floor_key(const char* name) { return std::string("floor:") + name; }

std::string fixed3(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

struct Stat {
  double sum = 0, squares = 0;
  int n = 0;
  void add(double v) { sum += v, squares += v * v, ++n; }
  double mean() const { return sum / n; }
  // The sample standard deviation (n - 1); 0 for one value.
  double sd() const { return n < 2 ? 0.0 : std::sqrt(std::max(0.0, (squares - sum * sum / n) / (n - 1))); }
};

// One category's runs (one per seed), their figures pooled.
struct CategoryFigures {
  std::string name;
  std::map<std::string, Stat> stats;  // metric keys and floor_key(...)
  int runs = 0;
};

// The categories in the order their first run appears.
std::vector<CategoryFigures> by_category(const nlohmann::json& rows) {
  std::vector<CategoryFigures> out;
  for (const auto& row : rows) {
    const std::string name = row.at("category").get<std::string>();
    auto it = std::find_if(out.begin(), out.end(), [&](const CategoryFigures& c) { return c.name == name; });
    if (it == out.end()) it = out.insert(out.end(), CategoryFigures{name, {}, 0});
    ++it->runs;
    if (!has_results(row)) continue;  // a failed or one-class run has no figures, floors included
    for (const Metric& m : kMetrics)
      if (has_number(row, m.key)) it->stats[m.key].add(row[m.key].get<double>());
    const nlohmann::json floors = row.value("floor_image_auroc", nlohmann::json::object());
    for (const auto& [name_, column] : kFloors)
      if (has_number(floors, name_)) it->stats[floor_key(name_)].add(floors[name_].get<double>());
  }
  return out;
}

bool any_one_class(const nlohmann::json& rows, const std::string& category) {
  for (const auto& row : rows)
    if (row.at("category") == category && is_one_class(row)) return true;
  return false;
}

int seed_count(const nlohmann::json& results) {
  return results.contains("seeds") && results["seeds"].is_array() ? std::max<int>(1, results["seeds"].size()) : 1;
}

// A category's cell: the mean, with the spread over seeds when several were asked for,
// and how many of them gave figures when not all did.
std::string cell(const CategoryFigures& c, const std::string& key, int seeds) {
  const auto it = c.stats.find(key);
  if (it == c.stats.end() || it->second.n == 0) return "";
  const Stat& s = it->second;
  std::string text = fixed3(s.mean());
  if (seeds > 1 && s.n > 1) text += " ± " + fixed3(s.sd());
  if (seeds > 1 && s.n < seeds) text += str(" (", s.n, " of ", seeds, " seeds)");
  return text;
}

// The mean over the categories with figures of their means; empty without any.
std::string average_cell(const std::vector<CategoryFigures>& cats, const std::string& key) {
  Stat s;
  for (const CategoryFigures& c : cats)
    if (const auto it = c.stats.find(key); it != c.stats.end() && it->second.n) s.add(it->second.mean());
  return s.n ? fixed3(s.mean()) : "";
}

std::string seeds_text(const nlohmann::json& results) {
  if (seed_count(results) < 2) return str("seed ", results.value("seed", uint64_t(0)));
  std::string list;
  for (const auto& s : results["seeds"]) list += (list.empty() ? "" : ", ") + std::to_string(s.get<uint64_t>());
  return "seeds " + list + " (mean ± standard deviation over the seeds)";
}

// "Avg over the 1 category with results (failed: 01)": a failed or one-class category
// has no figures, so it is not counted, and a failed one is named.
std::string average_scope(const nlohmann::json& rows, const char* average) {
  std::set<std::string> with_results;
  std::string failed;
  for (const auto& row : rows) {
    if (has_results(row)) with_results.insert(row.at("category").get<std::string>());
    if (row.value("status", "") == "failed") {
      const std::string name = row.at("category").get<std::string>();
      if (failed.find(name) == std::string::npos) failed += (failed.empty() ? "" : ", ") + name;
    }
  }
  const size_t n = with_results.size();
  return str(average, " over the ", n, n == 1 ? " category" : " categories", " with results",
             failed.empty() ? "" : " (failed: " + failed + ")");
}

// "Not in Avg: 01 (failed: ...); wood (the test set has ...)": every run without figures.
std::string not_in_average(const nlohmann::json& results) {
  const bool seeds = seed_count(results) > 1;
  std::string missing;
  for (const auto& row : results.at("categories")) {
    if (has_results(row)) continue;
    std::string name = row.at("category").get<std::string>();
    if (seeds && row.contains("seed")) name += str(" seed ", row["seed"].get<uint64_t>());
    const std::string why = is_one_class(row) ? row["warning"].get<std::string>()
                                              : row.value("status", "") +
                                                    (row.contains("error") ? ": " + row["error"].get<std::string>() : "");
    missing += str(missing.empty() ? "" : "; ", name, " (", why, ")");
  }
  return missing.empty() ? "" : "\nNot in Avg: " + missing + "\n";
}

const char* dataset_heading(const std::string& dataset) {
  if (dataset == "mvtec") return "[MVTec AD Dataset](https://www.mvtec.com/company/research/datasets/mvtec-ad)";
  if (dataset == "btad") return "BTAD Dataset";
  return "[VisA Dataset](https://github.com/amazon-science/spot-diff)";
}

// The model README's spelling: MVTec AD's categories capitalised ("Metal_nut").
std::string row_name(const std::string& dataset, std::string category) {
  if (dataset == "mvtec" && !category.empty() && category[0] >= 'a' && category[0] <= 'z') category[0] -= 'a' - 'A';
  return category;
}

// A markdown table whose columns are padded to their widest cell, as the model README's;
// lines[1] stands for the rule under the header and is drawn as dashes.
std::string padded_table(const std::vector<std::vector<std::string>>& lines) {
  std::vector<size_t> width(lines.front().size(), 3);
  auto length = [](const std::string& s) {  // in characters: "±" is two bytes
    return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
  };
  for (const auto& line : lines)
    for (size_t i = 0; i < line.size(); ++i) width[i] = std::max(width[i], length(line[i]));
  std::string md;
  for (size_t l = 0; l < lines.size(); ++l) {
    md += "|";
    for (size_t i = 0; i < width.size(); ++i) {
      const std::string& c = l == 1 ? std::string(width[i], '-') : lines[l][i];
      md += " " + c + std::string(width[i] - length(c), ' ') + " |";
    }
    md += "\n";
  }
  return md;
}

// Why a data set's category has no run: not under the data root (or, collected, no
// folder), left out of --categories, or not reached before an interruption.
std::string empty_rows_note(const nlohmann::json& results, const std::vector<std::string>& empty) {
  if (empty.empty()) return "";
  std::vector<std::string> skipped, rest;
  std::set<std::string> skipped_set;
  for (const auto& s : results.value("skipped", nlohmann::json::array())) skipped_set.insert(s.get<std::string>());
  for (const std::string& c : empty) (skipped_set.count(c) ? skipped : rest).push_back(c);
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const std::string& c : v) s += (s.empty() ? "" : ", ") + c;
    return s;
  };
  std::string note = "\nEmpty rows, no figures:";
  if (!skipped.empty())
    note += str(" ", join(skipped), " (",
                results.value("skipped_reason", "no folder under " + results.value("root", std::string("the root"))), ")");
  if (!rest.empty())
    note += str(skipped.empty() ? " " : "; ", join(rest), " (",
                results.value("interrupted", false) ? "not reached: the run was interrupted" : "not in the categories asked for",
                ")");
  return note + ".\n";
}

std::string header_line(const nlohmann::json& results, const nlohmann::json& rows, const char* average) {
  const bool oracle_validation = results.value("validate_on", "heldout") == "test";
  return str("GANomaly, recipe `", results.value("recipe", ""), "`, image size ", results.value("image_size", 0), ", ",
             seeds_text(results), ", score `", results.value("score", ""), "`, max epochs ", results.value("epochs", 0),
             "; ", average_scope(rows, average),
             oracle_validation ? "; validated on the TEST set (anomalib's habit): every figure is an oracle" : "", ".\n");
}

std::string rows_markdown(const nlohmann::json& results) {
  const std::string dataset = results.value("dataset", "");
  const nlohmann::json& rows = results.at("categories");
  const std::vector<CategoryFigures> cats = by_category(rows);
  const int seeds = seed_count(results);
  bool floors = false;
  for (const CategoryFigures& c : cats)
    for (const auto& [name, column] : kFloors) floors = floors || c.stats.count(floor_key(name));

  std::vector<std::string> keys;
  std::vector<std::vector<std::string>> lines(2);
  lines[0].push_back("Model");
  for (const Metric& m : kMetrics) keys.push_back(m.key), lines[0].push_back(m.column);
  if (floors)
    for (const auto& [name, column] : kFloors) keys.push_back(floor_key(name)), lines[0].push_back(column);
  lines[1] = lines[0];  // the rule, drawn by padded_table

  // Every category of the data set in its order, then any other that ran.
  std::vector<std::string> order;
  try {
    order = known_categories(dataset);
  } catch (const Error&) {
  }
  for (const CategoryFigures& c : cats)
    if (std::find(order.begin(), order.end(), c.name) == order.end()) order.push_back(c.name);
  std::vector<std::string> empty;
  for (const std::string& name : order) {
    std::vector<std::string> line = {row_name(dataset, name)};
    const auto c = std::find_if(cats.begin(), cats.end(), [&](const CategoryFigures& f) { return f.name == name; });
    if (c == cats.end()) empty.push_back(name);
    for (const std::string& key : keys) {
      std::string text = c == cats.end() ? "" : cell(*c, key, seeds);
      if (text.empty() && c != cats.end() && key == "image_auroc" && any_one_class(rows, name)) text = "n/a (one class)";
      line.push_back(text);
    }
    lines.push_back(line);
  }
  std::vector<std::string> average = {"Average"};
  for (const std::string& key : keys) average.push_back(average_cell(cats, key));
  lines.push_back(average);

  std::string md = str("## ", dataset_heading(dataset), "\n\n");
  md += header_line(results, rows, "Average");
  md += str("Image F1 at the threshold chosen on validation (honest); Image F1 (oracle) at the test set's best "
            "threshold, as anomalib reports it",
            floors ? "; floors: the image AUROC of each test image's L1 or L2 distance to the nearest or the mean "
                     "training image, no model (ganomaly_baseline)"
                   : "",
            ".\n\n");
  md += padded_table(lines);
  md += empty_rows_note(results, empty);
  md += not_in_average(results);
  return md;
}

// anomalib's older layout: a table per metric, a column per category.
std::string columns_markdown(const nlohmann::json& results) {
  const std::string dataset = results.value("dataset", "");
  const std::string recipe = results.value("recipe", "");
  const int size = results.value("image_size", 0);
  const nlohmann::json& rows = results.at("categories");
  const std::vector<CategoryFigures> cats = by_category(rows);
  const int seeds = seed_count(results);
  std::string label = str("GANomaly (", recipe, ", ", size, " px, ",
                          seeds > 1 ? str(seeds, " seeds") : str("seed ", results.value("seed", uint64_t(0))));
  if (results.value("validate_on", "heldout") == "test") label += ", validated on test";
  label += ")";

  std::string md = str("## ", dataset_heading(dataset), "\n\n") + header_line(results, rows, "Avg");
  std::string header = "| | Avg |", rule = "| --- | :---: |";
  for (const CategoryFigures& c : cats) {
    header += " " + c.name + " |";
    rule += " :---: |";
  }
  for (const Metric& m : kMetrics) {
    std::string cells;
    for (const CategoryFigures& c : cats) {
      const std::string text = cell(c, m.key, seeds);
      cells += " " + (!text.empty() ? text : any_one_class(rows, c.name) ? "n/a (one class)" : "-") + " |";
    }
    const std::string avg = average_cell(cats, m.key);
    md += str("\n### ", m.title, " (image size ", size, ", recipe ", recipe, ")\n\n");
    md += header + "\n" + rule + "\n";
    md += "| " + label + " | " + (avg.empty() ? "-" : avg) + " |" + cells + "\n";
    if (std::string(m.key) != "image_auroc") continue;
    // The nearest-image floors (no model at all) under the AUROC row, averaged as it is.
    for (const char* name : {"nearest_l1", "nearest_l2"}) {
      const std::string floor_avg = average_cell(cats, floor_key(name));
      if (floor_avg.empty()) continue;
      std::string floor_cells;
      for (const CategoryFigures& c : cats) {
        const std::string text = cell(c, floor_key(name), seeds);
        floor_cells += " " + (text.empty() ? "-" : text) + " |";
      }
      md += str("| floor: ", name, " (distance to the nearest training image, no model) | ", floor_avg, " |",
                floor_cells, "\n");
    }
  }
  return md + not_in_average(results);
}

std::string csv_field(const nlohmann::json& v) {
  if (v.is_null()) return "";
  if (v.is_number_float()) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.6g", v.get<double>());
    return buf;
  }
  std::string s = v.is_string() ? v.get<std::string>() : dump_json(v);
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string quoted = "\"";
  for (char c : s) {
    if (c == '"') quoted += '"';
    quoted += (c == '\n' || c == '\r') ? ' ' : c;
  }
  return quoted + "\"";
}

}  // namespace

TableLayout parse_table_layout(const std::string& name) {
  if (name == "rows") return TableLayout::rows;
  if (name == "columns") return TableLayout::columns;
  throw Error(str("--table: expected rows or columns, got '", name, "'"));
}

bool has_results(const nlohmann::json& row) { return has_number(row, "image_auroc"); }

bool is_one_class(const nlohmann::json& row) { return row.contains("warning") && !has_results(row); }

nlohmann::json categories_average(const nlohmann::json& rows) {
  const std::vector<CategoryFigures> cats = by_category(rows);
  nlohmann::json avg = nlohmann::json::object();
  for (const Metric& m : kMetrics) {
    Stat s;
    for (const CategoryFigures& c : cats)
      if (const auto it = c.stats.find(m.key); it != c.stats.end() && it->second.n) s.add(it->second.mean());
    avg[m.key] = s.n ? nlohmann::json(s.mean()) : nlohmann::json();
  }
  return avg;
}

std::string categories_markdown(const nlohmann::json& results, TableLayout layout) {
  return layout == TableLayout::rows ? rows_markdown(results) : columns_markdown(results);
}

std::string categories_csv(const nlohmann::json& results) {
  static const char* columns[] = {"category", "seed",  "image_auroc", "image_f1_oracle", "image_f1", "threshold",
                                  "train_seconds", "image_size", "recipe", "score", "status", "error"};
  std::string csv;
  for (size_t c = 0; c < std::size(columns); ++c) csv += str(c ? "," : "", columns[c]);
  csv += "\n";
  for (const auto& row : results.at("categories")) {
    for (size_t c = 0; c < std::size(columns); ++c)
      csv += (c ? "," : "") + csv_field(row.contains(columns[c]) ? row[columns[c]] : nlohmann::json());
    csv += "\n";
  }
  return csv;
}

}  // namespace gan
