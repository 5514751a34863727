// ganomaly_baseline DATA_DIR: the trivial floors of a data set (distance to the nearest
// and to the mean training image), so a user sees what any model must beat.
#include <cstdio>

#include "app_common.h"
#include "ganomaly/eval/evaluate.h"
#include "ganomaly/eval/floors.h"
#include "ganomaly/io/atomic_file.h"
#include "ganomaly/io/checkpoint_io.h"
#include "ganomaly/model/ganomaly.h"
#include "ganomaly/io/json_text.h"

using namespace gan;

int main(int argc, char** argv) {
  return app::run("ganomaly_baseline", [&] {
    cxxopts::Options options("ganomaly_baseline",
                             "Image AUROC of the trivial floors on a data set's test split: L1 and L2 distance of each\n"
                             "test image to the nearest training image and to the mean training image.\n"
                             "Usage: ganomaly_baseline DATA_DIR [options]");
    options.add_options()
      ("data", "data set folder", cxxopts::value<std::string>())
      ("format", "layout: auto, mvtec, btad, visa, visa_converted, folder", cxxopts::value<std::string>()->default_value("auto"))
      ("image-size", "images are resized to this square size (as the model's --image-size)",
       cxxopts::value<int>()->default_value("64"))
      ("channels", "1 (grey) or 3 (colour)", cxxopts::value<int>()->default_value("3"))
      ("recipe", "normalisation of the recipe the model uses: paper ([-1, 1]) or anomalib (ImageNet)",
       cxxopts::value<std::string>()->default_value("paper"))
      ("json", "also write the floors to this file as JSON", cxxopts::value<std::string>()->default_value(""))
      ("max-pixels", "refuse images with more pixels than this", cxxopts::value<size_t>()->default_value(std::to_string(kDefaultMaxPixels)))
      ("threads", "threads (0: all cores)", cxxopts::value<int>()->default_value("0"))
      ("version", "print the version and build options")
      ("h,help", "show this help");
    options.parse_positional({"data"});
    options.positional_help("DATA_DIR");
    const auto args = options.parse(argc, argv);
    if (args.count("version")) return app::print_version("ganomaly_baseline");
    if (args.count("help")) {
      std::printf("%s\n", options.help().c_str());
      return 0;
    }
    if (!args.count("data")) throw app::UsageError("expected DATA_DIR (see --help)");
    if (!args.unmatched().empty())
      throw app::UsageError(str("unexpected argument '", args.unmatched()[0], "' (see --help)"));
    const int size = args["image-size"].as<int>(), channels = args["channels"].as<int>();
    if (size < 8 || size > 1024) throw app::UsageError(str("--image-size: expected 8 to 1024, got ", size));
    if (channels != 1 && channels != 3) throw app::UsageError(str("--channels: expected 1 or 3, got ", channels));
    const RecipeName recipe = parse_choice<RecipeName>("recipe", args["recipe"].as<std::string>());
    const std::string normalization = Recipe::of(recipe).normalization;
    const std::string json = args["json"].as<std::string>();
    if (is_checkpoint_file(json))
      throw app::UsageError(str("--json: ", json, " is a ganomaly.cpp model or checkpoint; choose another file"));
    app::set_threads(args["threads"].as<int>());
    const Dataset data = discover_dataset(args["data"].as<std::string>(), args["format"].as<std::string>());
    GANOMALY_CHECK(!data.train.empty(), data.root, ": no training images");
    GANOMALY_CHECK(!data.test.empty(), data.root, ": no test images");
    const size_t max_pixels = args["max-pixels"].as<size_t>();
    const TrivialFloors floors(load_images(data.train, size, channels, normalization, max_pixels));
    const std::vector<int> labels = labels_of(data.test);
    const auto aurocs = floors.auroc(load_images(data.test, size, channels, normalization, max_pixels), labels);
    const long anomalous = std::count(labels.begin(), labels.end(), 1);
    nlohmann::json j = {{"data", data.root}, {"image_size", size}, {"channels", channels}, {"normalization", normalization}};
    j["floor_auroc"] = aurocs.empty() ? nlohmann::json() : nlohmann::json(aurocs);
    // Written before anything is printed, so a failed write is the only line.
    if (!json.empty()) write_file_atomically(json, dump_json(j, 2) + "\n");
    std::printf("%s: %zu train, %zu test (%ld anomalous), image size %d, %d channel%s\n", data.root.c_str(),
                data.train.size(), data.test.size(), anomalous, size, channels, channels == 1 ? "" : "s");
    if (aurocs.empty())
      std::fprintf(stderr, "ganomaly_baseline: warning: %s: the test split has only one class; no AUROC\n", line_text(data.root).c_str());
    for (const auto& [name, a] : aurocs) std::printf("  %-11s image AUROC %.4f\n", name.c_str(), a);
    return 0;
  });
}
