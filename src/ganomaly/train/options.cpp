#include <algorithm>
#include <cmath>

#include "ganomaly/train/augment.h"
#include "ganomaly/train/train.h"
#include "tensor/backend.h"

namespace gan {

float learning_rate_factor(const std::string& schedule, int epoch, int epochs) {
  if (schedule != "cosine") return 1.0f;
  return static_cast<float>(0.5 * (1.0 + std::cos(M_PI * epoch / epochs)));
}

void TrainOptions::validate() const {
  model.validate();
  Recipe::named(recipe);
  GANOMALY_CHECK(epochs >= 1 && epochs <= 100000, "--epochs: expected 1 to 100000, got ", epochs);
  GANOMALY_CHECK(batch_size >= 2 && batch_size <= 4096, "--batch-size: expected 2 to 4096 (batch norm needs two), got ",
                 batch_size);
  GANOMALY_CHECK(std::isfinite(learning_rate) && learning_rate > 0 && learning_rate < 1,
                 "--lr: expected a number in (0, 1), got ", learning_rate);
  GANOMALY_CHECK(lr_schedule == "constant" || lr_schedule == "cosine",
                 "--lr-schedule: expected constant or cosine, got '", lr_schedule, "'");
  for (const auto& [name, w] : {std::pair{"--w-adv", loss_weights.adversarial}, std::pair{"--w-con", loss_weights.contextual},
                                std::pair{"--w-enc", loss_weights.encoder}})
    GANOMALY_CHECK(std::isfinite(w) && w >= 0 && w <= 1e4, name, ": expected a weight in [0, 10000], got ", w);
  // With every weight 0 the generator's loss is 0: training would change nothing.
  GANOMALY_CHECK(loss_weights.adversarial + loss_weights.contextual + loss_weights.encoder > 0,
                 "--w-adv, --w-con, --w-enc: expected at least one loss weight above 0, got all three 0");
  GANOMALY_CHECK(std::isfinite(stabilisers.discriminator_lr_scale) && stabilisers.discriminator_lr_scale > 0 &&
                     stabilisers.discriminator_lr_scale <= 100,
                 "--d-lr-scale: expected a number in (0, 100], got ", stabilisers.discriminator_lr_scale);
  GANOMALY_CHECK(std::isfinite(stabilisers.real_label) && stabilisers.real_label >= 0.5f && stabilisers.real_label <= 1,
                 "--real-label: expected a target in [0.5, 1], got ", stabilisers.real_label);
  GANOMALY_CHECK(std::isfinite(stabilisers.instance_noise) && stabilisers.instance_noise >= 0 &&
                     stabilisers.instance_noise <= 2,
                 "--instance-noise: expected a standard deviation in [0, 2], got ", stabilisers.instance_noise);
  GANOMALY_CHECK(std::isfinite(stabilisers.clip_grad_norm) && stabilisers.clip_grad_norm >= 0,
                 "--clip-grad-norm: expected 0 (off) or a positive norm, got ", stabilisers.clip_grad_norm);
  GANOMALY_CHECK(std::count(augment_modes().begin(), augment_modes().end(), augment),
                 "--augment: expected none, flip or shift, got '", augment, "'");
  GANOMALY_CHECK(std::isfinite(selection_tolerance) && selection_tolerance >= 0 && selection_tolerance < 0.5,
                 "--selection-tolerance: expected [0, 0.5), got ", selection_tolerance);
  GANOMALY_CHECK(std::isfinite(fusion_margin) && fusion_margin >= 0 && fusion_margin <= 1,
                 "--fusion-margin: expected [0, 1], got ", fusion_margin);
  GANOMALY_CHECK(patience >= 0, "--patience: expected 0 or more, got ", patience);
  GANOMALY_CHECK(harden_at >= 0 && harden_at <= 1, "--harden-at: expected [0, 1], got ", harden_at);
  GANOMALY_CHECK(min_steps >= 0 && min_steps <= 10000000, "--min-steps: expected 0 to 10000000, got ", min_steps);
  GANOMALY_CHECK(validation_fraction > 0 && validation_fraction < 0.9, "--validation-fraction: expected (0, 0.9), got ",
                 validation_fraction);
  const auto& names = selectable_score_names();
  GANOMALY_CHECK(score == "auto" || std::find(names.begin(), names.end(), score) != names.end(),
                 "--score: expected fused, latent, reconstruction, feature, residual_max, residual_z, residual_nn or auto, got '",
                 score, "'");
  GANOMALY_CHECK(ema_decay >= 0 && ema_decay < 1, "--ema: expected a decay in [0, 1), got ", ema_decay);
  GANOMALY_CHECK(on_nan == "stop" || on_nan == "skip", "--on-nan: expected stop or skip, got '", on_nan, "'");
  GANOMALY_CHECK(validate_on == "heldout" || validate_on == "test",
                 "--validate-on: expected heldout or test, got '", validate_on, "'");
  backend::require_device(device, "--device");
}

TrainOptions scaled_for_steps(const TrainOptions& o, int steps_per_epoch) {
  TrainOptions scaled = o;
  if (o.min_steps <= 0 || steps_per_epoch <= 0 || int64_t(steps_per_epoch) * o.epochs >= o.min_steps) return scaled;
  scaled.epochs = (o.min_steps + steps_per_epoch - 1) / steps_per_epoch;
  // Patience keeps its share of the run (10 of 30 epochs stays a third).
  scaled.patience = static_cast<int>((int64_t(o.patience) * scaled.epochs + o.epochs - 1) / o.epochs);
  return scaled;
}

}  // namespace gan
