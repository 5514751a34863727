#pragma once
// The training loop: held-out validation, model selection, early stopping, checkpoints
// (best model and a resumable one), the log and the final test evaluation. Progress,
// notes and stopping go through a TrainObserver (observer.h).
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "ganomaly/data/dataset.h"
#include "ganomaly/eval/evaluate.h"
#include "ganomaly/model/ganomaly.h"
#include "ganomaly/train/observer.h"

namespace gan {

struct TrainOptions {
  ModelConfig model;
  std::string recipe = "paper";
  int epochs = 30;
  int batch_size = 16;                 // 10 steps per epoch on bottle: GANomaly needs steps more than epochs
  float learning_rate = 2e-4f;
  std::string lr_schedule = "constant"; // or cosine: decays to 0 over --epochs
  LossWeights loss_weights;            // adversarial, contextual, encoder: the paper's 1, 50, 1
  Stabilisers stabilisers;             // D learning-rate scale, label smoothing, re-init rule, instance noise
  std::string augment = "none";        // one of augment_modes() (src/ganomaly/train/augment.h)
  uint64_t seed = 42;
  int patience = 10;                   // epochs without a better validation AUROC (GANomaly plateaus before it improves)
  // A small set makes short epochs: 48 images are 2 steps an epoch, and 30 epochs would
  // stop GANomaly long before it has learnt anything. Below this many steps in all,
  // --epochs and --patience are scaled up by the same factor (scaled_for_steps). 0: off.
  int min_steps = 300;
  // Validation AUROC on pseudo-anomalies saturates while the model still improves: an
  // epoch within this of the best so far replaces the kept model (and resets patience),
  // so near-ties go to the longer-trained model. 0: only a strictly better epoch.
  double selection_tolerance = 0.005;
  double fusion_margin = 0.1;          // fused scores weigh 1 - (gap to the best validation AUROC) / this
  // A validation AUROC at or above this cannot rank epochs any more: the pseudo-anomalies
  // are then made half as strong (down to an eighth) and the kept model re-measured on
  // them. 0: never.
  double harden_at = 0.999;
  double validation_fraction = 0.2;    // of the training normals, held out
  std::string score = "fused";         // one of selectable_score_names(), or auto (best on validation)
  float ema_decay = 0.95f;             // > 0: score with an average of the generator's weights
  bool recalibrate_batch_norm = false; // recompute the averaged generator's batch-norm statistics each epoch
  std::string validate_on = "heldout"; // or "test": anomalib's habit, an oracle
  std::string out_dir = "runs/latest";
  std::string resume;                  // a last.gnm to continue from
  bool log_test_auroc = false;         // for analysis only: never used for selection
  size_t max_pixels = kDefaultMaxPixels;
  std::string on_nan = "stop";         // a non-finite loss: "stop" (keep the best model) or "skip" the batch
  Device device = Device::cpu;          // where the model trains and scores (--device)
  int stop_after_steps = -1;           // test hook: behave as if signalled after this many steps
  int nan_at_step = -1;                // test hook: a NaN generator loss at this step (counted from 1)
  void validate() const;               // throws naming the option
};

// The learning rate of `epoch` (from 0) relative to --lr: 1 for "constant"; for "cosine"
// half a cosine from 1 at the first epoch towards 0 after the last.
float learning_rate_factor(const std::string& schedule, int epoch, int epochs);

// `o` with --epochs and --patience raised so that `steps_per_epoch` x epochs reaches
// o.min_steps (unchanged when it does already, or when min_steps is 0).
TrainOptions scaled_for_steps(const TrainOptions& o, int steps_per_epoch);

// The training normals: those trained on, and the validation normals held out (a seeded
// fraction, unless the data set ships a validation split; none with --validate-on test).
struct Split {
  std::vector<Sample> train, validation;
};
Split split_training(const Dataset& data, const TrainOptions& options);
// The validation images: `normals`, then one pseudo-anomaly made from each, drawn from
// the run's seed; `labels` gets 0 for each normal, then 1 for each pseudo-anomaly.
// `strength` makes them fainter (make_pseudo_anomalies).
Tensor with_pseudo_anomalies(const Tensor& normals, uint64_t seed, std::vector<int>* labels, float strength = 1.0f);

struct TrainResult {
  // Also written to <out_dir>/summary.json. "status" is "completed", "early_stopped",
  // "interrupted" or "diverged".
  nlohmann::json summary;
  nlohmann::json info;                // the run's settings as model.gnm stores them ("info")
  // The kept model (the best validation epoch's, as in model.gnm) and its calibration;
  // null when the run was interrupted or kept none.
  std::unique_ptr<Ganomaly> model;
  Calibration calibration;
  // The data set's test split as evaluated (summary.json's figures, test_scores.csv),
  // when there is one and a model.
  std::optional<Evaluation> evaluation;
  Tensor test_images;                 // what `evaluation` scored, in the recipe's normalisation
};

// Trains on `data`. `observer` (may be null: silent, never stops) hears the progress and
// is asked after every step whether to stop.
TrainResult train_model(const Dataset& data, const TrainOptions& options, TrainObserver* observer = nullptr);

}  // namespace gan
