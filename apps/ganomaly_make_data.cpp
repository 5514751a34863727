// Writes a small synthetic anomaly data set in any layout the loader reads.
//   ganomaly_make_data --layout mvtec --category bottle --out data/synth --seed 42
#include <cxxopts.hpp>

#include <cstdio>
#include <iostream>

#include "ganomaly/dataset.h"
#include "ganomaly/synth.h"

int main(int argc, char** argv) {
  gan::SynthOptions o;
  cxxopts::Options options("ganomaly_make_data",
                           "Generate a deterministic synthetic anomaly data set (kinds: bottle, fabric, wood)");
  options.add_options()
      ("layout", "mvtec, btad, visa, visa_converted or folder", cxxopts::value(o.layout)->default_value(o.layout))
      ("category", "category folder name", cxxopts::value(o.category)->default_value(o.category))
      ("kind", "bottle, fabric, wood, or auto (from the category name)",
       cxxopts::value(o.kind)->default_value(o.kind))
      ("out", "output folder (for visa: the VisA root)", cxxopts::value(o.out)->default_value(o.out))
      ("seed", "random seed", cxxopts::value(o.seed)->default_value(std::to_string(o.seed)))
      ("size", "image side in pixels", cxxopts::value(o.size)->default_value(std::to_string(o.size)))
      ("train", "normal training images", cxxopts::value(o.train)->default_value(std::to_string(o.train)))
      ("test-good", "normal test images", cxxopts::value(o.test_good)->default_value(std::to_string(o.test_good)))
      ("test-bad", "anomalous test images", cxxopts::value(o.test_bad)->default_value(std::to_string(o.test_bad)))
      ("overwrite", "replace an existing category folder (default: off)", cxxopts::value(o.overwrite)->default_value("false"))
      ("h,help", "show this help");
  try {
    auto args = options.parse(argc, argv);
    if (args.count("help")) {
      std::cout << options.help() << std::endl;
      return 0;
    }
    if (!args.unmatched().empty()) {
      std::cerr << "ganomaly_make_data: unexpected argument '" << args.unmatched()[0] << "' (see --help)\n";
      return 2;
    }
  } catch (const cxxopts::exceptions::exception& e) {
    std::cerr << "ganomaly_make_data: " << e.what() << " (see --help)\n";
    return 2;
  }
  try {
    const std::string root = gan::write_synthetic_dataset(o);
    // Read it back: what we report is what the loader sees.
    gan::Dataset ds = gan::discover_dataset(root);
    std::printf("%s: %s (%s) train %zu, test %zu\n", root.c_str(), ds.format.c_str(),
                gan::resolve_synth_kind(o.category, o.kind).c_str(), ds.train.size(), ds.test.size());
  } catch (const std::exception& e) {
    std::cerr << "ganomaly_make_data: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
