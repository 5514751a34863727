#pragma once
// `ganomaly_categories --collect OUT`: the results of a sweep whose runs went elsewhere
// (a Slurm job array: one category and seed per task, all into the same --out), built
// from the finished run folders alone: OUT/<dataset>/<category>/ (one seed) or
// OUT/<dataset>/<category>/seed_<S>/ (several), each with the config.json and
// summary.json that training writes.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace gan {

struct CollectedRuns {
  nlohmann::json results;            // as run_categories builds it (empty when refused is not)
  std::vector<std::string> refused;  // one line per folder that cannot be counted, naming it and why
};

// Reads every run folder under <out_dir>/<dataset>. Refused, each in one line: a folder
// that is not a category of the data set or holds no run; a run still training or
// stopped (no summary.json, or status "interrupted"); a config.json that is missing or
// unreadable; options other than the first run's (every option but the data, the
// folder, the seed and the thread count must agree); a seed that other categories have
// and this one lacks. With any refusal nothing is built: the tables would otherwise
// mix settings or silently leave runs out.
CollectedRuns collect_runs(const std::string& out_dir, const std::string& dataset);

// The data sets with a folder under out_dir, in mvtec, btad, visa order.
std::vector<std::string> collected_datasets(const std::string& out_dir);

}  // namespace gan
