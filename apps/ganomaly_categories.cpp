// ganomaly_categories --dataset mvtec|btad|visa --root DIR [--categories a,b] [training options]:
// trains and tests every category of a data set and prints anomalib-style tables.
#include <cstdio>
#include <string>
#include <vector>

#include "app_common.h"
#include "categories/category_runner.h"
#include "ganomaly/train/progress.h"
#include "stop_signal.h"
#include "train_options.h"

using namespace gan;

int main(int argc, char** argv) {
  return app::run("ganomaly_categories", [&] {
    cxxopts::Options options("ganomaly_categories",
                             "Train and test GANomaly on every category of MVTec AD, BTAD or VisA.\n"
                             "Usage: ganomaly_categories --dataset mvtec|btad|visa --root DIR [options]");
    options.add_options()
      ("dataset", "mvtec, btad or visa", cxxopts::value<std::string>())
      ("root", "the data set's root folder (categories are ROOT/<category>; for VisA the folder holding split_csv/1cls.csv)",
       cxxopts::value<std::string>())
      ("categories", "comma-separated categories (default: every one present under --root)",
       cxxopts::value<std::vector<std::string>>())
      ("o,out", "output folder: OUT/<dataset>/<category>/ per category, OUT/<dataset>_results.json and .csv",
       cxxopts::value<std::string>()->default_value("runs/categories"));
    app::add_train_options(options);
    options.add_options()
      ("config", "read options from this JSON file: keys are the options' names without '--' (categories: a list of "
                 "strings); options typed here win", cxxopts::value<std::string>())
      ("version", "print the version and build options")
      ("h,help", "show this help");
    app::ConfigKinds kinds = app::train_option_kinds();
    kinds["categories"] = app::ConfigValue::list;
    const auto args = app::parse_with_config(options, argc, argv, kinds);
    if (args.count("version")) return app::print_version("ganomaly_categories");
    if (args.count("help")) {
      std::printf("%s\n", options.help().c_str());
      return 0;
    }
    if (!args.count("dataset")) throw app::UsageError("missing --dataset (see --help)");
    if (!args.count("root")) throw app::UsageError("missing --root (see --help)");
    CategoryRunOptions o;
    o.dataset = args["dataset"].as<std::string>();
    known_categories(o.dataset);  // "--dataset: ..." before anything else
    o.root = args["root"].as<std::string>();
    app::check_config_path("root", o.root);
    if (args.count("categories")) o.categories = args["categories"].as<std::vector<std::string>>();
    o.out_dir = args["out"].as<std::string>();
    app::set_threads(args["threads"].as<int>());
    o.train = app::read_train_options(args);
    o.train.validate();
    // Each category's config.json is a ganomaly_train config that repeats it: these
    // options; the runner adds its data, format and out.
    o.train.run_config = app::effective_config(options, args, kinds);
    for (const char* own : {"dataset", "root", "categories", "out"}) o.train.run_config.erase(own);
    o.train.run_config["resume"] = "";
    o.train.run_config["no-report"] = true;
    select_categories(o);  // a missing category or root fails before --out is made
    app::make_output_dir(o.out_dir, "--out");
    app::install_stop_handlers();
    app::SignalStoppedConsole console(stdout, stdout_is_terminal());
    o.observer = &console;
    const CategoryRunResult r = run_categories(o);
    if (r.interrupted) return 130;
    return r.failed ? 1 : 0;
  });
}
