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
#include "ganomaly/io/model_file.h"
#include "ganomaly/model/ganomaly.h"
#include "ganomaly/train/observer.h"
#include "ganomaly/train/options.h"

namespace gan {

// The training normals: those trained on, and the validation normals held out (a seeded
// fraction, unless the data set ships a validation split; none with --validate-on test).
struct Split {
  std::vector<Sample> train, validation;
};
Split split_training(const Dataset& data, const TrainOptions& options);
// The validation images: `normals`, then one pseudo-anomaly made from each, drawn from
// the run's seed; `labels` gets 0 for each normal, then 1 for each pseudo-anomaly.
// `strength` makes them fainter (make_pseudo_anomalies). `masks`, when given: where each
// image differs from its normal, [2N, 1, H, W] (the normals' all 0).
Tensor with_pseudo_anomalies(const Tensor& normals, uint64_t seed, std::vector<int>* labels, float strength = 1.0f,
                             Tensor* masks = nullptr);

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

// Faults a test injects into training; the apps never set them. (A full disk is
// injected into every writer alike: InjectedDiskFull, io/atomic_file.h.)
struct TrainFaults {
  int nan_at_step = -1;  // a NaN generator loss at this step of the process (from 1)
};

// Trains on `data`. `observer` (may be null: silent, never stops) hears the progress and
// is asked after every step whether to stop.
TrainResult train_model(const Dataset& data, const TrainOptions& options, TrainObserver* observer = nullptr,
                        const TrainFaults& faults = {});

}  // namespace gan
