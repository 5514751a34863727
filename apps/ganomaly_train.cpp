// ganomaly_train DATA_DIR [options]: trains GANomaly on a folder of normal images.
#include <cstdio>

#include "app_common.h"
#include "stop_signal.h"
#include "train_options.h"
#include "ganomaly/train/progress.h"
#include "ganomaly/report/report.h"
#include "ganomaly/train/train.h"

using namespace gan;
using gan::app::add_train_options;
using gan::app::read_train_options;

int main(int argc, char** argv) {
  return app::run("ganomaly_train", [&] {
    cxxopts::Options options("ganomaly_train", "Train GANomaly on a data set of normal images.\n"
                                               "Usage: ganomaly_train DATA_DIR [options]");
    options.add_options()
      ("data", "data set folder (MVTec AD, BTAD, VisA or a plain folder)", cxxopts::value<std::string>())
      ("format", "layout: auto, mvtec, btad, visa, visa_converted, folder", cxxopts::value<std::string>()->default_value("auto"))
      ("o,out", "output folder", cxxopts::value<std::string>()->default_value("runs/latest"));
    add_train_options(options);
    options.add_options()
      ("resume", "continue from a resumable checkpoint (OUT/last.gnm)", cxxopts::value<std::string>()->default_value(""))
      ("no-report", "do not write report.html and plots/ into the output folder")
      ("version", "print the version and build options")
      ("h,help", "show this help");
    options.parse_positional({"data"});
    options.positional_help("DATA_DIR");
    const auto args = options.parse(argc, argv);
    if (args.count("version")) return app::print_version("ganomaly_train");
    if (args.count("help")) {
      std::printf("%s\n", options.help().c_str());
      return 0;
    }
    if (!args.count("data")) throw app::UsageError("missing DATA_DIR (see --help)");
    if (!args.unmatched().empty())
      throw app::UsageError(str("unexpected argument '", args.unmatched()[0], "' (see --help)"));
    app::set_threads(args["threads"].as<int>());
    TrainOptions o = read_train_options(args);
    o.out_dir = args["out"].as<std::string>();
    o.resume = args["resume"].as<std::string>();
    o.validate();
    const Dataset data = discover_dataset(args["data"].as<std::string>(), args["format"].as<std::string>());
    app::make_output_dir(o.out_dir, "--out");
    app::install_stop_handlers();
    app::SignalStoppedConsole console(stdout, stdout_is_terminal());
    const TrainResult run = train_model(data, o, &console);
    const nlohmann::json& s = run.summary;
    std::printf("summary: %s\n", s.dump(2).c_str());
    if (s.contains("warning"))
      std::fprintf(stderr, "ganomaly_train: warning: %s: %s\n", data.root.c_str(), s["warning"].get<std::string>().c_str());
    if ((s["status"] == "completed" || s["status"] == "early_stopped") && !args.count("no-report")) {
      try {  // the model is written: a report that fails is a warning, not a failed run
        write_report(o.out_dir, training_report(run, data.test, o.out_dir));
        std::printf("report: %s/report.html\n", o.out_dir.c_str());
      } catch (const std::exception& e) {
        std::fprintf(stderr, "ganomaly_train: warning: report not written: %s\n", e.what());
      }
    }
    return s["status"] == "diverged" ? 3 : (s["status"] == "interrupted" ? 130 : 0);
  });
}
