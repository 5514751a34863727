#pragma once
// The training options: one struct, its defaults (the command line's too: apps/train_options.h
// reads them from here), typed choices, and the checks that name the field at fault.
//
// The choices are enums; their names (the same on the command line, in model files'
// "info", in summary.json and train_log.jsonl) convert both ways (names.h).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "ganomaly/data/image.h"
#include "ganomaly/eval/calibration.h"
#include "ganomaly/io/model_file.h"
#include "ganomaly/model/ganomaly.h"
#include "ganomaly/train/augment.h"

namespace gan {

enum class LrSchedule { constant, cosine };             // cosine: decays to 0 over the epochs
enum class ValidateOn { heldout, test };                // test: anomalib's habit, an oracle
enum class OnNan { stop, skip };                        // a non-finite loss: stop (keep the best model) or skip the batch
enum class PhotometricChoice { automatic, on, off };    // model/photometric.h; automatic: chosen on validation
// The residual score the fused score sums, whose map is the anomaly map (train/map_choice.h);
// automatic: chosen on the validation pseudo-anomalies' masks.
enum class MapChoice { automatic, residual_nn, residual_z, residual_max };
// The residual part the fused score sums while training: the one named, kFusedResidual for auto.
Score fused_residual(MapChoice choice);
// The score that decides: a Score (the same value), or the best single score on
// validation ("auto").
enum class ScoreChoice { latent, reconstruction, feature, residual_max, residual_z, residual_nn, fused, image_z, image_nn,
                         best_on_validation };
// The Score a choice names; nothing for best_on_validation.
std::optional<Score> fixed_score(ScoreChoice choice);
ScoreChoice choice_of(Score score);

// The names (names.h; RecipeName's in ganomaly.h, Augment's in augment.h), as on the
// command line and in files.
template <>
struct NameTable<LrSchedule> {
  static constexpr std::pair<LrSchedule, const char*> all[] = {{LrSchedule::constant, "constant"},
                                                               {LrSchedule::cosine, "cosine"}};
};
template <>
struct NameTable<ValidateOn> {
  static constexpr std::pair<ValidateOn, const char*> all[] = {{ValidateOn::heldout, "heldout"},
                                                               {ValidateOn::test, "test"}};
};
template <>
struct NameTable<OnNan> {
  static constexpr std::pair<OnNan, const char*> all[] = {{OnNan::stop, "stop"}, {OnNan::skip, "skip"}};
};
template <>
struct NameTable<PhotometricChoice> {
  static constexpr std::pair<PhotometricChoice, const char*> all[] = {
      {PhotometricChoice::automatic, "auto"}, {PhotometricChoice::on, "on"}, {PhotometricChoice::off, "off"}};
};
template <>
struct NameTable<MapChoice> {
  static constexpr std::pair<MapChoice, const char*> all[] = {{MapChoice::automatic, "auto"},
                                                              {MapChoice::residual_nn, "residual_nn"},
                                                              {MapChoice::residual_z, "residual_z"},
                                                              {MapChoice::residual_max, "residual_max"}};
};
// ScoreChoice has no table of its own: its names are Score's, plus "auto".
const char* to_string(ScoreChoice choice);
template <>
ScoreChoice parse_choice<ScoreChoice>(const std::string& field, const std::string& name);
inline void to_json(nlohmann::json& j, ScoreChoice v) { j = to_string(v); }

struct TrainOptions {
  ModelConfig model;
  RecipeName recipe = RecipeName::paper;
  int epochs = 30;
  int batch_size = 16;                 // 10 steps per epoch on bottle: GANomaly needs steps more than epochs
  float learning_rate = 2e-4f;
  LrSchedule lr_schedule = LrSchedule::constant;
  LossWeights loss_weights;            // adversarial, contextual, encoder: the paper's 1, 50, 1
  Stabilisers stabilisers;             // D learning-rate scale, label smoothing, re-init rule, instance noise
  Augment augment = Augment::none;
  uint64_t seed = 42;
  int patience = 10;                   // epochs without a better validation AUROC (GANomaly plateaus before it improves)
  // A small set makes short epochs: 48 images are 2 steps an epoch, and 30 epochs would
  // stop GANomaly long before it has learnt anything. Below this many steps in all,
  // epochs and patience are scaled up by the same factor (scaled_for_steps). 0: off.
  int min_steps = 300;
  // Values the user typed (a flag or a config file's key): min_steps scales only the
  // defaults, never a typed --epochs (nor --patience).
  struct {
    bool epochs = false, patience = false;
  } typed;
  // Validation AUROC on pseudo-anomalies saturates while the model still improves: an
  // epoch within this of the best so far replaces the kept model (and resets patience),
  // so near-ties go to the longer-trained model. 0: only a strictly better epoch.
  double selection_tolerance = 0.005;
  double fusion_margin = kDefaultFusionMargin;  // fused scores weigh 1 - (gap to the best validation AUROC) / this
  // A validation AUROC at or above this cannot rank epochs any more: the pseudo-anomalies
  // are then made half as strong (down to an eighth) and the kept model re-measured on
  // them. 0: never.
  double harden_at = 0.999;
  double validation_fraction = 0.2;    // of the training normals, held out
  ScoreChoice score = ScoreChoice::fused;
  float ema_decay = 0.95f;             // > 0: score with an average of the generator's weights
  bool recalibrate_batch_norm = false; // recompute the averaged generator's batch-norm statistics each epoch
  ValidateOn validate_on = ValidateOn::heldout;
  std::string out_dir = "runs/latest";
  std::string resume;                  // a last.gnm to continue from
  bool log_test_auroc = false;         // for analysis only: never used for selection
  size_t max_pixels = kDefaultMaxPixels;
  OnNan on_nan = OnNan::stop;
  WeightStorage weights = WeightStorage::fp32;  // model.gnm's convolution weights (last.gnm stays float32)
  PhotometricChoice photometric = PhotometricChoice::automatic;
  // How the decision threshold is placed on validation (Calibration::place_threshold):
  // by default where the validation normals cross target_fpr, moved halfway to a higher best F1.
  ThresholdRule threshold_rule = ThresholdRule::midway;
  double target_fpr = kDefaultTargetFpr;
  MapChoice map = MapChoice::automatic;  // the fused score's residual part, hence the anomaly map
  Device device = Device::cpu;         // where the model trains and scores
  // The app's effective options, in the format its --config reads (apps/config_file.h):
  // written as out_dir/config.json once the folder is locked. Null: none is written.
  nlohmann::json run_config;

  // Throws OptionError naming the first field out of range, or FieldError naming
  // "device" when the device cannot be used here.
  void validate() const;
};

// The learning rate of `epoch` (from 0) relative to learning_rate: 1 for constant; for
// cosine half a cosine from 1 at the first epoch towards 0 after the last.
float learning_rate_factor(LrSchedule schedule, int epoch, int epochs);

// `o` with epochs and patience raised so that `steps_per_epoch` x epochs reaches
// o.min_steps (unchanged when it does already, when min_steps is 0, or when the epochs
// were typed; typed patience is kept).
TrainOptions scaled_for_steps(const TrainOptions& o, int steps_per_epoch);

}  // namespace gan
