#pragma once
// ganomaly_train's command line: its options, typed as flags or read from a config file
// (--config, config_file.h), and the effective options every run writes as config.json.
#include <cstdio>
#include <optional>
#include <string>

#include "app_common.h"
#include "config_file.h"
#include "train_options.h"

namespace gan::app {

inline cxxopts::Options train_command_options() {
  cxxopts::Options options("ganomaly_train", "Train GANomaly on a data set of normal images.\n"
                                             "Usage: ganomaly_train DATA_DIR [options]\n"
                                             "       ganomaly_train --config RUN.json [DATA_DIR] [options]");
  options.add_options()
    ("data", "data set folder (MVTec AD, BTAD, VisA or a plain folder)", cxxopts::value<std::string>())
    ("format", "layout: auto, mvtec, btad, visa, visa_converted, folder", cxxopts::value<std::string>()->default_value("auto"))
    ("o,out", "output folder", cxxopts::value<std::string>()->default_value("runs/latest"));
  add_train_options(options);
  options.add_options()
    ("resume", "continue from a resumable checkpoint (OUT/last.gnm)", cxxopts::value<std::string>()->default_value(""))
    ("no-report", "do not write report.html and plots/ into the output folder")
    ("config", "read options from this JSON file: keys are the options' names without '--' (\"data\" too), as in the "
               "config.json every run writes; options typed here win", cxxopts::value<std::string>())
    ("version", "print the version and build options")
    ("h,help", "show this help");
  options.parse_positional({"data"});
  options.positional_help("DATA_DIR");
  return options;
}

struct TrainCommand {
  TrainOptions train;  // validated, with out_dir, resume and run_config
  std::string data, format;
  bool report = true;
};

// The command line (and its config file), --threads applied; nothing when --help or
// --version was answered.
inline std::optional<TrainCommand> read_train_command(int argc, const char* const* argv) {
  cxxopts::Options options = train_command_options();
  const auto args = parse_with_config(options, argc, argv, train_option_kinds());
  if (args.count("version")) {
    print_version("ganomaly_train");
    return std::nullopt;
  }
  if (args.count("help")) {
    std::printf("%s\n", options.help().c_str());
    return std::nullopt;
  }
  if (!args.count("data")) throw UsageError("missing DATA_DIR (see --help)");
  if (!args.unmatched().empty())
    throw UsageError(str("unexpected argument '", args.unmatched()[0], "' (see --help)"));
  set_threads(args["threads"].as<int>());
  TrainCommand c;
  c.train = read_train_options(args);
  c.train.out_dir = args["out"].as<std::string>();
  c.train.resume = args["resume"].as<std::string>();
  c.train.validate();
  c.data = args["data"].as<std::string>();
  c.format = args["format"].as<std::string>();
  c.report = !args["no-report"].as<bool>();
  c.train.run_config = effective_config(options, args, train_option_kinds());
  // config.json repeats the run from the start: with "resume" kept, it would continue a
  // checkpoint that has already run every epoch ("training already finished").
  c.train.run_config["resume"] = "";
  return c;
}

}  // namespace gan::app
