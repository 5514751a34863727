// ganomaly_categories --dataset mvtec|btad|visa --root DIR [--categories a,b] [--seeds 1,2]
// [--jobs N] [training options]: trains and tests every category (and seed) of a data set
// and prints the model README's tables. --task I runs one of those runs alone (a Slurm
// array task); --collect OUT builds the tables from finished run folders.
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "app_common.h"
#include "categories/category_collect.h"
#include "categories/category_runner.h"
#include "ganomaly/train/progress.h"
#include "stop_signal.h"
#include "train_options.h"

using namespace gan;

namespace {

// "1,2,3" as seeds: integers 0 or more, each once.
std::vector<uint64_t> parse_seeds(const std::vector<std::string>& words) {
  std::vector<uint64_t> seeds;
  std::set<uint64_t> seen;
  for (const std::string& w : words) {
    errno = 0;
    char* end = nullptr;
    const unsigned long long v = w.empty() || w[0] == '-' || w[0] == '+' ? 0 : std::strtoull(w.c_str(), &end, 10);
    if (w.empty() || !end || *end != '\0' || errno == ERANGE)
      throw app::UsageError(str("--seeds: '", w, "' is not a seed (expected integers, 0 or more, separated by commas)"));
    if (!seen.insert(v).second) throw app::UsageError(str("--seeds: ", v, " given twice"));
    seeds.push_back(v);
  }
  return seeds;
}

// This program's own path, to start the --jobs children with.
std::string own_path(const char* argv0) {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, n) : std::string(argv0);
}

// --collect OUT: the tables of every data set folder under OUT (or --dataset's alone),
// from its finished run folders. Any folder that cannot be counted: one line each, exit 1,
// and nothing written.
int collect(const std::string& out, const cxxopts::ParseResult& args, TableLayout layout) {
  std::vector<std::string> datasets;
  if (args.count("dataset")) {
    datasets = {args["dataset"].as<std::string>()};
    known_categories(datasets[0]);
  } else {
    datasets = collected_datasets(out);
  }
  if (datasets.empty())
    throw Error(str(out, ": no mvtec, btad or visa folder in it: nothing to collect (--collect)"));
  std::vector<CollectedRuns> collected;
  size_t refused = 0;
  for (const std::string& d : datasets) {
    collected.push_back(collect_runs(out, d));
    for (const std::string& line : collected.back().refused) std::fprintf(stderr, "ganomaly_categories: %s\n", line.c_str());
    refused += collected.back().refused.size();
  }
  if (refused) {
    std::fprintf(stderr, "ganomaly_categories: %zu folder%s refused: no tables written\n", refused, refused == 1 ? "" : "s");
    return 1;
  }
  int failed = 0;
  for (const CollectedRuns& c : collected) {
    write_category_results(out, c.results);
    std::printf("%s", categories_markdown(c.results, layout).c_str());
    std::printf("results: %s/%s_results.json (.csv, _table.md)\n\n", out.c_str(),
                c.results["dataset"].get<std::string>().c_str());
    failed += c.results["failed"].get<int>();
  }
  return failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  return app::run("ganomaly_categories", [&] {
    cxxopts::Options options("ganomaly_categories",
                             "Train and test GANomaly on every category of MVTec AD, BTAD or VisA.\n"
                             "Usage: ganomaly_categories --dataset mvtec|btad|visa --root DIR [options]\n"
                             "       ganomaly_categories --collect OUT [--dataset D]   (tables from finished run folders)");
    options.add_options()
      ("dataset", "mvtec, btad or visa", cxxopts::value<std::string>())
      ("root", "the data set's root folder (categories are ROOT/<category>; for VisA the folder holding split_csv/1cls.csv)",
       cxxopts::value<std::string>())
      ("categories", "comma-separated categories (default: every one present under --root)",
       cxxopts::value<std::vector<std::string>>())
      ("seeds", "comma-separated seeds: one run per category and seed, into OUT/<dataset>/<category>/seed_<S> "
                "(instead of --seed)", cxxopts::value<std::vector<std::string>>())
      ("o,out", "output folder: OUT/<dataset>/<category>/ per category, OUT/<dataset>_results.json, .csv and "
                "_table.md", cxxopts::value<std::string>()->default_value("runs/categories"))
      ("jobs", "runs at once, each in its own process with --threads / N threads", cxxopts::value<int>()->default_value("1"))
      ("task", "run only the I-th run (0-based; categories x seeds, see --list-tasks) and write no tables: a Slurm "
               "array task (tools/slurm/)", cxxopts::value<int>())
      ("list-tasks", "print the runs (index, category, seed, folder), one a line, and exit")
      ("collect", "build the tables from the finished run folders under this --out (a job array's), refusing "
                  "incomplete or mixed-option ones", cxxopts::value<std::string>())
      ("table", "rows (one row per category, as the model README) or columns (a column per category)",
       cxxopts::value<std::string>()->default_value("rows"));
    app::add_train_options(options);
    options.add_options()
      ("config", "read options from this JSON file: keys are the options' names without '--' (categories, seeds: "
                 "lists of strings); options typed here win", cxxopts::value<std::string>())
      ("version", "print the version and build options")
      ("h,help", "show this help");
    app::ConfigKinds kinds = app::train_option_kinds();
    kinds["categories"] = app::ConfigValue::list;
    kinds["seeds"] = app::ConfigValue::list;
    kinds["jobs"] = app::ConfigValue::integer;
    kinds["task"] = app::ConfigValue::integer;
    const auto args = app::parse_with_config(options, argc, argv, kinds);
    if (args.count("version")) return app::print_version("ganomaly_categories");
    if (args.count("help")) {
      std::printf("%s\n", options.help().c_str());
      return 0;
    }
    CategoryRunOptions o;
    o.table = parse_table_layout(args["table"].as<std::string>());
    const int modes = int(args.count("collect") > 0) + int(args.count("task") > 0) + int(args.count("list-tasks") > 0);
    if (modes > 1) throw app::UsageError("--collect, --task and --list-tasks: give one of them");
    if (args.count("collect")) return collect(args["collect"].as<std::string>(), args, o.table);

    if (!args.count("dataset")) throw app::UsageError("missing --dataset (see --help)");
    if (!args.count("root")) throw app::UsageError("missing --root (see --help)");
    o.dataset = args["dataset"].as<std::string>();
    known_categories(o.dataset);  // "--dataset: ..." before anything else
    o.root = args["root"].as<std::string>();
    app::check_config_path("root", o.root);
    if (args.count("categories")) o.categories = args["categories"].as<std::vector<std::string>>();
    if (args.count("seeds")) {
      if (args.count("seed")) throw app::UsageError("--seeds: give --seed or --seeds, not both");
      o.seeds = parse_seeds(args["seeds"].as<std::vector<std::string>>());
    }
    o.out_dir = args["out"].as<std::string>();
    o.jobs = args["jobs"].as<int>();
    if (o.jobs < 1 || o.jobs > 1024) throw app::UsageError(str("--jobs: expected 1 to 1024, got ", o.jobs));
    o.threads = args["threads"].as<int>();
    app::set_threads(o.threads);
    o.train = app::read_train_options(args);
    o.train.validate();
    // Each run's config.json is a ganomaly_train config that repeats it: these options;
    // the runner adds its data, format, out and seed.
    o.train.run_config = app::effective_config(options, args, kinds);
    for (const char* own : {"dataset", "root", "categories", "seeds", "out", "jobs", "task", "list-tasks", "collect", "table"})
      o.train.run_config.erase(own);
    o.train.run_config["resume"] = "";
    o.train.run_config["no-report"] = true;
    const std::vector<std::string> categories = select_categories(o);  // a missing category or root fails before --out is made
    const std::vector<CategoryTask> tasks = category_tasks(o, categories);
    if (args.count("task") && (args["task"].as<int>() < 0 || args["task"].as<int>() >= int(tasks.size())))
      throw app::UsageError(task_range_error(args["task"].as<int>(), tasks.size()));  // before --out is made
    if (args.count("list-tasks")) {
      for (size_t i = 0; i < tasks.size(); ++i)
        std::printf("%zu\t%s\t%llu\t%s\n", i, tasks[i].category.c_str(), static_cast<unsigned long long>(tasks[i].seed),
                    tasks[i].out_dir.c_str());
      return 0;
    }
    app::make_output_dir(o.out_dir, "--out");
    app::install_stop_handlers();
    app::SignalStoppedConsole console(stdout, stdout_is_terminal());
    o.observer = &console;
    if (args.count("task")) {
      const nlohmann::json row = run_category_task(o, args["task"].as<int>());
      if (row["status"] == "interrupted") return 130;
      return row["status"] == "failed" ? 1 : 0;
    }
    o.task_command = {own_path(argv[0])};
    for (int i = 1; i < argc; ++i) o.task_command.emplace_back(argv[i]);
    const CategoryRunResult r = run_categories(o);
    if (r.interrupted) return 130;
    return r.failed ? 1 : 0;
  });
}
