// ganomaly_infer CHECKPOINT IMAGE... | DIR: scores new images with a trained model.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "app_common.h"
#include "ganomaly/eval/evaluate.h"
#include "ganomaly/io/model_file.h"

using namespace gan;

namespace {

// Output that could not be written (a full disk, /dev/full, a closed stdout) is an error:
// a script reading a short list must not take it for the whole one.
void check_stdout() {
  errno = 0;
  if (std::fflush(stdout) != 0 || std::ferror(stdout))
    throw Error(str("standard output: cannot write: ", std::strerror(errno ? errno : EIO)));
}

}  // namespace

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
    const size_t max_pixels = args["max-pixels"].as<size_t>();
    const bool json = args.count("json") > 0;  // JSON lines carry every score
    // In batches, so memory stays that of one batch however many images there are; an
    // image that cannot be read is reported and skipped, and the exit code says so at the end.
    constexpr size_t kBatch = 32;
    size_t scored = 0, skipped = 0;
    for (size_t begin = 0; begin < samples.size(); begin += kBatch) {
      std::vector<Sample> batch(samples.begin() + begin, samples.begin() + std::min(samples.size(), begin + kBatch));
      Tensor images;
      try {
        images = load_images(batch, model.config.image_size, model.config.channels, model.recipe.normalization, max_pixels);
      } catch (const Error&) {  // one bad file: decode the batch one by one to find it
        std::vector<Sample> readable;
        for (const Sample& s : batch) {
          try {
            load_images({s}, model.config.image_size, model.config.channels, model.recipe.normalization, max_pixels);
            readable.push_back(s);
          } catch (const Error& e) {
            std::fprintf(stderr, "ganomaly_infer: %s\n", e.what());
            ++skipped;
          }
        }
        batch = readable;
        if (batch.empty()) continue;
        images = load_images(batch, model.config.image_size, model.config.channels, model.recipe.normalization, max_pixels);
      }
      Scores scores = model.score(images, 32, nullptr, json ? FeatureScore::compute : feature_score_for(c.score));
      c.fuse(scores);
      for (size_t i = 0; i < batch.size(); ++i) {
        const float raw = scores.get(c.score)[i];
        const bool anomalous = raw >= c.threshold;
        if (json) {
          nlohmann::json j = {{"path", batch[i].path},            {"score", c.normalizer.apply(raw)},
                              {"raw_score", raw},                 {"score_name", c.score},
                              {"threshold", c.threshold},         {"verdict", anomalous ? "anomalous" : "normal"},
                              {"latent", scores.latent[i]},       {"reconstruction", scores.reconstruction[i]},
                              {"feature", scores.feature[i]},     {"residual_max", scores.residual_max[i]}};
          if (scores.has("residual_z")) j["residual_z"] = scores.residual_z[i];
          if (scores.has("residual_nn")) j["residual_nn"] = scores.residual_nn[i];
          std::printf("%s\n", j.dump().c_str());
        } else {
          std::printf("%s\t%.4f\t%s\n", batch[i].path.c_str(), c.normalizer.apply(raw), anomalous ? "anomalous" : "normal");
        }
      }
      scored += batch.size();
      check_stdout();  // stop at once when the output is lost, not after scoring everything
    }
    check_stdout();
    if (skipped && scored)
      std::fprintf(stderr, "ganomaly_infer: %zu of %zu images could not be read and were skipped\n", skipped,
                   samples.size());
    return skipped ? 1 : 0;
  });
}
