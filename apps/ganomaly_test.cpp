// ganomaly_test CHECKPOINT DATA_DIR: evaluates a trained model on a data set's test split.
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <filesystem>
#include <fstream>
#include <optional>

#include "app_common.h"
#include "ganomaly/eval/evaluate.h"
#include "ganomaly/eval/floors.h"
#include "ganomaly/io/atomic_file.h"
#include "ganomaly/io/model_file.h"
#include "ganomaly/report/report.h"
#include "ganomaly/io/json_text.h"

using namespace gan;

namespace {

struct TestOptions {
  std::string checkpoint, data, format;
  std::string out;  // empty: beside the checkpoint
  size_t max_pixels = kDefaultMaxPixels;
  Device device = Device::cpu;
  bool report = true;
  app::DecisionThreshold threshold;  // --threshold or --sensitivity
};

// The command line; nothing when --help or --version was answered.
std::optional<TestOptions> read_options(int argc, char** argv) {
  cxxopts::Options options("ganomaly_test", "Evaluate a trained GANomaly model on a data set's test split.\n"
                                            "Usage: ganomaly_test CHECKPOINT DATA_DIR [options]");
  options.add_options()
    ("checkpoint", "model file written by ganomaly_train (model.gnm)", cxxopts::value<std::string>())
    ("data", "data set folder", cxxopts::value<std::string>())
    ("format", "layout: auto, mvtec, btad, visa, visa_converted, folder", cxxopts::value<std::string>()->default_value("auto"))
    ("o,out", "output folder for test_scores.csv and test_metrics.json (default: beside the checkpoint)",
     cxxopts::value<std::string>()->default_value(""))
    ("max-pixels", "refuse images with more pixels than this", cxxopts::value<size_t>()->default_value(std::to_string(kDefaultMaxPixels)))
    ("threads", "threads (0: all cores)", cxxopts::value<int>()->default_value("0"))
    ("device", "cpu, or cuda (an NVIDIA GPU; needs a CUDA build: make cuda)",
     cxxopts::value<std::string>()->default_value("cpu"))
    ("no-report", "do not write report.html and plots/ into the output folder");
  app::add_threshold_options(options);
  options.add_options()
    ("version", "print the version and build options")
    ("h,help", "show this help");
  options.parse_positional({"checkpoint", "data"});
  options.positional_help("CHECKPOINT DATA_DIR");
  const auto args = options.parse(argc, argv);
  if (args.count("version")) {
    app::print_version("ganomaly_test");
    return std::nullopt;
  }
  if (args.count("help")) {
    std::printf("%s\n", options.help().c_str());
    return std::nullopt;
  }
  if (!args.count("checkpoint") || !args.count("data"))
    throw app::UsageError("expected CHECKPOINT DATA_DIR (see --help)");
  if (!args.unmatched().empty())
    throw app::UsageError(str("unexpected argument '", args.unmatched()[0], "' (see --help)"));
  app::set_threads(args["threads"].as<int>());
  TestOptions o;
  o.device = app::read_device(args);
  o.checkpoint = args["checkpoint"].as<std::string>();
  o.data = args["data"].as<std::string>();
  o.format = args["format"].as<std::string>();
  o.out = args["out"].as<std::string>();
  o.max_pixels = args["max-pixels"].as<size_t>();
  o.report = !args.count("no-report");
  o.threshold = app::read_threshold_options(args);
  return o;
}

// What the evaluation leaves for the output.
struct TestRun {
  LoadedModel loaded;
  Dataset data;
  Tensor images;  // the test split, in the model's normalisation
  Evaluation e;
  nlohmann::json metrics;
  std::string out;  // the output folder, made and writable
};

// Scores the test split with the stored calibration, and the trivial floors.
TestRun evaluate_test_split(const TestOptions& o) {
  TestRun r;
  r.loaded = load_model(o.checkpoint);
  // F1, precision, recall, the verdicts and the report's threshold: at the threshold asked for.
  r.loaded.calibration = with_decision_threshold(r.loaded.calibration, o.threshold.raw, o.threshold.sensitivity);
  r.data = discover_dataset(o.data, o.format);
  const Dataset& data = r.data;
  GANOMALY_CHECK(!data.test.empty(), data.root, ": no test images");
  Ganomaly& model = *r.loaded.model;
  model.to(o.device);
  r.images = load_images(data.test, model.config.image_size, model.config.channels, model.recipe.normalization,
                         o.max_pixels);
  const auto masks = load_masks(data.test, model.config.image_size, o.max_pixels);
  // Before the evaluation, so that a bad --out fails at once and nothing is half written.
  r.out = o.out.empty() ? (std::filesystem::path(o.checkpoint).parent_path() / "test").string() : o.out;
  app::make_output_dir(r.out, "--out");
  r.e = evaluate(model, r.loaded.calibration, r.images, labels_of(data.test), &masks);
  // The trivial floors, against the data set's training folder (all of it: training held
  // some out for validation, so they sit a little higher here than in summary.json).
  if (!data.train.empty())
    r.e.floor_auroc = TrivialFloors(load_images(data.train, model.config.image_size, model.config.channels,
                                                model.recipe.normalization, o.max_pixels))
                          .auroc(r.images, labels_of(data.test));
  r.metrics = evaluation_json(r.e, r.loaded.calibration);
  r.metrics["checkpoint"] = o.checkpoint;
  r.metrics["data"] = data.root;
  r.metrics["image_size"] = model.config.image_size;
  r.metrics["recipe"] = model.recipe.name;
  return r;
}

// test_scores.csv, test_metrics.json and the summary on stdout.
void write_results(const TestRun& r) {
  const Evaluation& e = r.e;
  const std::string& out = r.out;
  write_scores_csv(out + "/test_scores.csv", r.data.test, e, r.loaded.calibration);
  write_file_atomically(out + "/test_metrics.json", dump_json(r.metrics, 2) + "\n");
  std::printf("%s (%zu images, %d anomalous), image size %d, score %s\n", r.data.root.c_str(), e.labels.size(),
              static_cast<int>(std::count(e.labels.begin(), e.labels.end(), 1)), r.loaded.model->config.image_size,
              to_string(e.score));
  auto number = [](double v) { return std::isfinite(v) ? str(std::fixed, std::setprecision(4), v) : std::string("n/a"); };
  const Calibration& c = r.loaded.calibration;
  const std::string origin = c.sensitivity            ? str("at --sensitivity ", *c.sensitivity)
                             : c.calibrated_threshold ? std::string("at --threshold")
                                                      : str("threshold from ", c.chosen_on, " data");
  std::printf("image AUROC %s  AUPR %s  F1 %s (%s)  F1 oracle %s (threshold from these labels)\n",
              number(e.image_auroc).c_str(), number(e.aupr).c_str(), number(e.f1.f1).c_str(), origin.c_str(),
              number(e.f1_oracle.f1).c_str());
  if (c.calibrated_threshold)
    std::printf("threshold %g (calibrated: %g); precision %s, recall %s\n", c.threshold, *c.calibrated_threshold,
                number(e.f1.precision).c_str(), number(e.f1.recall).c_str());
  if (const std::string w = one_class_warning(e); !w.empty())
    std::fprintf(stderr, "ganomaly_test: warning: %s\n", line_text(r.data.root + ": " + w).c_str());
  if (!e.floor_auroc.empty()) {
    std::printf("floors (no model):");
    for (const auto& [name, a] : e.floor_auroc) std::printf(" %s %s", name.c_str(), number(a).c_str());
    std::printf("\n");
  }
  if (e.pixel_auroc >= 0) std::printf("pixel AUROC of the residual map (baseline) %.4f\n", e.pixel_auroc);
  if (e.pixel_auroc_z >= 0) std::printf("pixel AUROC of the standardised residual map %.4f\n", e.pixel_auroc_z);
  if (const auto f = e.map_figures.find(e.map_score); f != e.map_figures.end())
    std::printf("pixel AUROC of the anomaly map (%s, ganomaly_infer --maps) %.4f, AUPRO %.4f\n", to_string(e.map_score),
                f->second.auroc, f->second.aupro);
  std::printf("written: %s/test_scores.csv, %s/test_metrics.json\n", out.c_str(), out.c_str());
}

// report.html: the results are written, so a report that fails is a warning, not a failed run.
void write_test_report(const TestOptions& o, TestRun& r) {
  try {
    const std::filesystem::path beside = std::filesystem::path(o.checkpoint).parent_path();
    ReportInputs report;
    report.title = "GANomaly test report";
    report.model = r.loaded.model.get();
    report.calibration = &r.loaded.calibration;
    report.samples = &r.data.test;
    report.images = &r.images;
    report.evaluation = &r.e;
    report.metrics = r.metrics;
    // The training settings and curves, when the checkpoint sits in its training folder.
    const std::filesystem::path summary = beside / "summary.json";
    if (std::filesystem::exists(summary)) {
      std::ifstream in(summary);
      report.settings = nlohmann::json::parse(in, nullptr, false);
      if (report.settings.is_discarded()) report.settings = nullptr;
    }
    if (!report.settings.is_object()) report.settings = r.loaded.config.value("info", nlohmann::json::object());
    report.settings["model"] = r.loaded.config.value("model", nlohmann::json::object());
    report.settings["checkpoint"] = o.checkpoint;
    report.settings["test_data"] = r.data.root;
    report.train_log = (beside / "train_log.jsonl").string();
    write_report(r.out, report);
    std::printf("report: %s/report.html\n", r.out.c_str());
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "ganomaly_test: warning: report not written: %s\n", line_text(ex.what()).c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  return app::run("ganomaly_test", [&] {
    const std::optional<TestOptions> o = read_options(argc, argv);
    if (!o) return 0;  // --help or --version
    TestRun r = evaluate_test_split(*o);
    write_results(r);
    if (o->report) write_test_report(*o, r);
    return 0;
  });
}
