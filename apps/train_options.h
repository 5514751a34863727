#pragma once
// The training options that ganomaly_train and ganomaly_categories share: one list of
// names and help texts, the defaults read from TrainOptions (the library's, the one
// source), and one place that reads them into a TrainOptions. The flag of each field
// that the library's errors name is app_common.h's field_flags().
//
// Not here (each app adds its own): the data folder, --format, --out, --resume, --help.
// --threads is added here but applied by the app (app::set_threads).
#include <cstdio>

#include <cxxopts.hpp>
#include <map>
#include <string>

#include "app_common.h"
#include "config_file.h"
#include "ganomaly/data/image.h"
#include "ganomaly/train/train.h"

namespace gan::app {

// A default as the help shows it ("0.1", not "0.100000"), taken from TrainOptions so the
// command line and the library cannot disagree.
inline std::string default_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// The JSON type of each option add_train_options adds, in a config file (config_file.h):
// the rest are strings (choices, --device) or switches.
inline const ConfigKinds& train_option_kinds() {
  static const ConfigKinds kinds = {
      {"image-size", ConfigValue::integer},     {"channels", ConfigValue::integer},
      {"n-features", ConfigValue::integer},     {"latent-size", ConfigValue::integer},
      {"extra-layers", ConfigValue::integer},   {"epochs", ConfigValue::integer},
      {"batch-size", ConfigValue::integer},     {"patience", ConfigValue::integer},
      {"min-steps", ConfigValue::integer},      {"threads", ConfigValue::integer},
      {"seed", ConfigValue::unsigned64},        {"max-pixels", ConfigValue::size},
      {"lr", ConfigValue::decimal},             {"w-adv", ConfigValue::decimal},
      {"w-con", ConfigValue::decimal},          {"w-enc", ConfigValue::decimal},
      {"d-lr-scale", ConfigValue::decimal},     {"real-label", ConfigValue::decimal},
      {"instance-noise", ConfigValue::decimal}, {"clip-grad-norm", ConfigValue::decimal},
      {"selection-tolerance", ConfigValue::decimal}, {"fusion-margin", ConfigValue::decimal},
      {"harden-at", ConfigValue::decimal},      {"validation-fraction", ConfigValue::decimal},
      {"ema", ConfigValue::decimal}};
  return kinds;
}

inline void add_train_options(cxxopts::Options& options) {
  const TrainOptions o;
  options.add_options()
    ("recipe", "paper (feature matching, MSE encoder loss, N(0,0.02) init, [-1,1] inputs) or anomalib",
     cxxopts::value<std::string>()->default_value(to_string(o.recipe)))
    ("image-size", "images are resized to this square size (32 to 512; anomalib uses 256)",
     cxxopts::value<int>()->default_value(std::to_string(o.model.image_size)))
    ("channels", "1 (grey) or 3 (colour)", cxxopts::value<int>()->default_value(std::to_string(o.model.channels)))
    ("n-features", "features of the first conv layer", cxxopts::value<int>()->default_value(std::to_string(o.model.n_features)))
    ("latent-size", "size of the latent vector z", cxxopts::value<int>()->default_value(std::to_string(o.model.latent_size)))
    ("extra-layers", "extra 3x3 conv layers in encoders and decoder", cxxopts::value<int>()->default_value(std::to_string(o.model.extra_layers)))
    ("epochs", "maximum epochs", cxxopts::value<int>()->default_value(std::to_string(o.epochs)))
    ("batch-size", "images per step", cxxopts::value<int>()->default_value(std::to_string(o.batch_size)))
    ("lr", "Adam learning rate (betas 0.5, 0.999)", cxxopts::value<std::string>()->default_value(default_text(o.learning_rate)))
    ("lr-schedule", "constant, or cosine (decays to 0 over --epochs)",
     cxxopts::value<std::string>()->default_value(to_string(o.lr_schedule)))
    ("w-adv", "weight of the adversarial loss", cxxopts::value<std::string>()->default_value(default_text(o.loss_weights.adversarial)))
    ("w-con", "weight of the contextual (reconstruction) loss", cxxopts::value<std::string>()->default_value(default_text(o.loss_weights.contextual)))
    ("w-enc", "weight of the encoder (latent) loss", cxxopts::value<std::string>()->default_value(default_text(o.loss_weights.encoder)))
    ("d-lr-scale", "discriminator learning rate = this x --lr", cxxopts::value<std::string>()->default_value(default_text(o.stabilisers.discriminator_lr_scale)))
    ("real-label", "discriminator's target for real images (< 1: one-sided label smoothing)",
     cxxopts::value<std::string>()->default_value(default_text(o.stabilisers.real_label)))
    ("spectral-norm", "divide each discriminator convolution's weight by its largest singular value (power iteration)")
    ("reinit-saturated-d", "also re-initialise the discriminator when its loss is pinned at the BCE clamp (collapse)")
    ("instance-noise", "standard deviation of Gaussian noise added to the discriminator's inputs, falling linearly to 0 over --epochs (0: none)",
     cxxopts::value<std::string>()->default_value(default_text(o.stabilisers.instance_noise)))
    ("clip-grad-norm", "clip each network's gradients to this global L2 norm before its step (0: off)",
     cxxopts::value<std::string>()->default_value(default_text(o.stabilisers.clip_grad_norm)))
    ("augment", "none, flip (random mirror images: textures, objects seen from above) or shift (up to 1/16 of the side: aligned objects)",
     cxxopts::value<std::string>()->default_value(to_string(o.augment)))
    ("seed", "random seed", cxxopts::value<uint64_t>()->default_value(std::to_string(o.seed)))
    ("patience", "stop after this many epochs without a better validation AUROC (0: never)",
     cxxopts::value<int>()->default_value(std::to_string(o.patience)))
    ("min-steps", "a small set trains at least this many steps: --epochs and --patience are scaled up (0: off)",
     cxxopts::value<int>()->default_value(std::to_string(o.min_steps)))
    ("selection-tolerance", "keep the latest epoch whose validation AUROC is within this of the best so far",
     cxxopts::value<std::string>()->default_value(default_text(o.selection_tolerance)))
    ("fusion-margin", "the fused score weighs latent, feature, residual_nn and image_nn by 1 - (gap to the best validation AUROC) / this; 0: only the best",
     cxxopts::value<std::string>()->default_value(default_text(o.fusion_margin)))
    ("harden-at", "a validation AUROC at or above this makes the pseudo-anomalies half as strong (down to 1/8) and re-measures the kept model; 0: never",
     cxxopts::value<std::string>()->default_value(default_text(o.harden_at)))
    ("validation-fraction", "fraction of the training normals held out for validation",
     cxxopts::value<std::string>()->default_value(default_text(o.validation_fraction)))
    ("score", "fused (see --fusion-margin), auto (the best on validation), latent, reconstruction, feature, residual_max, residual_z, residual_nn, image_z or image_nn", cxxopts::value<std::string>()->default_value(to_string(o.score)))
    ("ema", "decay of the moving average of generator weights used for scoring (0: off)",
     cxxopts::value<std::string>()->default_value(default_text(o.ema_decay)))
    ("recalibrate-bn", "recompute the averaged generator's batch-norm statistics on the training images each epoch")
    ("validate-on", "heldout (training normals + pseudo-anomalies) or test (anomalib's habit: an oracle)",
     cxxopts::value<std::string>()->default_value(to_string(o.validate_on)))
    ("on-nan", "a non-finite loss: stop (keeping the best model) or skip the batch",
     cxxopts::value<std::string>()->default_value(to_string(o.on_nan)))
    ("weights", "model.gnm's convolution weights: fp32, or fp16 (half the file; single scores within 1e-3 relative; last.gnm stays fp32)",
     cxxopts::value<std::string>()->default_value(to_string(o.weights)))
    ("photometric", "bring each image's channels to the training normals' mean and spread (undoes a change of "
     "light): auto (on when relit validation normals would read as defects), on or off",
     cxxopts::value<std::string>()->default_value(to_string(o.photometric)))
    ("threshold-rule", "where the decision threshold goes: fpr (where the validation normals reach --target-fpr), "
     "f1 (the best F1 between the validation normals and the pseudo-anomalies), max (the higher of the two) or midway "
     "(fpr's, moved halfway to a higher best F1)",
     cxxopts::value<std::string>()->default_value(to_string(o.threshold_rule)))
    ("target-fpr", "the share of normal images the calibrated threshold may flag (every --threshold-rule but f1)",
     cxxopts::value<std::string>()->default_value(default_text(o.target_fpr)))
    ("map", "the residual score the fused score sums, whose map is the anomaly map: auto (the best "
     "validation AUPRO on the pseudo-anomalies' masks; residual_nn unless another is 0.01 better), residual_nn, "
     "residual_z or residual_max",
     cxxopts::value<std::string>()->default_value(to_string(o.map)))
    ("log-test-auroc", "also log test AUROC per epoch, for analysis only (never used to select)")
    ("max-pixels", "refuse images with more pixels than this", cxxopts::value<size_t>()->default_value(std::to_string(o.max_pixels)))
    ("threads", "threads (0: all cores)", cxxopts::value<int>()->default_value("0"))
    ("device", "cpu, or cuda (an NVIDIA GPU; needs a CUDA build: make cuda)",
     cxxopts::value<std::string>()->default_value(device_name(o.device)));
}

// Everything add_train_options added, except --threads; out_dir and resume are left at
// their defaults for the app to set. Not validated here.
inline TrainOptions read_train_options(const cxxopts::ParseResult& args) {
  TrainOptions o;
  o.recipe = parse_choice<RecipeName>("recipe", args["recipe"].as<std::string>());
  o.model.image_size = args["image-size"].as<int>();
  o.model.channels = args["channels"].as<int>();
  o.model.n_features = args["n-features"].as<int>();
  o.model.latent_size = args["latent-size"].as<int>();
  o.model.extra_layers = args["extra-layers"].as<int>();
  o.model.spectral_norm = args["spectral-norm"].as<bool>();
  o.epochs = args["epochs"].as<int>();
  o.typed.epochs = args.count("epochs") > 0;  // a config file's key counts as typed
  o.batch_size = args["batch-size"].as<int>();
  o.learning_rate = decimal_option<float>(args, "lr");
  o.lr_schedule = parse_choice<LrSchedule>("lr_schedule", args["lr-schedule"].as<std::string>());
  o.loss_weights.adversarial = decimal_option<float>(args, "w-adv");
  o.loss_weights.contextual = decimal_option<float>(args, "w-con");
  o.loss_weights.encoder = decimal_option<float>(args, "w-enc");
  o.stabilisers.discriminator_lr_scale = decimal_option<float>(args, "d-lr-scale");
  o.stabilisers.real_label = decimal_option<float>(args, "real-label");
  o.stabilisers.clip_grad_norm = decimal_option<float>(args, "clip-grad-norm");
  o.stabilisers.reinit_saturated_d = args["reinit-saturated-d"].as<bool>();
  o.stabilisers.instance_noise = decimal_option<float>(args, "instance-noise");
  o.augment = parse_choice<Augment>("augment", args["augment"].as<std::string>());
  o.seed = args["seed"].as<uint64_t>();
  o.patience = args["patience"].as<int>();
  o.typed.patience = args.count("patience") > 0;
  o.min_steps = args["min-steps"].as<int>();
  o.selection_tolerance = decimal_option<double>(args, "selection-tolerance");
  o.fusion_margin = decimal_option<double>(args, "fusion-margin");
  o.harden_at = decimal_option<double>(args, "harden-at");
  o.validation_fraction = decimal_option<double>(args, "validation-fraction");
  o.score = parse_choice<ScoreChoice>("score", args["score"].as<std::string>());
  o.ema_decay = decimal_option<float>(args, "ema");
  o.recalibrate_batch_norm = args["recalibrate-bn"].as<bool>();
  o.validate_on = parse_choice<ValidateOn>("validate_on", args["validate-on"].as<std::string>());
  o.on_nan = parse_choice<OnNan>("on_nan", args["on-nan"].as<std::string>());
  o.weights = parse_choice<WeightStorage>("weights", args["weights"].as<std::string>());
  o.photometric = parse_choice<PhotometricChoice>("photometric", args["photometric"].as<std::string>());
  o.threshold_rule = parse_choice<ThresholdRule>("threshold_rule", args["threshold-rule"].as<std::string>());
  o.target_fpr = decimal_option<double>(args, "target-fpr");
  o.map = parse_choice<MapChoice>("map", args["map"].as<std::string>());
  o.log_test_auroc = args["log-test-auroc"].as<bool>();
  o.max_pixels = args["max-pixels"].as<size_t>();
  o.device = read_device(args, /*require=*/false);  // TrainOptions::validate checks it can be used
  return o;
}

}  // namespace gan::app
