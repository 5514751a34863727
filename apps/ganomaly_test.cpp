// ganomaly_test CHECKPOINT DATA_DIR: evaluates a trained model on a data set's test split.
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <filesystem>
#include <fstream>

#include "app_common.h"
#include "ganomaly/eval/evaluate.h"
#include "ganomaly/eval/floors.h"
#include "ganomaly/io/model_file.h"
#include "ganomaly/report/report.h"

using namespace gan;

int main(int argc, char** argv) {
  return app::run("ganomaly_test", [&] {
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
      ("no-report", "do not write report.html and plots/ into the output folder")
      ("version", "print the version and build options")
      ("h,help", "show this help");
    options.parse_positional({"checkpoint", "data"});
    options.positional_help("CHECKPOINT DATA_DIR");
    const auto args = options.parse(argc, argv);
    if (args.count("version")) return app::print_version("ganomaly_test");
    if (args.count("help")) {
      std::printf("%s\n", options.help().c_str());
      return 0;
    }
    if (!args.count("checkpoint") || !args.count("data"))
      throw app::UsageError("expected CHECKPOINT DATA_DIR (see --help)");
    if (!args.unmatched().empty())
      throw app::UsageError(str("unexpected argument '", args.unmatched()[0], "' (see --help)"));
    app::set_threads(args["threads"].as<int>());
    const Device device = app::read_device(args);
    const std::string checkpoint = args["checkpoint"].as<std::string>();
    LoadedModel loaded = load_model(checkpoint);
    const Dataset data = discover_dataset(args["data"].as<std::string>(), args["format"].as<std::string>());
    GANOMALY_CHECK(!data.test.empty(), data.root, ": no test images");
    Ganomaly& model = *loaded.model;
    model.to(device);
    const size_t max_pixels = args["max-pixels"].as<size_t>();
    const Tensor images = load_images(data.test, model.config.image_size, model.config.channels,
                                      model.recipe.normalization, max_pixels);
    const auto masks = load_masks(data.test, model.config.image_size, max_pixels);
    // Before the evaluation, so that a bad --out fails at once and nothing is half written.
    std::string out = args["out"].as<std::string>();
    if (out.empty()) out = (std::filesystem::path(checkpoint).parent_path() / "test").string();
    app::make_output_dir(out, "--out");
    Evaluation e = evaluate(model, loaded.calibration, images, labels_of(data.test), &masks);
    // The trivial floors, against the data set's training folder (all of it: training held
    // some out for validation, so they sit a little higher here than in summary.json).
    if (!data.train.empty())
      e.floor_auroc = TrivialFloors(load_images(data.train, model.config.image_size, model.config.channels,
                                                model.recipe.normalization, max_pixels))
                          .auroc(images, labels_of(data.test));
    nlohmann::json metrics = evaluation_json(e, loaded.calibration);
    metrics["checkpoint"] = checkpoint;
    metrics["data"] = data.root;
    metrics["image_size"] = model.config.image_size;
    metrics["recipe"] = model.recipe.name;
    write_scores_csv(out + "/test_scores.csv", data.test, e, loaded.calibration);
    write_text_file(out + "/test_metrics.json", metrics.dump(2) + "\n");
    std::printf("%s (%zu images, %d anomalous), image size %d, score %s\n", data.root.c_str(), e.labels.size(),
                static_cast<int>(std::count(e.labels.begin(), e.labels.end(), 1)), model.config.image_size,
                e.score.c_str());
    auto number = [](double v) { return std::isfinite(v) ? str(std::fixed, std::setprecision(4), v) : std::string("n/a"); };
    std::printf("image AUROC %s  AUPR %s  F1 %s (threshold from %s data)  F1 oracle %s (threshold from these labels)\n",
                number(e.image_auroc).c_str(), number(e.aupr).c_str(), number(e.f1.f1).c_str(),
                loaded.calibration.chosen_on.c_str(), number(e.f1_oracle.f1).c_str());
    if (const std::string w = one_class_warning(e); !w.empty())
      std::fprintf(stderr, "ganomaly_test: warning: %s: %s\n", data.root.c_str(), w.c_str());
    if (!e.floor_auroc.empty()) {
      std::printf("floors (no model):");
      for (const auto& [name, a] : e.floor_auroc) std::printf(" %s %s", name.c_str(), number(a).c_str());
      std::printf("\n");
    }
    if (e.pixel_auroc >= 0) std::printf("pixel AUROC of the residual map (baseline) %.4f\n", e.pixel_auroc);
    if (e.pixel_auroc_z >= 0) std::printf("pixel AUROC of the standardised residual map %.4f\n", e.pixel_auroc_z);
    std::printf("written: %s/test_scores.csv, %s/test_metrics.json\n", out.c_str(), out.c_str());
    if (!args.count("no-report")) {
      try {  // the results are written: a report that fails is a warning, not a failed run
        const std::filesystem::path beside = std::filesystem::path(checkpoint).parent_path();
        ReportInputs report;
        report.title = "GANomaly test report";
        report.model = &model;
        report.calibration = &loaded.calibration;
        report.samples = &data.test;
        report.images = &images;
        report.evaluation = &e;
        report.metrics = metrics;
        // The training settings and curves, when the checkpoint sits in its training folder.
        const std::filesystem::path summary = beside / "summary.json";
        if (std::filesystem::exists(summary)) {
          std::ifstream in(summary);
          report.settings = nlohmann::json::parse(in, nullptr, false);
          if (report.settings.is_discarded()) report.settings = nullptr;
        }
        if (!report.settings.is_object()) report.settings = loaded.config.value("info", nlohmann::json::object());
        report.settings["model"] = loaded.config.value("model", nlohmann::json::object());
        report.settings["checkpoint"] = checkpoint;
        report.settings["test_data"] = data.root;
        report.train_log = (beside / "train_log.jsonl").string();
        write_report(out, report);
        std::printf("report: %s/report.html\n", out.c_str());
      } catch (const std::exception& ex) {
        std::fprintf(stderr, "ganomaly_test: warning: report not written: %s\n", ex.what());
      }
    }
    return 0;
  });
}
