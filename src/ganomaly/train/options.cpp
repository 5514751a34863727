#include "ganomaly/train/options.h"

#include <cmath>
#include <iterator>
#include <utility>
#include <vector>

#include "tensor/device.h"
#include "tensor/number_text.h"

namespace gan {

namespace {

void check(bool ok, const char* field, const std::string& problem) {
  if (!ok) throw OptionError(field, problem);
}

}  // namespace

static_assert(int(ScoreChoice::fused) == int(Score::fused) && int(ScoreChoice::latent) == int(Score::latent) &&
                  int(ScoreChoice::residual_nn) == int(Score::residual_nn) &&
                  int(ScoreChoice::image_z) == int(Score::image_z) &&
                  int(ScoreChoice::image_nn) == int(Score::image_nn) && std::size(kScores) == 9,
              "a ScoreChoice names the Score of the same value");

std::optional<Score> fixed_score(ScoreChoice choice) {
  if (choice == ScoreChoice::best_on_validation) return std::nullopt;
  return static_cast<Score>(choice);
}

ScoreChoice choice_of(Score score) { return static_cast<ScoreChoice>(score); }

Score fused_residual(MapChoice choice) {
  switch (choice) {
    case MapChoice::residual_nn: return Score::residual_nn;
    case MapChoice::residual_z: return Score::residual_z;
    case MapChoice::residual_max: return Score::residual_max;
    case MapChoice::automatic: break;
  }
  return kFusedResidual;
}

const char* to_string(ScoreChoice choice) {
  const std::optional<Score> score = fixed_score(choice);
  return score ? to_string(*score) : "auto";
}

template <>
ScoreChoice parse_choice<ScoreChoice>(const std::string& field, const std::string& name) {
  if (name == "auto") return ScoreChoice::best_on_validation;
  if (const std::optional<Score> score = find_named<Score>(name)) return choice_of(*score);
  // As the help lists them: the default first, auto last.
  std::string names = to_string(Score::fused);
  for (Score s : kScores)
    if (s != Score::fused) names += str(", ", to_string(s));
  throw OptionError(field, str("expected ", names, " or auto, got '", name, "'"));
}

float learning_rate_factor(LrSchedule schedule, int epoch, int epochs) {
  if (schedule != LrSchedule::cosine) return 1.0f;
  return static_cast<float>(0.5 * (1.0 + std::cos(M_PI * epoch / epochs)));
}

// Out-of-range numbers are quoted whole (exact_text): a real_label of 1.0000001 must not
// read "got 1".
void TrainOptions::validate() const {
  model.validate();
  check(epochs >= 1 && epochs <= 100000, "epochs", str("expected 1 to 100000, got ", epochs));
  check(batch_size >= 2 && batch_size <= 4096, "batch_size",
        str("expected 2 to 4096 (batch norm needs two), got ", batch_size));
  check(std::isfinite(learning_rate) && learning_rate > 0 && learning_rate < 1, "learning_rate",
        str("expected a number in (0, 1), got ", exact_text(learning_rate)));
  for (const auto& [field, w] : {std::pair{"loss_weights.adversarial", loss_weights.adversarial},
                                 std::pair{"loss_weights.contextual", loss_weights.contextual},
                                 std::pair{"loss_weights.encoder", loss_weights.encoder}})
    check(std::isfinite(w) && w >= 0 && w <= 1e4, field, str("expected a weight in [0, 10000], got ", exact_text(w)));
  // With every weight 0 the generator's loss is 0: training would change nothing.
  check(loss_weights.adversarial + loss_weights.contextual + loss_weights.encoder > 0, "loss_weights",
        "expected at least one loss weight above 0, got all three 0");
  const Stabilisers& s = stabilisers;
  check(std::isfinite(s.discriminator_lr_scale) && s.discriminator_lr_scale > 0 && s.discriminator_lr_scale <= 100,
        "stabilisers.discriminator_lr_scale", str("expected a number in (0, 100], got ", exact_text(s.discriminator_lr_scale)));
  check(std::isfinite(s.real_label) && s.real_label >= 0.5f && s.real_label <= 1, "stabilisers.real_label",
        str("expected a target in [0.5, 1], got ", exact_text(s.real_label)));
  check(std::isfinite(s.instance_noise) && s.instance_noise >= 0 && s.instance_noise <= 2, "stabilisers.instance_noise",
        str("expected a standard deviation in [0, 2], got ", exact_text(s.instance_noise)));
  check(std::isfinite(s.clip_grad_norm) && s.clip_grad_norm >= 0, "stabilisers.clip_grad_norm",
        str("expected 0 (off) or a positive norm, got ", exact_text(s.clip_grad_norm)));
  check(std::isfinite(selection_tolerance) && selection_tolerance >= 0 && selection_tolerance < 0.5,
        "selection_tolerance", str("expected [0, 0.5), got ", exact_text(selection_tolerance)));
  check(std::isfinite(fusion_margin) && fusion_margin >= 0 && fusion_margin <= 1, "fusion_margin",
        str("expected [0, 1], got ", exact_text(fusion_margin)));
  check(std::isfinite(target_fpr) && target_fpr > 0 && target_fpr <= 0.5, "target_fpr",
        str("expected a false-positive rate in (0, 0.5], got ", exact_text(target_fpr)));
  check(patience >= 0, "patience", str("expected 0 or more, got ", patience));
  check(harden_at >= 0 && harden_at <= 1, "harden_at", str("expected [0, 1], got ", exact_text(harden_at)));
  check(min_steps >= 0 && min_steps <= 10000000, "min_steps", str("expected 0 to 10000000, got ", min_steps));
  check(validation_fraction > 0 && validation_fraction < 0.9, "validation_fraction",
        str("expected (0, 0.9), got ", exact_text(validation_fraction)));
  check(ema_decay >= 0 && ema_decay < 1, "ema_decay", str("expected a decay in [0, 1), got ", exact_text(ema_decay)));
  std::string why;
  if (!device_available(device, &why))  // the machine's or the build's limit, not a bad value: not an OptionError
    throw FieldError("device", {"cannot use ", field_ref("device"), str(" ", device_name(device), ": ", why)});
}

TrainOptions scaled_for_steps(const TrainOptions& o, int steps_per_epoch) {
  TrainOptions scaled = o;
  if (o.typed.epochs || o.min_steps <= 0 || steps_per_epoch <= 0 || int64_t(steps_per_epoch) * o.epochs >= o.min_steps)
    return scaled;
  scaled.epochs = (o.min_steps + steps_per_epoch - 1) / steps_per_epoch;
  // Patience keeps its share of the run (10 of 30 epochs stays a third).
  if (!o.typed.patience)
    scaled.patience = static_cast<int>((int64_t(o.patience) * scaled.epochs + o.epochs - 1) / o.epochs);
  return scaled;
}

}  // namespace gan
