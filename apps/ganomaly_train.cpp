// ganomaly_train DATA_DIR [options]: trains GANomaly on a folder of normal images.
#include <cstdio>

#include "app_common.h"
#include "ganomaly/progress.h"
#include "ganomaly/train.h"

using namespace gan;

int main(int argc, char** argv) {
  return app::run("ganomaly_train", [&] {
    TrainOptions o;
    cxxopts::Options options("ganomaly_train", "Train GANomaly on a data set of normal images.\n"
                                               "Usage: ganomaly_train DATA_DIR [options]");
    options.add_options()
      ("data", "data set folder (MVTec AD, BTAD, VisA or a plain folder)", cxxopts::value<std::string>())
      ("format", "layout: auto, mvtec, btad, visa, visa_converted, folder", cxxopts::value<std::string>()->default_value("auto"))
      ("o,out", "output folder", cxxopts::value<std::string>()->default_value("runs/latest"))
      ("recipe", "paper (feature matching, MSE encoder loss, N(0,0.02) init, [-1,1] inputs) or anomalib",
       cxxopts::value<std::string>()->default_value(o.recipe))
      ("image-size", "images are resized to this square size (32 to 512; anomalib uses 256)",
       cxxopts::value<int>()->default_value(std::to_string(o.model.image_size)))
      ("channels", "1 (grey) or 3 (colour)", cxxopts::value<int>()->default_value("3"))
      ("n-features", "features of the first conv layer", cxxopts::value<int>()->default_value("64"))
      ("latent-size", "size of the latent vector z", cxxopts::value<int>()->default_value("100"))
      ("extra-layers", "extra 3x3 conv layers in encoders and decoder", cxxopts::value<int>()->default_value("0"))
      ("epochs", "maximum epochs", cxxopts::value<int>()->default_value(std::to_string(o.epochs)))
      ("batch-size", "images per step", cxxopts::value<int>()->default_value(std::to_string(o.batch_size)))
      ("lr", "Adam learning rate (betas 0.5, 0.999)", cxxopts::value<float>()->default_value("0.0002"))
      ("seed", "random seed", cxxopts::value<uint64_t>()->default_value(std::to_string(o.seed)))
      ("patience", "stop after this many epochs without a better validation AUROC (0: never)",
       cxxopts::value<int>()->default_value(std::to_string(o.patience)))
      ("validation-fraction", "fraction of the training normals held out for validation",
       cxxopts::value<double>()->default_value("0.2"))
      ("score", "auto (the best on validation), fused (all four standardised on validation normals), latent, reconstruction, feature or residual_max", cxxopts::value<std::string>()->default_value(o.score))
      ("ema", "decay of the moving average of generator weights used for scoring (0: off)",
       cxxopts::value<float>()->default_value("0.95"))
      ("validate-on", "heldout (training normals + pseudo-anomalies) or test (anomalib's habit: an oracle)",
       cxxopts::value<std::string>()->default_value(o.validate_on))
      ("on-nan", "a non-finite loss: stop (keeping the best model) or skip the batch",
       cxxopts::value<std::string>()->default_value("stop"))
      ("resume", "continue from a resumable checkpoint (OUT/last.gnm)", cxxopts::value<std::string>()->default_value(""))
      ("log-test-auroc", "also log test AUROC per epoch, for analysis only (never used to select)")
      ("max-pixels", "refuse images with more pixels than this", cxxopts::value<size_t>()->default_value(std::to_string(kDefaultMaxPixels)))
      ("threads", "threads (0: all cores)", cxxopts::value<int>()->default_value("0"))
      ("h,help", "show this help");
    options.parse_positional({"data"});
    options.positional_help("DATA_DIR");
    const auto args = options.parse(argc, argv);
    if (args.count("help")) {
      std::printf("%s\n", options.help().c_str());
      return 0;
    }
    GANOMALY_CHECK(args.count("data"), "missing DATA_DIR (see --help)");
    app::set_threads(args["threads"].as<int>());
    o.recipe = args["recipe"].as<std::string>();
    o.model.image_size = args["image-size"].as<int>();
    o.model.channels = args["channels"].as<int>();
    o.model.n_features = args["n-features"].as<int>();
    o.model.latent_size = args["latent-size"].as<int>();
    o.model.extra_layers = args["extra-layers"].as<int>();
    o.epochs = args["epochs"].as<int>();
    o.batch_size = args["batch-size"].as<int>();
    o.learning_rate = args["lr"].as<float>();
    o.seed = args["seed"].as<uint64_t>();
    o.patience = args["patience"].as<int>();
    o.validation_fraction = args["validation-fraction"].as<double>();
    o.score = args["score"].as<std::string>();
    o.ema_decay = args["ema"].as<float>();
    o.validate_on = args["validate-on"].as<std::string>();
    o.out_dir = args["out"].as<std::string>();
    o.resume = args["resume"].as<std::string>();
    o.on_nan = args["on-nan"].as<std::string>();
    o.log_test_auroc = args.count("log-test-auroc") > 0;
    o.max_pixels = args["max-pixels"].as<size_t>();
    o.interactive = stdout_is_terminal();
    o.validate();
    const Dataset data = discover_dataset(args["data"].as<std::string>(), args["format"].as<std::string>());
    install_stop_handlers();
    const nlohmann::json s = train_model(data, o);
    std::printf("summary: %s\n", s.dump(2).c_str());
    return s["status"] == "diverged" ? 3 : (s["status"] == "interrupted" ? 130 : 0);
  });
}
