// ganomaly_infer CHECKPOINT IMAGE... | DIR: scores new images with a trained model.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>

#include "app_common.h"
#include "infer_maps.h"
#include "ganomaly/eval/evaluate.h"
#include "ganomaly/io/model_file.h"
#include "ganomaly/io/json_text.h"

using namespace gan;

namespace {

// Output that could not be written (a full disk, /dev/full, a closed stdout) is an error:
// a script reading a short list must not take it for the whole one.
void check_stdout() {
  errno = 0;
  if (std::fflush(stdout) != 0 || std::ferror(stdout))
    throw Error(str("standard output: cannot write: ", std::strerror(errno ? errno : EIO)));
}

struct InferOptions {
  std::string checkpoint;
  std::vector<std::string> inputs;  // image files or folders
  bool json = false;                // JSON lines carry every score
  size_t max_pixels = kDefaultMaxPixels;
  Device device = Device::cpu;
  app::DecisionThreshold threshold;  // --threshold or --sensitivity
  app::MapOptions maps;             // --maps, --tile, --stride
};

// The command line; nothing when --help or --version was answered.
std::optional<InferOptions> read_options(int argc, char** argv) {
  cxxopts::Options options("ganomaly_infer", "Score images with a trained GANomaly model.\n"
                                             "Usage: ganomaly_infer CHECKPOINT IMAGE... | DIR [options]");
  options.add_options()
    ("checkpoint", "model file written by ganomaly_train (model.gnm)", cxxopts::value<std::string>())
    ("inputs", "image files or folders of images", cxxopts::value<std::vector<std::string>>())
    ("json", "print one JSON object per image instead of text")
    ("max-pixels", "refuse images with more pixels than this", cxxopts::value<size_t>()->default_value(std::to_string(kDefaultMaxPixels)))
    ("threads", "threads (0: all cores)", cxxopts::value<int>()->default_value("0"))
    ("device", "cpu, or cuda (an NVIDIA GPU; needs a CUDA build: make cuda)",
     cxxopts::value<std::string>()->default_value("cpu"));
  app::add_threshold_options(options);
  app::add_map_options(options);
  options.add_options()
    ("version", "print the version and build options")
    ("h,help", "show this help");
  options.parse_positional({"checkpoint", "inputs"});
  options.positional_help("CHECKPOINT IMAGE... | DIR");
  const auto args = options.parse(argc, argv);
  if (args.count("version")) {
    app::print_version("ganomaly_infer");
    return std::nullopt;
  }
  if (args.count("help")) {
    std::printf("%s\n", options.help().c_str());
    return std::nullopt;
  }
  if (!args.count("checkpoint") || !args.count("inputs"))
    throw app::UsageError("expected CHECKPOINT and at least one IMAGE or DIR (see --help)");
  app::set_threads(args["threads"].as<int>());
  InferOptions o;
  o.device = app::read_device(args);
  o.checkpoint = args["checkpoint"].as<std::string>();
  o.inputs = app::positional_words(args, "inputs");
  o.json = args.count("json") > 0;
  o.max_pixels = args["max-pixels"].as<size_t>();
  o.threshold = app::read_threshold_options(args);
  o.maps = app::read_map_options(args);
  app::check_maps_outside_inputs(o.maps, o.inputs);
  return o;
}

// Why a folder named as input holds nothing to score: it has no images, or its images are
// in subfolders, which are not searched (a folder of categories, of defect kinds).
std::string no_images_reason(const std::string& dir) {
  namespace fs = std::filesystem;
  size_t subfolders = 0;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_directory(ec)) ++subfolders;
  if (subfolders == 0) return "no images (.png .jpg .jpeg .bmp) in this folder";
  return str("no images (.png .jpg .jpeg .bmp) directly in this folder, and its ", subfolders, " subfolder",
             subfolders == 1 ? " is" : "s are", " not searched: name them (e.g. ", dir, "/*)");
}

// The images to score: the files named, and the images directly in the folders named. A
// dangling symbolic link is listed, to be reported and skipped like any unreadable image.
std::vector<Sample> list_inputs(const std::vector<std::string>& inputs) {
  namespace fs = std::filesystem;
  std::vector<Sample> samples;
  for (const std::string& in : inputs) {
    std::error_code ec;
    if (fs::is_directory(in, ec)) {
      const auto files = list_images(in, DanglingLinks::list);
      if (files.empty()) throw Error(str(in, ": ", no_images_reason(in)));
      for (const std::string& f : files) samples.push_back({f, 0, "", ""});
    } else {
      GANOMALY_CHECK(fs::exists(in, ec) || fs::is_symlink(fs::symlink_status(in, ec)), in, ": no such file");
      samples.push_back({in, 0, "", ""});
    }
  }
  return samples;
}

// A batch's images; an image that cannot be read is reported, counted in `skipped` and
// dropped from `batch`. Nothing (an empty tensor) when none is left.
Tensor load_readable(std::vector<Sample>& batch, const Ganomaly& model, size_t max_pixels, size_t& skipped) {
  const int size = model.config.image_size, channels = model.config.channels;
  const std::string& normalization = model.recipe.normalization;
  try {
    return load_images(batch, size, channels, normalization, max_pixels);
  } catch (const Error&) {  // one bad file: decode the batch one by one to find it
    std::vector<Sample> readable;
    for (const Sample& s : batch) {
      try {
        load_images({s}, size, channels, normalization, max_pixels);
        readable.push_back(s);
      } catch (const Error& e) {
        std::fprintf(stderr, "ganomaly_infer: %s\n", line_text(app::message_of(e)).c_str());
        ++skipped;
      }
    }
    batch = readable;
    if (batch.empty()) return Tensor();
    return load_images(batch, size, channels, normalization, max_pixels);
  }
}

const char* verdict_name(const Verdict& v) { return v.anomalous ? "anomalous" : "normal"; }

// An image's JSON object: every score, the chosen one normalised, the verdict.
nlohmann::json score_json(const std::string& path, const Scores& scores, size_t i, const Verdict& v,
                          const Calibration& c) {
  nlohmann::json j = {{"path", path},         {"score", v.normalised},   {"raw_score", v.raw},
                      {"score_name", c.score}, {"threshold", c.threshold}, {"verdict", verdict_name(v)}};
  // Every score the model computed, by its name (the fused one is not printed).
  for (const Score s : kScores)
    if (s != Score::fused && scores.has(s)) j[to_string(s)] = scores.get(s)[i];
  if (c.sensitivity) j["sensitivity"] = *c.sensitivity;
  return j;
}

// Tab-separated; a tab or line feed in a name is escaped (tsv_field_text), never a new column or line.
void print_text(const std::string& path, const Verdict& v) {
  std::printf("%s\t%.4f\t%s\n", tsv_field_text(path).c_str(), v.normalised, verdict_name(v));
}

// One line per image: path, normalised score and verdict, or a JSON object with every score.
void print_scores(const std::vector<Sample>& batch, const Decided& d, const Calibration& c, bool json) {
  for (size_t i = 0; i < batch.size(); ++i) {
    if (json)
      std::printf("%s\n", dump_json(score_json(batch[i].path, d.scores, i, d.verdicts[i], c)).c_str());
    else
      print_text(batch[i].path, d.verdicts[i]);
  }
}

// --maps, --tile: each image decoded at full resolution and scored on its own, its map
// at that resolution (infer_maps.h). An image that cannot be read or tiled is reported
// and skipped; the exit code says so at the end.
int score_one_by_one(const InferOptions& o, Ganomaly& model, const Calibration& c, const std::vector<Sample>& samples) {
  if (!o.maps.dir.empty()) app::make_output_dir(o.maps.dir, "--maps");
  std::vector<std::string> paths;
  for (const Sample& s : samples) paths.push_back(s.path);
  const std::vector<std::string> names = map_file_names(paths);
  const FeatureScore feature = o.json ? FeatureScore::compute : c.feature_needed();
  size_t skipped = 0;
  for (size_t i = 0; i < samples.size(); ++i) {
    const std::string& path = samples[i].path;
    Image image;
    app::MappedImage r;
    try {
      image = load_image(path, model.config.channels, o.max_pixels);
      r = app::score_mapped(model, c, image, o.maps, feature);
    } catch (const Error& e) {
      const std::string what = app::message_of(e);
      std::fprintf(stderr, "ganomaly_infer: %s\n", line_text(what.rfind("image: ", 0) == 0 ? what : path + ": " + what).c_str());
      ++skipped;
      continue;
    }
    MapFiles files;
    if (!o.maps.dir.empty()) files = write_map_files(o.maps.dir, names[i], image, r.map.data(), c.threshold, to_string(c.score));
    if (o.json) {
      nlohmann::json j = score_json(path, r.scores, 0, r.verdict, c);
      j["map"] = app::map_json(r, image, c, o.maps.dir.empty() ? nullptr : &files);
      if (!r.tiles.is_null()) j["tiles"] = r.tiles;
      std::printf("%s\n", dump_json(j).c_str());
    } else {
      print_text(path, r.verdict);
    }
    check_stdout();
  }
  if (skipped && skipped < samples.size())
    std::fprintf(stderr, "ganomaly_infer: %zu of %zu images could not be scored and were skipped\n", skipped,
                 samples.size());
  return skipped ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  return app::run("ganomaly_infer", [&] {
    const std::optional<InferOptions> o = read_options(argc, argv);
    if (!o) return 0;  // --help or --version
    LoadedModel loaded = load_model(o->checkpoint);
    const std::vector<Sample> samples = list_inputs(o->inputs);
    Ganomaly& model = *loaded.model;
    model.to(o->device);
    const Calibration c = with_decision_threshold(loaded.calibration, o->threshold.raw, o->threshold.sensitivity);
    if (o->maps.any()) return score_one_by_one(*o, model, c, samples);
    // In batches, so memory stays that of one batch however many images there are; an
    // image that cannot be read is reported and skipped, and the exit code says so at the end.
    constexpr size_t kBatch = 32;
    size_t scored = 0, skipped = 0;
    for (size_t begin = 0; begin < samples.size(); begin += kBatch) {
      std::vector<Sample> batch(samples.begin() + begin, samples.begin() + std::min(samples.size(), begin + kBatch));
      const Tensor images = load_readable(batch, model, o->max_pixels, skipped);
      if (batch.empty()) continue;
      const Decided decided =
          score_and_decide(model, c, images, o->json ? FeatureScore::compute : c.feature_needed());
      print_scores(batch, decided, c, o->json);
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
