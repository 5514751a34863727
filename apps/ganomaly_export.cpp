// ganomaly_export MODEL OUTPUT: writes a trained model's scoring network as ONNX.
#include <cstdio>
#include <filesystem>

#include "app_common.h"
#include "ganomaly/io/atomic_file.h"
#include "ganomaly/io/checkpoint_io.h"
#include "ganomaly/io/onnx_export.h"

using namespace gan;

int main(int argc, char** argv) {
  return app::run("ganomaly_export", [&] {
    cxxopts::Options options(
        "ganomaly_export",
        "Write a trained GANomaly model's scoring network and its decision as ONNX (opset 13): input 'images'\n"
        "[N, C, S, S] with pixels in [0, 1]; outputs fake, z, z_hat, latent, when the model's score uses them\n"
        "features, features_fake and feature, then reconstruction, residual_max, residual_z, residual_nn, image_z\n"
        "and image_nn"
        " (those the model has fitted), anomaly_map [N, 1, S, S] and, when the graph computes the model's score,\n"
        "raw_score, score (normalised as ganomaly_infer prints it) and anomalous; the threshold and the\n"
        "sensitivity formula in the file's metadata (README.md, \"Export to ONNX\").\n"
        "Usage: ganomaly_export MODEL OUTPUT [options]");
    options.add_options()
      ("model", "model file written by ganomaly_train (model.gnm)", cxxopts::value<std::string>())
      ("output", "the .onnx file to write (written whole or not at all)", cxxopts::value<std::string>())
      ("features", "the discriminator's features and the feature score: auto (when the model's score uses them), "
                   "always or never", cxxopts::value<std::string>()->default_value("auto"))
      ("version", "print the version and build options")
      ("h,help", "show this help");
    options.parse_positional({"model", "output"});
    options.positional_help("MODEL OUTPUT");
    const auto args = options.parse(argc, argv);
    if (args.count("version")) return app::print_version("ganomaly_export");
    if (args.count("help")) {
      std::printf("%s\n", options.help().c_str());
      return 0;
    }
    if (!args.unmatched().empty())
      throw app::UsageError(str("unexpected argument '", args.unmatched()[0], "' (see --help)"));
    if (!args.count("model") || !args.count("output")) throw app::UsageError("expected MODEL and OUTPUT (see --help)");
    const std::string features_name = args["features"].as<std::string>();
    const OnnxFeatures features = features_name == "auto"     ? OnnxFeatures::automatic
                                  : features_name == "always" ? OnnxFeatures::always
                                  : features_name == "never"  ? OnnxFeatures::never
                                                              : throw app::UsageError(str(
                                                                    "--features: expected auto, always or never, got '",
                                                                    features_name, "'"));
    const std::string model_path = args["model"].as<std::string>(), output = args["output"].as<std::string>();
    if (output.empty()) throw app::UsageError("OUTPUT: expected a file name, got '' (see --help)");
    std::error_code ec;
    if (std::filesystem::equivalent(model_path, output, ec))
      throw app::UsageError(str(output, ": is the model file itself; choose another OUTPUT (see --help)"));
    if (is_checkpoint_file(output))  // run/last.gnm: a resumable run, lost if replaced by ONNX
      throw app::UsageError(str(output, ": is a ganomaly.cpp model or checkpoint; choose another OUTPUT (see --help)"));
    if (std::filesystem::is_directory(output))
      throw Error(str(output, ": is a folder; expected the name of the .onnx file to write"));
    LoadedModel loaded = load_model(model_path);
    const onnx::Model graph = build_onnx_model(*loaded.model, loaded.calibration, features);
    const std::string bytes = onnx::encode(graph);
    write_file_atomically(output, bytes);
    std::printf("%s: %zu nodes, %zu weights, %zu bytes; outputs", output.c_str(), graph.graph.nodes.size(),
                graph.graph.initializers.size(), bytes.size());
    for (const auto& o : graph.graph.outputs) std::printf(" %s", o.name.c_str());
    std::printf("\n");
    for (const auto& [key, value] : graph.metadata)
      if (key == "decision_missing") std::printf("%s: no decision outputs: %s\n", output.c_str(), value.c_str());
    return 0;
  });
}
