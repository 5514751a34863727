#include "categories/category_runner.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "app_common.h"
#include "categories/task_processes.h"
#include "ganomaly/eval/evaluate.h"
#include "ganomaly/io/atomic_file.h"
#include "ganomaly/train/progress.h"
#include "tensor/check.h"
#include "ganomaly/io/json_text.h"

namespace gan {

namespace fs = std::filesystem;

namespace {

std::string fixed3(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

bool has_number(const nlohmann::json& row, const char* key) {
  return row.contains(key) && row[key].is_number() && std::isfinite(row[key].get<double>());
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
// layout (train/good, test/good, test/bad) per category. `log` null: no note.
std::string category_format(const CategoryRunOptions& o, std::FILE* log) {
  if (o.dataset != "visa") return o.dataset;
  const fs::path csv = fs::path(o.root) / "split_csv" / "1cls.csv";
  std::error_code ec;
  if (fs::is_regular_file(csv, ec)) return o.dataset;
  if (log)
    std::fprintf(log, "note: %s is not there: reading the categories as converted VisA (train/good, test/good, test/bad)\n",
                 csv.string().c_str());
  return "visa_converted";
}

std::vector<uint64_t> seeds_of(const CategoryRunOptions& o) {
  return o.seeds.empty() ? std::vector<uint64_t>{o.train.seed} : o.seeds;
}

// The results object before any run: the run's settings.
nlohmann::json results_header(const CategoryRunOptions& o, const std::string& format,
                              const std::vector<std::string>& skipped) {
  const TrainOptions& t = o.train;
  const std::vector<uint64_t> seeds = seeds_of(o);
  return {{"dataset", o.dataset},
          {"root", o.root},
          {"format", format},
          {"out", o.out_dir},
          {"model", "GANomaly"},
          {"recipe", t.recipe},
          {"image_size", t.model.image_size},
          {"seed", seeds.front()},
          {"seeds", seeds},
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
  std::set<std::string> seen;
  if (!earlier.is_discarded() && earlier.is_object() && earlier.contains("categories") && earlier["categories"].is_array())
    for (const auto& row : earlier["categories"])
      if (row.is_object() && row.contains("category") && row["category"].is_string() &&
          seen.insert(row["category"].get<std::string>()).second)
        names += (names.empty() ? "" : ", ") + row["category"].get<std::string>();
  std::fprintf(log, "note: %s (.csv) holds an earlier run's results%s; this run's replace them\n", path.c_str(),
               names.empty() ? "" : (" for " + names).c_str());
}

// The training options of one run: its folder and seed, and its config.json.
TrainOptions task_train_options(const CategoryRunOptions& o, const CategoryTask& task, const std::string& format) {
  TrainOptions ct = o.train;
  ct.out_dir = task.out_dir;
  ct.seed = task.seed;
  if (!ct.run_config.is_null()) {  // ganomaly_train's config for this run (its config.json)
    ct.run_config["data"] = category_path(o.root, task.category);
    ct.run_config["format"] = format;
    ct.run_config["out"] = ct.out_dir;
    ct.run_config["seed"] = task.seed;
    ct.run_config.erase("seeds");
  }
  return ct;
}

// Trains and tests one run in this process; its results row, with status "failed" and
// the error when it threw or gave no test metrics.
nlohmann::json run_in_process(const CategoryRunOptions& o, const CategoryTask& task, const std::string& format) {
  const TrainOptions ct = task_train_options(o, task, format);
  try {
    // The options as asked, beside config.json's as run (whose epochs and patience a
    // small category scales up): collect_runs compares these.
    if (!o.train.run_config.is_null()) {
      std::error_code ec;
      fs::create_directories(task.out_dir, ec);
      write_file_atomically(task.out_dir + "/sweep.json",
                            dump_json(nlohmann::json{{"dataset", o.dataset}, {"category", task.category},
                                                     {"seed", task.seed}, {"options", o.train.run_config}},
                                      2) + "\n");
    }
    const Dataset data = discover_dataset(category_path(o.root, task.category), format);
    return results_row(task, category_path(o.root, task.category), train_model(data, ct, o.observer).summary);
  } catch (const std::exception& e) {
    nlohmann::json row = results_row(task, category_path(o.root, task.category), nlohmann::json::object());
    row["status"] = "failed";
    row["error"] = app::message_of(e);
    return row;
  }
}

std::string task_name(const CategoryRunOptions& o, const CategoryTask& t) {
  return o.seeds.empty() ? str(o.dataset, "/", t.category) : str(o.dataset, "/", t.category, " seed ", t.seed);
}

// The line that says how a run went.
void log_row(std::FILE* log, const std::string& position, const std::string& name, const nlohmann::json& row) {
  const char* at = position.c_str();
  if (row["status"] == "failed") {
    std::fprintf(log, "%s %s: failed: %s\n", at, name.c_str(), row["error"].get<std::string>().c_str());
  } else if (has_number(row, "image_auroc")) {
    std::fprintf(log, "%s %s: %s, image AUROC %s, F1 oracle %s, F1 %s, %s\n", at, name.c_str(),
                 row["status"].get<std::string>().c_str(), fixed3(row["image_auroc"].get<double>()).c_str(),
                 has_number(row, "image_f1_oracle") ? fixed3(row["image_f1_oracle"].get<double>()).c_str() : "-",
                 has_number(row, "image_f1") ? fixed3(row["image_f1"].get<double>()).c_str() : "-",
                 format_duration(row.value("train_seconds", 0.0)).c_str());
  } else if (is_one_class(row)) {
    std::fprintf(log, "%s %s: %s, warning: %s (not in Avg)\n", at, name.c_str(), row["status"].get<std::string>().c_str(),
                 row["warning"].get<std::string>().c_str());
  } else {
    std::fprintf(log, "%s %s: %s\n", at, name.c_str(), row["status"].get<std::string>().c_str());
  }
  std::fflush(log);
}

// Each job's share of the threads: all of them (or every core) split evenly, at least one.
int threads_per_job(const CategoryRunOptions& o, int jobs, std::FILE* log) {
  const int total = o.threads > 0 ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  const int each = std::max(1, total / jobs);
  std::fprintf(log, "note: --jobs %d: %d runs at once, each in its own process with %d of the %d threads%s\n", jobs, jobs,
               each, total,
               each * jobs > total   ? " (more jobs than threads: the cores are shared)"
               : each * jobs < total ? str(" (", total - each * jobs, " left idle)").c_str()
                                     : "");
  return each;
}

// A finished child's row: from the summary.json it wrote, or failed with its log's last
// line (a summary.json older than the task is an earlier run's, not its).
nlohmann::json row_of_finished_task(const CategoryRunOptions& o, const CategoryTask& task, const std::string& log_path,
                                    int exit_code, fs::file_time_type started) {
  const std::string data = category_path(o.root, task.category);
  const std::string summary_path = task.out_dir + "/summary.json";
  std::error_code ec;
  const bool fresh = fs::exists(summary_path, ec) && fs::last_write_time(summary_path, ec) >= started && !ec;
  std::ifstream in(summary_path);
  const nlohmann::json summary = fresh && in ? nlohmann::json::parse(in, nullptr, false) : nlohmann::json();
  if (summary.is_object() && summary.contains("status")) return results_row(task, data, summary);
  nlohmann::json row = results_row(task, data, nlohmann::json::object());
  row["status"] = exit_code == 130 ? "interrupted" : "failed";
  std::string error = last_line_of(log_path);
  if (error.empty()) error = str("the task exited with status ", exit_code, " and wrote nothing");
  row["error"] = str(error, " (log: ", log_path, ")");
  return row;
}

}  // namespace

std::vector<CategoryTask> category_tasks(const CategoryRunOptions& o, const std::vector<std::string>& categories) {
  const std::string set_dir = (fs::path(o.out_dir) / o.dataset).string();
  std::vector<CategoryTask> tasks;
  for (const std::string& c : categories)
    for (uint64_t seed : seeds_of(o)) {
      fs::path dir = fs::path(set_dir) / c;
      if (!o.seeds.empty()) dir /= str("seed_", seed);
      tasks.push_back({c, seed, dir.string()});
    }
  return tasks;
}

nlohmann::json results_row(const CategoryTask& task, const std::string& data, const nlohmann::json& s) {
  nlohmann::json row = {{"category", task.category}, {"seed", task.seed}, {"data", data}, {"out", task.out_dir}};
  for (const char* key : {"image_auroc", "image_f1_oracle", "image_f1", "threshold", "train_seconds", "image_size",
                          "recipe", "score", "image_aupr", "best_epoch", "epochs_run", "warning", "floor_image_auroc"})
    if (s.contains(key)) row[key] = s[key];
  row["status"] = s.value("status", "completed");
  if (row["status"] == "interrupted") {
    // The caller stops the run.
  } else if (is_one_class(row)) {
    // Trained and tested; its metrics are undefined (null), so it stays out of Avg.
  } else if (!has_number(row, "image_auroc")) {
    row["error"] = str("no test metrics (training status: ", row["status"].get<std::string>(), ")");
    row["status"] = "failed";
  }
  return row;
}

void write_category_results(const std::string& out_dir, const nlohmann::json& results) {
  const std::string base = out_dir + "/" + results.at("dataset").get<std::string>();
  write_file_atomically(base + "_results.json", dump_json(results, 2) + "\n");
  write_file_atomically(base + "_results.csv", categories_csv(results));
  // The marker line tells tools/update_quality_tables.py what it pastes.
  write_file_atomically(base + "_table.md", str("<!-- ganomaly_categories table; dataset=", results["dataset"].get<std::string>(),
                                                " -->\n", categories_markdown(results, TableLayout::rows)));
}

std::string task_range_error(int index, size_t runs) {
  return str("--task: expected 0 to ", runs - 1, " (", runs, runs == 1 ? " run" : " runs", ": categories x seeds), got ",
             index);
}

nlohmann::json run_category_task(const CategoryRunOptions& o, int index) {
  known_categories(o.dataset);
  o.train.validate();
  const std::vector<CategoryTask> tasks = category_tasks(o, select_categories(o));
  if (index < 0 || index >= static_cast<int>(tasks.size())) throw Error(task_range_error(index, tasks.size()));
  std::FILE* log = o.log ? o.log : stdout;
  const CategoryTask& task = tasks[index];
  std::error_code ec;
  fs::create_directories(task.out_dir, ec);
  GANOMALY_CHECK(!ec, task.out_dir, ": cannot create the output folder (--out): ", ec.message());
  std::fprintf(log, "[task %d of %zu] %s: training into %s\n", index, tasks.size(), task_name(o, task).c_str(),
               task.out_dir.c_str());
  std::fflush(log);
  const nlohmann::json row = run_in_process(o, task, category_format(o, nullptr));
  log_row(log, str("[task ", index, " of ", tasks.size(), "]"), task_name(o, task), row);
  return row;
}

CategoryRunResult run_categories(const CategoryRunOptions& o) {
  known_categories(o.dataset);  // rejects an unknown data set first
  o.train.validate();
  GANOMALY_CHECK(o.jobs >= 1, "--jobs: expected 1 or more, got ", o.jobs);
  GANOMALY_CHECK(o.jobs == 1 || !o.task_command.empty(), "--jobs: runs in child processes need the command that starts one");
  std::FILE* log = o.log ? o.log : stdout;
  std::vector<std::string> skipped;
  const std::vector<std::string> categories = select_categories(o, &skipped);
  for (const std::string& c : skipped)
    std::fprintf(log, "note: skipping %s: %s is not there\n", c.c_str(), category_path(o.root, c).c_str());
  const std::string format = category_format(o, log);
  note_earlier_results(log, o.out_dir, o.dataset);

  const std::string set_dir = (fs::path(o.out_dir) / o.dataset).string();
  std::error_code ec;
  fs::create_directories(set_dir, ec);
  GANOMALY_CHECK(!ec, set_dir, ": cannot create the output folder (--out): ", ec.message());

  CategoryRunResult r;
  r.results = results_header(o, format, skipped);
  const std::vector<CategoryTask> tasks = category_tasks(o, categories);
  const int total = static_cast<int>(tasks.size());
  std::vector<std::pair<size_t, nlohmann::json>> done;  // by task index: the results keep the tasks' order
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  auto record = [&](size_t index, const nlohmann::json& row) {
    if (row["status"] == "interrupted") r.interrupted = true;
    if (row["status"] == "failed") ++r.failed;
    log_row(log, str("[", index + 1, "/", total, "]"), task_name(o, tasks[index]), row);
    done.emplace_back(index, row);
    std::sort(done.begin(), done.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    nlohmann::json& rows = r.results["categories"];
    rows = nlohmann::json::array();
    for (const auto& [i, d] : done) rows.push_back(d);
    r.results["average"] = categories_average(rows);
    r.results["failed"] = r.failed;
    r.results["interrupted"] = r.interrupted;
    write_category_results(o.out_dir, r.results);
  };

  if (o.jobs > 1 && total > 1) {
    const int jobs = std::min(o.jobs, total);
    const int each = threads_per_job(o, jobs, log);
    const std::string log_dir = (fs::path(o.out_dir) / "logs").string();
    fs::create_directories(log_dir, ec);
    GANOMALY_CHECK(!ec, log_dir, ": cannot create the logs folder (--out): ", ec.message());
    std::vector<TaskProcess> processes;
    for (int i = 0; i < total; ++i) {
      TaskProcess p{o.task_command, (fs::path(log_dir) / str(o.dataset, "_task_", i, ".log")).string()};
      for (const std::string& w : {std::string("--jobs"), std::string("1"), std::string("--threads"), std::to_string(each),
                                   std::string("--task"), std::to_string(i)})
        p.argv.push_back(w);
      processes.push_back(p);
    }
    TaskProcessHooks hooks;
    std::vector<fs::file_time_type> started(total);
    hooks.started = [&](size_t i) {
      started[i] = fs::file_time_type::clock::now();
      std::fprintf(log, "[%zu/%d] %s: training into %s (log %s; elapsed %s)\n", i + 1, total,
                   task_name(o, tasks[i]).c_str(), tasks[i].out_dir.c_str(), processes[i].log_path.c_str(),
                   format_duration(elapsed()).c_str());
      std::fflush(log);
    };
    hooks.finished = [&](size_t i, int code) {
      record(i, row_of_finished_task(o, tasks[i], processes[i].log_path, code, started[i]));
    };
    hooks.stop = [&] { return o.observer && o.observer->should_stop(); };
    if (!run_task_processes(processes, jobs, hooks)) r.interrupted = true;
  } else {
    for (int i = 0; i < total; ++i) {
      if (o.observer && o.observer->should_stop()) {
        r.interrupted = true;
        break;
      }
      const std::string eta = i == 0 ? "unknown" : format_duration(elapsed() / i * (total - i));
      std::fprintf(log, "[%d/%d] %s: training into %s (elapsed %s, ETA %s)\n", i + 1, total,
                   task_name(o, tasks[i]).c_str(), tasks[i].out_dir.c_str(), format_duration(elapsed()).c_str(),
                   eta.c_str());
      std::fflush(log);
      record(i, run_in_process(o, tasks[i], format));
      if (r.interrupted) break;
    }
  }
  r.results["interrupted"] = r.interrupted;
  r.results["average"] = categories_average(r.results["categories"]);
  r.results["total_seconds"] = elapsed();
  write_category_results(o.out_dir, r.results);
  r.markdown = categories_markdown(r.results, o.table);
  std::fprintf(log, "\n%s", r.markdown.c_str());
  std::fprintf(log, "results: %s/%s_results.json (.csv, _table.md)\n", o.out_dir.c_str(), o.dataset.c_str());
  if (r.failed) std::fprintf(log, "%d of %zu runs failed\n", r.failed, r.results["categories"].size());
  if (r.interrupted) {
    int finished = 0;
    for (const auto& row : r.results["categories"]) finished += row["status"] != "interrupted";
    std::fprintf(log, "interrupted: %d of %d runs finished; an interrupted one resumes from its last.gnm\n", finished,
                 total);
  }
  std::fflush(log);
  return r;
}

}  // namespace gan
