// Writes a small synthetic anomaly data set in any layout the loader reads.
//   ganomaly_make_data --layout mvtec --category bottle --out data/synth --seed 42
#include <cxxopts.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "app_common.h"
#include "ganomaly/data/dataset.h"
#include "ganomaly/data/synth.h"

namespace {

// The first option that write_synthetic_dataset would refuse, named; empty when fine.
std::string option_error(const gan::SynthOptions& o) {
  const std::vector<std::string> layouts = {"mvtec", "btad", "visa", "visa_converted", "folder"};
  if (std::find(layouts.begin(), layouts.end(), o.layout) == layouts.end())
    return "--layout: expected mvtec, btad, visa, visa_converted or folder, got '" + o.layout + "'";
  if (o.category.empty() || o.category.find('/') != std::string::npos || o.category == "." || o.category == "..")
    return "--category: expected a folder name (no '/', not '.' or '..'), got '" + o.category + "'";
  const auto& kinds = gan::synth_kinds();
  if (o.kind != "auto" && std::find(kinds.begin(), kinds.end(), o.kind) == kinds.end())
    return "--kind: expected auto, bottle, fabric, wood, part, grey or aligned, got '" + o.kind + "'";
  if (o.size < 16 || o.size > 4096) return "--size: expected 16 to 4096, got " + std::to_string(o.size);
  if (o.train < 1 || o.train > 100000) return "--train: expected 1 to 100000, got " + std::to_string(o.train);
  if (o.test_good < 0 || o.test_good > 100000)
    return "--test-good: expected 0 to 100000, got " + std::to_string(o.test_good);
  if (o.test_bad < 0 || o.test_bad > 100000)
    return "--test-bad: expected 0 to 100000, got " + std::to_string(o.test_bad);
  if (!(o.test_lighting >= 0 && o.test_lighting <= 0.5))
    return "--test-lighting: expected 0 to 0.5, got " + gan::str(o.test_lighting);
  if (o.out.empty()) return "--out: expected a folder, got ''";
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  gan::SynthOptions o;
  cxxopts::Options options("ganomaly_make_data",
                           "Generate a deterministic synthetic anomaly data set (kinds: bottle, fabric, wood, part, grey, aligned)");
  options.add_options()
      ("layout", "mvtec, btad, visa, visa_converted or folder", cxxopts::value(o.layout)->default_value(o.layout))
      ("category", "category folder name", cxxopts::value(o.category)->default_value(o.category))
      ("kind", "bottle, fabric, wood, part (an aligned component), grey (a wire mesh), aligned (a printed label in a fixture), or auto (from the category name)",
       cxxopts::value(o.kind)->default_value(o.kind))
      ("out", "output folder (for visa: the VisA root)", cxxopts::value(o.out)->default_value(o.out))
      ("seed", "random seed", cxxopts::value(o.seed)->default_value(std::to_string(o.seed)))
      ("size", "image side in pixels", cxxopts::value(o.size)->default_value(std::to_string(o.size)))
      ("train", "normal training images", cxxopts::value(o.train)->default_value(std::to_string(o.train)))
      ("test-good", "normal test images", cxxopts::value(o.test_good)->default_value(std::to_string(o.test_good)))
      ("test-bad", "anomalous test images", cxxopts::value(o.test_bad)->default_value(std::to_string(o.test_bad)))
      ("test-lighting", "test images under other light: darkened by up to this fraction, contrast changed by up to it "
       "(0 to 0.5; the lighting check uses 0.1)", cxxopts::value(o.test_lighting)->default_value("0"))
      ("overwrite", "replace an existing category folder (default: off)", cxxopts::value(o.overwrite)->default_value("false"))
      ("version", "print the version and build options")
      ("h,help", "show this help");
  try {
    auto args = options.parse(argc, argv);
    if (args.count("version")) return gan::app::print_version("ganomaly_make_data");
    if (args.count("help")) {
      std::cout << options.help() << std::endl;
      return 0;
    }
    if (!args.unmatched().empty()) {
      std::cerr << "ganomaly_make_data: unexpected argument '" << args.unmatched()[0] << "' (see --help)\n";
      return 2;
    }
    // Option errors exit 2 and name the option; what write_synthetic_dataset refuses
    // later (an existing folder, a failed write) is not the command line's fault: 1.
    const std::string error = option_error(o);
    if (!error.empty()) {
      std::cerr << "ganomaly_make_data: " << error << " (see --help)\n";
      return 2;
    }
  } catch (const cxxopts::exceptions::incorrect_argument_type& e) {
    std::cerr << "ganomaly_make_data: " << gan::app::detail::describe_bad_value(gan::app::detail::ascii_quotes(e.what()))
              << " (see --help)\n";
    return 2;
  } catch (const cxxopts::exceptions::exception& e) {
    std::cerr << "ganomaly_make_data: " << gan::app::detail::ascii_quotes(e.what()) << " (see --help)\n";
    return 2;
  }
  try {
    gan::app::make_output_dir(o.out, "--out");
    const std::string root = gan::write_synthetic_dataset(o);
    // Read it back: what we report is what the loader sees.
    gan::Dataset ds = gan::discover_dataset(root);
    std::printf("%s: %s (%s) train %zu, test %zu\n", root.c_str(), ds.format.c_str(),
                gan::resolve_synth_kind(o.category, o.kind).c_str(), ds.train.size(), ds.test.size());
  } catch (const std::exception& e) {
    std::cerr << "ganomaly_make_data: " << gan::app::message_of(e) << "\n";
    return 1;
  }
  return 0;
}
