#pragma once
// last.gnm's training position: where a stopped run continues, bitwise as if it had not
// stopped. The weights, the optimizers' moments and the model's generator travel in the
// model file itself (save_model with a `training` object); this is the rest.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ganomaly/io/model_file.h"

namespace gan {

// Mid-epoch: the losses summed over the steps done so far, so the resumed epoch logs the
// means of all its steps, as the straight run does.
struct EpochSums {
  StepLosses sum = zero();
  int steps_done = 0;
  int reinits = 0;  // discriminator re-initialisations

  void add(const StepLosses& l);
  nlohmann::json to_json() const;
  static EpochSums from_json(const nlohmann::json& j);

 private:
  static StepLosses zero();
};

// The best epoch so far (what model.gnm holds), without its weights.
struct KeptModel {
  double metric = -1;  // its selecting validation AUROC
  int epoch = 0;       // from 1; 0: none yet
  Calibration calibration;
};

struct ResumeState {
  int epoch = 0;                     // the epoch to run next (from 0)
  int step = 0;                      // its first step (> 0: stopped mid-epoch)
  int stale = 0;                     // epochs since the kept model last changed
  std::vector<uint64_t> data_rng;    // the shuffling generator at the start of `epoch`
  double train_seconds = 0;
  float pseudo_strength = 1.0f;      // of the validation pseudo-anomalies (lowered by --harden-at)
  KeptModel kept;
  std::optional<EpochSums> epoch_sums;  // step > 0 only

  // The `training` object of last.gnm (model_rng is added by save_model).
  nlohmann::json to_json() const;
  static ResumeState from_json(const nlohmann::json& training);
};

// A resumed run continues bitwise only with the settings it was started with: throws a
// FieldError naming the fields of the first setting of `was` (the checkpoint's run info)
// that differs from `now` (another data set, learning rate, batch size, seed, ...).
void check_resume_settings(const std::string& resume, const nlohmann::json& was, const nlohmann::json& now);

}  // namespace gan
