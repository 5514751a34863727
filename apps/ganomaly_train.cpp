// ganomaly_train DATA_DIR [options]: trains GANomaly on a folder of normal images.
#include <cstdio>
#include <optional>

#include "app_common.h"
#include "stop_signal.h"
#include "train_command.h"
#include "ganomaly/train/progress.h"
#include "ganomaly/report/report.h"
#include "ganomaly/train/train.h"
#include "ganomaly/io/json_text.h"

using namespace gan;

int main(int argc, char** argv) {
  return app::run("ganomaly_train", [&] {
    const std::optional<app::TrainCommand> c = app::read_train_command(argc, argv);
    if (!c) return 0;  // --help or --version
    const TrainOptions& o = c->train;
    app::check_config_path("data", c->data);
    const Dataset data = discover_dataset(c->data, c->format);
    app::make_output_dir(o.out_dir, "--out");
    app::install_stop_handlers();
    app::SignalStoppedConsole console(stdout, stdout_is_terminal());
    const TrainResult run = train_model(data, o, &console);
    const nlohmann::json& s = run.summary;
    std::printf("summary: %s\n", dump_json(s, 2).c_str());
    if (s.contains("warning"))
      std::fprintf(stderr, "ganomaly_train: warning: %s\n", line_text(data.root + ": " + s["warning"].get<std::string>()).c_str());
    if ((s["status"] == "completed" || s["status"] == "early_stopped") && c->report) {
      try {  // the model is written: a report that fails is a warning, not a failed run
        write_report(o.out_dir, training_report(run, data.test, o.out_dir));
        std::printf("report: %s/report.html\n", o.out_dir.c_str());
      } catch (const std::exception& e) {
        std::fprintf(stderr, "ganomaly_train: warning: report not written: %s\n", line_text(e.what()).c_str());
      }
    }
    return s["status"] == "diverged" ? 3 : (s["status"] == "interrupted" ? 130 : 0);
  });
}
