#include "categories/category_collect.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "categories/category_runner.h"
#include "categories/category_tables.h"
#include "tensor/check.h"

namespace gan {

namespace fs = std::filesystem;

namespace {

// Keys of config.json that differ between the runs of one sweep by design.
bool differs_by_design(const std::string& key) {
  return key == "data" || key == "out" || key == "seed" || key == "threads" || key == "format";
}

// A JSON object read from `path`; null when it is missing or not an object.
nlohmann::json read_object(const std::string& path, std::string* why) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    *why = "missing";
    return nullptr;
  }
  std::ifstream in(path);
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    *why = "not a JSON object";
    return nullptr;
  }
  return j;
}

struct RunFolder {
  std::string category;
  std::string dir;
  nlohmann::json config, summary;
  nlohmann::json options;  // what must agree across the sweep
};

// config.json's options, with the epochs and patience as asked where sweep.json (written
// by ganomaly_categories) has them: config.json holds them as run, and the default ones
// are scaled up for a small category (--min-steps), differently for each.
nlohmann::json comparable_options(const nlohmann::json& config, const nlohmann::json& sweep) {
  nlohmann::json options = config;
  if (sweep.is_object() && sweep.contains("options") && sweep["options"].is_object())
    for (const char* key : {"epochs", "patience"})
      if (sweep["options"].contains(key)) options[key] = sweep["options"][key];
  return options;
}

// "epochs 5 (there 30), lr 0.001 (there 0.0002)": the options in which `a` differs from `b`.
std::string option_differences(const nlohmann::json& a, const nlohmann::json& b) {
  std::set<std::string> keys;
  for (const auto& [k, v] : a.items()) keys.insert(k);
  for (const auto& [k, v] : b.items()) keys.insert(k);
  std::string diff;
  for (const std::string& k : keys) {
    if (differs_by_design(k)) continue;
    const nlohmann::json va = a.contains(k) ? a[k] : nlohmann::json(), vb = b.contains(k) ? b[k] : nlohmann::json();
    if (va == vb) continue;
    diff += str(diff.empty() ? "" : ", ", k, " ", va.is_null() ? "unset" : va.dump(), " (there ",
                vb.is_null() ? "unset" : vb.dump(), ")");
  }
  return diff;
}

nlohmann::json header_from_config(const std::string& out_dir, const std::string& dataset, const nlohmann::json& c,
                                  const std::vector<uint64_t>& seeds, const std::vector<std::string>& skipped) {
  const fs::path data = c.value("data", std::string());
  return {{"dataset", dataset},
          {"root", data.parent_path().string()},
          {"format", c.value("format", std::string())},
          {"out", out_dir},
          {"model", "GANomaly"},
          {"recipe", c.value("recipe", std::string())},
          {"image_size", c.value("image-size", 0)},
          {"seed", seeds.front()},
          {"seeds", seeds},
          {"score", c.value("score", std::string())},
          {"epochs", c.value("epochs", 0)},
          {"patience", c.value("patience", 0)},
          {"batch_size", c.value("batch-size", 0)},
          {"learning_rate", c.value("lr", 0.0)},
          {"ema", c.value("ema", 0.0)},
          {"validate_on", c.value("validate-on", std::string())},
          {"n_features", c.value("n-features", 0)},
          {"latent_size", c.value("latent-size", 0)},
          {"channels", c.value("channels", 0)},
          {"extra_layers", c.value("extra-layers", 0)},
          {"spectral_norm", c.value("spectral-norm", false)},
          {"skipped", skipped},
          {"skipped_reason", "no run folder under " + (fs::path(out_dir) / dataset).string()},
          {"collected", true},
          {"categories", nlohmann::json::array()},
          {"average", nlohmann::json::object()},
          {"failed", 0},
          {"interrupted", false}};
}

}  // namespace

std::vector<std::string> collected_datasets(const std::string& out_dir) {
  std::vector<std::string> found;
  std::error_code ec;
  for (const char* d : {"mvtec", "btad", "visa"})
    if (fs::is_directory(fs::path(out_dir) / d, ec)) found.push_back(d);
  return found;
}

CollectedRuns collect_runs(const std::string& out_dir, const std::string& dataset) {
  const std::vector<std::string>& known = known_categories(dataset);
  const fs::path set_dir = fs::path(out_dir) / dataset;
  std::error_code ec;
  GANOMALY_CHECK(fs::is_directory(set_dir, ec), set_dir.string(), ": not found (--collect expects OUT/", dataset,
                 "/<category>/ folders)");
  CollectedRuns c;
  auto refuse = [&](const fs::path& dir, const std::string& why) { c.refused.push_back(dir.string() + ": " + why); };

  // The category folders, in the data set's order; any other folder is refused.
  std::vector<std::string> present;
  for (const auto& e : fs::directory_iterator(set_dir, ec)) {
    const std::string name = e.path().filename().string();
    if (!e.is_directory(ec)) continue;
    if (std::find(known.begin(), known.end(), name) == known.end())
      refuse(e.path(), str("not a ", dataset, " category (expected one of ", known.front(), ", ..., ", known.back(), ")"));
    else
      present.push_back(name);
  }
  std::vector<std::string> categories, skipped;
  for (const std::string& k : known)
    (std::find(present.begin(), present.end(), k) != present.end() ? categories : skipped).push_back(k);

  // Each category's runs: the folder itself (one seed) or its seed_<S> folders.
  std::vector<RunFolder> runs;
  std::map<std::string, std::set<uint64_t>> seeds_of;
  std::set<uint64_t> all_seeds;
  for (const std::string& category : categories) {
    const fs::path dir = set_dir / category;
    std::vector<fs::path> run_dirs;
    if (fs::exists(dir / "config.json", ec) || fs::exists(dir / "summary.json", ec)) {
      run_dirs.push_back(dir);
    } else {
      for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.is_directory(ec) && e.path().filename().string().rfind("seed_", 0) == 0) run_dirs.push_back(e.path());
      std::sort(run_dirs.begin(), run_dirs.end());
    }
    if (run_dirs.empty()) {
      refuse(dir, "no run in it (neither config.json nor seed_* folders): a task that never started, or failed "
                  "before training (see its log)");
      continue;
    }
    for (const fs::path& run : run_dirs) {
      // A seed folder counts for the seeds present even when refused below (one line for
      // one problem).
      const std::string name = run.filename().string();
      if (run != dir && name.size() > 5 && name.size() < 25 && name.find_first_not_of("0123456789", 5) == std::string::npos) {
        seeds_of[category].insert(std::stoull(name.substr(5)));
        all_seeds.insert(std::stoull(name.substr(5)));
      }
      std::string why;
      RunFolder f{category, run.string(), read_object((run / "config.json").string(), &why), nullptr, nullptr};
      if (f.config.is_null()) {
        refuse(run, "config.json " + why + ": not a finished ganomaly_categories run");
        continue;
      }
      f.summary = read_object((run / "summary.json").string(), &why);
      if (f.summary.is_null()) {
        refuse(run, str("incomplete: summary.json ", why, " (still training, or stopped before the end; resume with "
                        "ganomaly_train --config ", (run / "config.json").string(), " --resume ",
                        (run / "last.gnm").string(), ")"));
        continue;
      }
      if (f.summary.value("status", "") == "interrupted") {
        refuse(run, str("incomplete: interrupted (resume with ganomaly_train --config ", (run / "config.json").string(),
                        " --resume ", (run / "last.gnm").string(), ")"));
        continue;
      }
      const nlohmann::json& seed = f.config["seed"];
      if (!seed.is_number_unsigned() && !(seed.is_number_integer() && seed.get<int64_t>() >= 0)) {
        refuse(run, "config.json has no seed");
        continue;
      }
      const uint64_t s = seed.get<uint64_t>();
      if (run != dir && run.filename().string() != str("seed_", s)) {
        refuse(run, str("its config.json says seed ", s, ": expected the folder seed_", s));
        continue;
      }
      std::string no_sweep;
      f.options = comparable_options(f.config, read_object((run / "sweep.json").string(), &no_sweep));
      seeds_of[category].insert(s);
      all_seeds.insert(s);
      runs.push_back(std::move(f));
    }
  }
  // In the data set's order, seed by seed (seed_10 after seed_9).
  std::stable_sort(runs.begin(), runs.end(), [&](const RunFolder& a, const RunFolder& b) {
    const auto ia = std::find(known.begin(), known.end(), a.category) - known.begin();
    const auto ib = std::find(known.begin(), known.end(), b.category) - known.begin();
    return ia != ib ? ia < ib : a.config["seed"].get<uint64_t>() < b.config["seed"].get<uint64_t>();
  });
  // One sweep: every run with the first one's options.
  for (size_t i = 1; i < runs.size(); ++i)
    if (const std::string diff = option_differences(runs[i].options, runs[0].options); !diff.empty())
      refuse(runs[i].dir, str("mixed options: ", diff, " in ", runs[0].dir));
  // The same seeds for every category: a missing one is a task that never finished.
  for (const auto& [category, seeds] : seeds_of)
    if (seeds != all_seeds) {
      std::string missing, all;
      for (uint64_t s : all_seeds) {
        all += (all.empty() ? "" : ", ") + std::to_string(s);
        if (!seeds.count(s)) missing += (missing.empty() ? "" : ", ") + std::to_string(s);
      }
      refuse(set_dir / category, str("incomplete: no run for seed ", missing, " (other categories have seeds ", all, ")"));
    }
  if (runs.empty() && c.refused.empty()) refuse(set_dir, "no run folder in it");
  if (!c.refused.empty()) return c;

  const std::vector<uint64_t> seeds(all_seeds.begin(), all_seeds.end());
  c.results = header_from_config(out_dir, dataset, runs[0].config, seeds, skipped);
  nlohmann::json& rows = c.results["categories"];
  int failed = 0;
  for (const RunFolder& f : runs) {
    const CategoryTask task{f.category, f.config["seed"].get<uint64_t>(), f.dir};
    const nlohmann::json row = results_row(task, f.config.value("data", std::string()), f.summary);
    failed += row["status"] == "failed";
    rows.push_back(row);
  }
  c.results["failed"] = failed;
  c.results["average"] = categories_average(rows);
  return c;
}

}  // namespace gan
