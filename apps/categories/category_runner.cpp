#include "categories/category_runner.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <filesystem>
#include <fstream>
#include <set>

#include "app_common.h"
#include "ganomaly/eval/evaluate.h"
#include "ganomaly/io/atomic_file.h"
#include "ganomaly/train/progress.h"
#include "tensor/check.h"
#include "ganomaly/io/json_text.h"

namespace gan {

namespace fs = std::filesystem;

namespace {

// The metrics that get a table, with their headings.
struct TableSpec {
  const char* key;
  const char* title;
};
const TableSpec kTables[] = {
    {"image_auroc", "Image-Level AUC"},
    {"image_f1_oracle", "Image F1 (oracle threshold, as anomalib reports)"},
    {"image_f1", "Image F1 (threshold chosen on validation, honest)"},
};

const char* dataset_heading(const std::string& dataset) {
  if (dataset == "mvtec") return "[MVTec AD Dataset](https://www.mvtec.com/company/research/datasets/mvtec-ad)";
  if (dataset == "btad") return "BTAD Dataset";
  return "[VisA Dataset](https://github.com/amazon-science/spot-diff)";
}

bool has_number(const nlohmann::json& row, const char* key) {
  return row.contains(key) && row[key].is_number() && std::isfinite(row[key].get<double>());
}

// A category whose test set holds one class only: tested, but its image metrics are
// undefined (null), so it is left out of every average and marked in the tables.
bool one_class(const nlohmann::json& row) { return row.contains("warning") && !has_number(row, "image_auroc"); }

std::string fixed3(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
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

// Averages over the categories that have each metric.
nlohmann::json averages(const nlohmann::json& rows) {
  nlohmann::json avg = nlohmann::json::object();
  for (const TableSpec& t : kTables) {
    double sum = 0;
    int n = 0;
    for (const auto& row : rows)
      if (has_number(row, t.key)) {
        sum += row[t.key].get<double>();
        ++n;
      }
    avg[t.key] = n ? nlohmann::json(sum / n) : nlohmann::json();
  }
  return avg;
}

void write_results(const std::string& out_dir, const std::string& dataset, const nlohmann::json& results) {
  write_file_atomically(out_dir + "/" + dataset + "_results.json", dump_json(results, 2) + "\n");
  write_file_atomically(out_dir + "/" + dataset + "_results.csv", categories_csv(results));
}

std::vector<std::string> split_names(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const std::string& n : names) {
    GANOMALY_CHECK(!n.empty(), "--categories: empty category name");
    GANOMALY_CHECK(n.find('/') == std::string::npos && n != "." && n != "..",
                   "--categories: '", n, "' is not a category name");
    GANOMALY_CHECK(seen.insert(n).second, "--categories: '", n, "' given twice");
    out.push_back(n);
  }
  return out;
}

}  // namespace

const std::vector<std::string>& known_categories(const std::string& dataset) {
  static const std::vector<std::string> mvtec = {"bottle",   "cable",      "capsule",    "carpet", "grid",
                                                 "hazelnut", "leather",    "metal_nut",  "pill",   "screw",
                                                 "tile",     "toothbrush", "transistor", "wood",   "zipper"};
  static const std::vector<std::string> btad = {"01", "02", "03"};
  static const std::vector<std::string> visa = {"candle", "capsules", "cashew", "chewinggum", "fryum", "macaroni1",
                                                "macaroni2", "pcb1", "pcb2", "pcb3", "pcb4", "pipe_fryum"};
  if (dataset == "mvtec") return mvtec;
  if (dataset == "btad") return btad;
  if (dataset == "visa") return visa;
  throw Error(str("--dataset: expected mvtec, btad or visa, got '", dataset, "'"));
}

std::string category_path(const std::string& root, const std::string& category) {
  return (fs::path(root) / category).string();
}

std::vector<std::string> select_categories(const CategoryRunOptions& o, std::vector<std::string>* skipped) {
  const std::vector<std::string>& known = known_categories(o.dataset);
  std::error_code ec;
  GANOMALY_CHECK(fs::is_directory(o.root, ec), o.root, ": data set root not found (--root)");
  std::vector<std::string> selected;
  if (!o.categories.empty()) {
    for (const std::string& c : split_names(o.categories)) {
      const std::string path = category_path(o.root, c);
      GANOMALY_CHECK(fs::is_directory(path, ec), path, ": category folder not found (--categories ", c, ")");
      selected.push_back(c);
    }
    return selected;
  }
  for (const std::string& c : known) {
    if (fs::is_directory(category_path(o.root, c), ec))
      selected.push_back(c);
    else if (skipped)
      skipped->push_back(c);
  }
  GANOMALY_CHECK(!selected.empty(), o.root, ": none of the ", known.size(), " ", o.dataset,
                 " categories is there (expected folders such as ", category_path(o.root, known.front()),
                 ")");
  return selected;
}

namespace {

// VisA: the raw layout reads split_csv/1cls.csv; without it, anomalib's converted
// layout (train/good, test/good, test/bad) per category.
std::string category_format(const CategoryRunOptions& o, std::FILE* log) {
  if (o.dataset != "visa") return o.dataset;
  const fs::path csv = fs::path(o.root) / "split_csv" / "1cls.csv";
  std::error_code ec;
  if (fs::is_regular_file(csv, ec)) return o.dataset;
  std::fprintf(log, "note: %s is not there: reading the categories as converted VisA (train/good, test/good, test/bad)\n",
               csv.string().c_str());
  return "visa_converted";
}

// The results object before any category has run: the run's settings.
nlohmann::json results_header(const CategoryRunOptions& o, const std::string& format,
                              const std::vector<std::string>& skipped) {
  const TrainOptions& t = o.train;
  return {{"dataset", o.dataset},
          {"root", o.root},
          {"format", format},
          {"out", o.out_dir},
          {"model", "GANomaly"},
          {"recipe", t.recipe},
          {"image_size", t.model.image_size},
          {"seed", t.seed},
          {"score", t.score},
          {"epochs", t.epochs},
          {"patience", t.patience},
          {"batch_size", t.batch_size},
          {"learning_rate", t.learning_rate},
          {"ema", t.ema_decay},
          {"validate_on", t.validate_on},
          {"n_features", t.model.n_features},
          {"latent_size", t.model.latent_size},
          {"channels", t.model.channels},
          {"extra_layers", t.model.extra_layers},
          {"spectral_norm", t.model.spectral_norm},
          {"skipped", skipped},
          {"categories", nlohmann::json::array()},
          {"average", nlohmann::json::object()},
          {"failed", 0},
          {"interrupted", false}};
}

// A results file of an earlier run in --out is replaced by this run's, not merged (its
// settings may differ): one line naming the categories it held, so none goes unnoticed.
void note_earlier_results(std::FILE* log, const std::string& out_dir, const std::string& dataset) {
  const std::string path = out_dir + "/" + dataset + "_results.json";
  std::error_code ec;
  if (!fs::exists(path, ec)) return;
  std::ifstream in(path);
  const nlohmann::json earlier = nlohmann::json::parse(in, nullptr, false);
  std::string names;
  if (!earlier.is_discarded() && earlier.is_object() && earlier.contains("categories") && earlier["categories"].is_array())
    for (const auto& row : earlier["categories"])
      if (row.is_object() && row.contains("category") && row["category"].is_string())
        names += (names.empty() ? "" : ", ") + row["category"].get<std::string>();
  std::fprintf(log, "note: %s (.csv) holds an earlier run's results%s; this run's replace them\n", path.c_str(),
               names.empty() ? "" : (" for " + names).c_str());
}

// Trains and tests one category; its results row, with status "failed" and the error
// when it threw or gave no test metrics.
nlohmann::json run_category(const CategoryRunOptions& o, const std::string& category, const std::string& format,
                            const TrainOptions& ct) {
  nlohmann::json row = {{"category", category},
                        {"data", category_path(o.root, category)},
                        {"out", ct.out_dir}};
  try {
    const Dataset data = discover_dataset(category_path(o.root, category), format);
    const nlohmann::json s = train_model(data, ct, o.observer).summary;
    for (const char* key : {"image_auroc", "image_f1_oracle", "image_f1", "threshold", "train_seconds",
                            "image_size", "recipe", "score", "image_aupr", "best_epoch", "epochs_run", "warning",
                            "floor_image_auroc"})
      if (s.contains(key)) row[key] = s[key];
    row["status"] = s.value("status", "completed");
    if (row["status"] == "interrupted") {
      // The caller stops the run.
    } else if (one_class(row)) {
      // Trained and tested; its metrics are undefined (null), so it stays out of Avg.
    } else if (!has_number(row, "image_auroc")) {
      row["error"] = str("no test metrics (training status: ", row["status"].get<std::string>(), ")");
      row["status"] = "failed";
    }
  } catch (const std::exception& e) {
    row["status"] = "failed";
    row["error"] = app::message_of(e);
  }
  return row;
}

// The line that says how a category went.
void log_row(std::FILE* log, const std::string& position, const std::string& dataset, const nlohmann::json& row) {
  const char* at = position.c_str();
  const std::string category = row.at("category").get<std::string>();
  if (row["status"] == "failed") {
    std::fprintf(log, "%s %s/%s: failed: %s\n", at, dataset.c_str(), category.c_str(),
                 row["error"].get<std::string>().c_str());
  } else if (has_number(row, "image_auroc")) {
    std::fprintf(log, "%s %s/%s: %s, image AUROC %s, F1 oracle %s, F1 %s, %s\n", at, dataset.c_str(),
                 category.c_str(), row["status"].get<std::string>().c_str(),
                 fixed3(row["image_auroc"].get<double>()).c_str(),
                 has_number(row, "image_f1_oracle") ? fixed3(row["image_f1_oracle"].get<double>()).c_str() : "-",
                 has_number(row, "image_f1") ? fixed3(row["image_f1"].get<double>()).c_str() : "-",
                 format_duration(row.value("train_seconds", 0.0)).c_str());
  } else if (one_class(row)) {
    std::fprintf(log, "%s %s/%s: %s, warning: %s (not in Avg)\n", at, dataset.c_str(), category.c_str(),
                 row["status"].get<std::string>().c_str(), row["warning"].get<std::string>().c_str());
  } else {
    std::fprintf(log, "%s %s/%s: %s\n", at, dataset.c_str(), category.c_str(), row["status"].get<std::string>().c_str());
  }
  std::fflush(log);
}

}  // namespace

CategoryRunResult run_categories(const CategoryRunOptions& o) {
  known_categories(o.dataset);  // rejects an unknown data set first
  o.train.validate();
  std::FILE* log = o.log ? o.log : stdout;
  std::vector<std::string> skipped;
  const std::vector<std::string> categories = select_categories(o, &skipped);
  for (const std::string& c : skipped)
    std::fprintf(log, "note: skipping %s: %s is not there\n", c.c_str(),
                 category_path(o.root, c).c_str());
  const std::string format = category_format(o, log);
  note_earlier_results(log, o.out_dir, o.dataset);

  const std::string set_dir = (fs::path(o.out_dir) / o.dataset).string();
  std::error_code ec;
  fs::create_directories(set_dir, ec);
  GANOMALY_CHECK(!ec, set_dir, ": cannot create the output folder (--out): ", ec.message());

  CategoryRunResult r;
  r.results = results_header(o, format, skipped);
  nlohmann::json& rows = r.results["categories"];
  const auto start = std::chrono::steady_clock::now();
  const int total = static_cast<int>(categories.size());
  for (int i = 0; i < total; ++i) {
    if (o.observer && o.observer->should_stop()) {
      r.interrupted = true;
      break;
    }
    const std::string& category = categories[i];
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::string eta = i == 0 ? "unknown" : format_duration(elapsed / i * (total - i));
    TrainOptions ct = o.train;
    ct.out_dir = (fs::path(set_dir) / category).string();
    if (!ct.run_config.is_null()) {  // ganomaly_train's config for this category (its config.json)
      ct.run_config["data"] = category_path(o.root, category);
      ct.run_config["format"] = format;
      ct.run_config["out"] = ct.out_dir;
    }
    std::fprintf(log, "[%d/%d] %s/%s: training into %s (elapsed %s, ETA %s)\n", i + 1, total, o.dataset.c_str(),
                 category.c_str(), ct.out_dir.c_str(), format_duration(elapsed).c_str(), eta.c_str());
    std::fflush(log);

    const nlohmann::json row = run_category(o, category, format, ct);
    if (row["status"] == "interrupted") r.interrupted = true;
    if (row["status"] == "failed") ++r.failed;
    log_row(log, str("[", i + 1, "/", total, "]"), o.dataset, row);
    rows.push_back(row);
    r.results["average"] = averages(rows);
    r.results["failed"] = r.failed;
    r.results["interrupted"] = r.interrupted;
    write_results(o.out_dir, o.dataset, r.results);
    if (r.interrupted) break;
  }
  r.results["interrupted"] = r.interrupted;
  r.results["average"] = averages(rows);
  r.results["total_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  write_results(o.out_dir, o.dataset, r.results);
  r.markdown = categories_markdown(r.results);
  std::fprintf(log, "\n%s", r.markdown.c_str());
  std::fprintf(log, "results: %s/%s_results.json (.csv)\n", o.out_dir.c_str(), o.dataset.c_str());
  if (r.failed) std::fprintf(log, "%d of %zu categories failed\n", r.failed, rows.size());
  if (r.interrupted) std::fprintf(log, "interrupted: %zu of %d categories run\n", rows.size(), total);
  std::fflush(log);
  return r;
}

namespace {
// The nearest-image floors (no model at all) under the AUROC row, averaged as it is.
std::string floor_rows(const nlohmann::json& rows) {
  std::string md;
  for (const char* name : {"nearest_l1", "nearest_l2"}) {
    double sum = 0;
    int n = 0;
    std::string cells;
    for (const auto& row : rows) {
      const nlohmann::json floors = row.value("floor_image_auroc", nlohmann::json::object());
      if (has_number(row, "image_auroc") && has_number(floors, name)) {
        sum += floors[name].get<double>();
        ++n;
        cells += " " + fixed3(floors[name].get<double>()) + " |";
      } else {
        cells += " - |";
      }
    }
    if (n) md += str("| floor: ", name, " (distance to the nearest training image, no model) | ", fixed3(sum / n), " |", cells, "\n");
  }
  return md;
}
}  // namespace

namespace {
// "Avg over the 1 category with results (failed: 01)": a failed or one-class category
// has no figures, so it is not counted, and a failed one is named.
std::string average_scope(const nlohmann::json& rows) {
  int with_results = 0;
  std::string failed;
  for (const auto& row : rows) {
    if (has_number(row, "image_auroc")) ++with_results;
    if (row.value("status", "") == "failed")
      failed += (failed.empty() ? "" : ", ") + row.at("category").get<std::string>();
  }
  return str("Avg over the ", with_results, with_results == 1 ? " category" : " categories", " with results",
             failed.empty() ? "" : " (failed: " + failed + ")");
}
}  // namespace

std::string categories_markdown(const nlohmann::json& results) {
  const std::string dataset = results.value("dataset", "");
  const std::string recipe = results.value("recipe", "");
  const int size = results.value("image_size", 0);
  const bool oracle_validation = results.value("validate_on", "heldout") == "test";
  const nlohmann::json& rows = results.at("categories");
  std::string label = str("GANomaly (", recipe, ", ", size, " px, seed ", results.value("seed", uint64_t(0)));
  if (oracle_validation) label += ", validated on test";
  label += ")";

  std::string md = str("## ", dataset_heading(dataset), "\n\n");
  md += str("GANomaly, recipe `", recipe, "`, image size ", size, ", seed ", results.value("seed", uint64_t(0)),
            ", score `", results.value("score", ""), "`, max epochs ", results.value("epochs", 0), "; ",
            average_scope(rows), oracle_validation ? "; validated on the TEST set (anomalib's habit): every figure is an oracle" : "",
            ".\n");

  std::string header = "| | Avg |", rule = "| --- | :---: |";
  for (const auto& row : rows) {
    header += " " + row.at("category").get<std::string>() + " |";
    rule += " :---: |";
  }
  for (const TableSpec& t : kTables) {
    double sum = 0;
    int n = 0;
    std::string cells;
    for (const auto& row : rows) {
      if (has_number(row, t.key)) {
        sum += row[t.key].get<double>();
        ++n;
        cells += " " + fixed3(row[t.key].get<double>()) + " |";
      } else {
        cells += one_class(row) ? " n/a (one class) |" : " - |";
      }
    }
    md += str("\n### ", t.title, " (image size ", size, ", recipe ", recipe, ")\n\n");
    md += header + "\n" + rule + "\n";
    md += "| " + label + " | " + (n ? fixed3(sum / n) : std::string("-")) + " |" + cells + "\n";
    if (std::string(t.key) == "image_auroc") md += floor_rows(rows);
  }
  std::string missing;
  for (const auto& row : rows)
    if (one_class(row))
      missing += str(missing.empty() ? "" : "; ", row.at("category").get<std::string>(), " (",
                     row["warning"].get<std::string>(), ")");
    else if (!has_number(row, "image_auroc"))
      missing += str(missing.empty() ? "" : "; ", row.at("category").get<std::string>(), " (",
                     row.value("status", ""), row.contains("error") ? ": " + row["error"].get<std::string>() : "", ")");
  if (!missing.empty()) md += "\nNot in Avg: " + missing + "\n";
  return md;
}

std::string categories_csv(const nlohmann::json& results) {
  static const char* columns[] = {"category",      "image_auroc", "image_f1_oracle", "image_f1", "threshold", "train_seconds",
                                  "image_size",    "recipe",      "score",           "status",   "error"};
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
