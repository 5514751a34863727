// ganomaly_infer CHECKPOINT IMAGE... | DIR: scores new images with a trained model.
#include <cstdio>
#include <filesystem>

#include "app_common.h"
#include "ganomaly/evaluate.h"

using namespace gan;

int main(int argc, char** argv) {
  return app::run("ganomaly_infer", [&] {
    cxxopts::Options options("ganomaly_infer", "Score images with a trained GANomaly model.\n"
                                               "Usage: ganomaly_infer CHECKPOINT IMAGE... | DIR [options]");
    options.add_options()
      ("checkpoint", "model file written by ganomaly_train (model.gnm)", cxxopts::value<std::string>())
      ("inputs", "image files or folders of images", cxxopts::value<std::vector<std::string>>())
      ("json", "print one JSON object per image instead of text")
      ("max-pixels", "refuse images with more pixels than this", cxxopts::value<size_t>()->default_value(std::to_string(kDefaultMaxPixels)))
      ("threads", "threads (0: all cores)", cxxopts::value<int>()->default_value("0"))
      ("device", "cpu, or cuda (an NVIDIA GPU; needs a CUDA build: make cuda)",
       cxxopts::value<std::string>()->default_value("cpu"))
      ("version", "print the version and build options")
      ("h,help", "show this help");
    options.parse_positional({"checkpoint", "inputs"});
    options.positional_help("CHECKPOINT IMAGE... | DIR");
    const auto args = options.parse(argc, argv);
    if (args.count("version")) return app::print_version("ganomaly_infer");
    if (args.count("help")) {
      std::printf("%s\n", options.help().c_str());
      return 0;
    }
    if (!args.count("checkpoint") || !args.count("inputs"))
      throw app::UsageError("expected CHECKPOINT and at least one IMAGE or DIR (see --help)");
    app::set_threads(args["threads"].as<int>());
    const Device device = app::read_device(args);
    LoadedModel loaded = load_model(args["checkpoint"].as<std::string>());
    std::vector<Sample> samples;
    for (const std::string& in : args["inputs"].as<std::vector<std::string>>()) {
      if (std::filesystem::is_directory(in)) {
        const auto files = list_images(in);
        GANOMALY_CHECK(!files.empty(), in, ": no images (.png .jpg .jpeg .bmp) in this folder");
        for (const std::string& f : files) samples.push_back({f, 0, "", ""});
      } else {
        GANOMALY_CHECK(std::filesystem::exists(in), in, ": no such file");
        samples.push_back({in, 0, "", ""});
      }
    }
    Ganomaly& model = *loaded.model;
    model.to(device);
    const Calibration& c = loaded.calibration;
    const Tensor images = load_images(samples, model.config.image_size, model.config.channels,
                                      model.recipe.normalization, args["max-pixels"].as<size_t>());
    const bool json = args.count("json") > 0;  // JSON lines carry every score
    Scores scores = model.score(images, 32, nullptr, json ? FeatureScore::compute : feature_score_for(c.score));
    c.fuse(scores);
    for (size_t i = 0; i < samples.size(); ++i) {
      const float raw = scores.get(c.score)[i];
      const bool anomalous = raw >= c.threshold;
      if (json) {
        nlohmann::json j = {{"path", samples[i].path},          {"score", c.normalizer.apply(raw)},
                            {"raw_score", raw},                 {"score_name", c.score},
                            {"threshold", c.threshold},         {"verdict", anomalous ? "anomalous" : "normal"},
                            {"latent", scores.latent[i]},       {"reconstruction", scores.reconstruction[i]},
                            {"feature", scores.feature[i]},     {"residual_max", scores.residual_max[i]}};
        if (scores.has("residual_z")) j["residual_z"] = scores.residual_z[i];
        std::printf("%s\n", j.dump().c_str());
      } else {
        std::printf("%s\t%.4f\t%s\n", samples[i].path.c_str(), c.normalizer.apply(raw), anomalous ? "anomalous" : "normal");
      }
    }
    return 0;
  });
}
