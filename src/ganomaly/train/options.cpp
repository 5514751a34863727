#include "ganomaly/train/options.h"

#include <cmath>
#include <utility>
#include <vector>

#include "tensor/device.h"

namespace gan {

namespace {

// Each choice's values and names, in the order the errors list them.
template <typename E>
struct Choices;
template <>
struct Choices<RecipeName> {
  static constexpr std::pair<RecipeName, const char*> all[] = {{RecipeName::paper, "paper"},
                                                               {RecipeName::anomalib, "anomalib"}};
};
template <>
struct Choices<LrSchedule> {
  static constexpr std::pair<LrSchedule, const char*> all[] = {{LrSchedule::constant, "constant"},
                                                               {LrSchedule::cosine, "cosine"}};
};
template <>
struct Choices<Augment> {
  static constexpr std::pair<Augment, const char*> all[] = {
      {Augment::none, "none"}, {Augment::flip, "flip"}, {Augment::shift, "shift"}};
};
template <>
struct Choices<ValidateOn> {
  static constexpr std::pair<ValidateOn, const char*> all[] = {{ValidateOn::heldout, "heldout"},
                                                               {ValidateOn::test, "test"}};
};
template <>
struct Choices<OnNan> {
  static constexpr std::pair<OnNan, const char*> all[] = {{OnNan::stop, "stop"}, {OnNan::skip, "skip"}};
};
template <>
struct Choices<ScoreChoice> {
  static constexpr std::pair<ScoreChoice, const char*> all[] = {
      {ScoreChoice::fused, "fused"},
      {ScoreChoice::latent, "latent"},
      {ScoreChoice::reconstruction, "reconstruction"},
      {ScoreChoice::feature, "feature"},
      {ScoreChoice::residual_max, "residual_max"},
      {ScoreChoice::residual_z, "residual_z"},
      {ScoreChoice::residual_nn, "residual_nn"},
      {ScoreChoice::best_on_validation, "auto"}};
};

template <typename E>
const char* name_of(E value) {
  for (const auto& [v, name] : Choices<E>::all)
    if (v == value) return name;
  throw Error("unknown option value");  // unreachable for a valid enum value
}

// "a, b or c".
template <typename E>
std::string listed() {
  std::string out;
  const size_t n = std::size(Choices<E>::all);
  for (size_t i = 0; i < n; ++i)
    out += str(i == 0 ? "" : i + 1 == n ? " or " : ", ", Choices<E>::all[i].second);
  return out;
}

void check(bool ok, const char* field, const std::string& problem) {
  if (!ok) throw OptionError(field, problem);
}

}  // namespace

const char* to_string(RecipeName v) { return name_of(v); }
const char* to_string(LrSchedule v) { return name_of(v); }
const char* to_string(Augment v) { return name_of(v); }
const char* to_string(ValidateOn v) { return name_of(v); }
const char* to_string(OnNan v) { return name_of(v); }
const char* to_string(ScoreChoice v) { return name_of(v); }

template <typename E>
E parse_choice(const std::string& field, const std::string& name) {
  for (const auto& [v, n] : Choices<E>::all)
    if (name == n) return v;
  // The recipe's message predates the others' (and says the names quoted, in order).
  if constexpr (std::is_same_v<E, RecipeName>) throw OptionError(field, str("expected 'anomalib' or 'paper', got '", name, "'"));
  throw OptionError(field, str("expected ", listed<E>(), ", got '", name, "'"));
}
template RecipeName parse_choice<RecipeName>(const std::string&, const std::string&);
template LrSchedule parse_choice<LrSchedule>(const std::string&, const std::string&);
template Augment parse_choice<Augment>(const std::string&, const std::string&);
template ValidateOn parse_choice<ValidateOn>(const std::string&, const std::string&);
template OnNan parse_choice<OnNan>(const std::string&, const std::string&);
template ScoreChoice parse_choice<ScoreChoice>(const std::string&, const std::string&);

OptionError::OptionError(std::string field, std::string problem)
    : Error(field + ": " + problem), field_(std::move(field)), problem_(std::move(problem)) {}

float learning_rate_factor(LrSchedule schedule, int epoch, int epochs) {
  if (schedule != LrSchedule::cosine) return 1.0f;
  return static_cast<float>(0.5 * (1.0 + std::cos(M_PI * epoch / epochs)));
}

void TrainOptions::validate() const {
  model.validate();
  check(epochs >= 1 && epochs <= 100000, "epochs", str("expected 1 to 100000, got ", epochs));
  check(batch_size >= 2 && batch_size <= 4096, "batch_size",
        str("expected 2 to 4096 (batch norm needs two), got ", batch_size));
  check(std::isfinite(learning_rate) && learning_rate > 0 && learning_rate < 1, "learning_rate",
        str("expected a number in (0, 1), got ", learning_rate));
  for (const auto& [field, w] : {std::pair{"loss_weights.adversarial", loss_weights.adversarial},
                                 std::pair{"loss_weights.contextual", loss_weights.contextual},
                                 std::pair{"loss_weights.encoder", loss_weights.encoder}})
    check(std::isfinite(w) && w >= 0 && w <= 1e4, field, str("expected a weight in [0, 10000], got ", w));
  // With every weight 0 the generator's loss is 0: training would change nothing.
  check(loss_weights.adversarial + loss_weights.contextual + loss_weights.encoder > 0, "loss_weights",
        "expected at least one loss weight above 0, got all three 0");
  const Stabilisers& s = stabilisers;
  check(std::isfinite(s.discriminator_lr_scale) && s.discriminator_lr_scale > 0 && s.discriminator_lr_scale <= 100,
        "stabilisers.discriminator_lr_scale", str("expected a number in (0, 100], got ", s.discriminator_lr_scale));
  check(std::isfinite(s.real_label) && s.real_label >= 0.5f && s.real_label <= 1, "stabilisers.real_label",
        str("expected a target in [0.5, 1], got ", s.real_label));
  check(std::isfinite(s.instance_noise) && s.instance_noise >= 0 && s.instance_noise <= 2, "stabilisers.instance_noise",
        str("expected a standard deviation in [0, 2], got ", s.instance_noise));
  check(std::isfinite(s.clip_grad_norm) && s.clip_grad_norm >= 0, "stabilisers.clip_grad_norm",
        str("expected 0 (off) or a positive norm, got ", s.clip_grad_norm));
  check(std::isfinite(selection_tolerance) && selection_tolerance >= 0 && selection_tolerance < 0.5,
        "selection_tolerance", str("expected [0, 0.5), got ", selection_tolerance));
  check(std::isfinite(fusion_margin) && fusion_margin >= 0 && fusion_margin <= 1, "fusion_margin",
        str("expected [0, 1], got ", fusion_margin));
  check(patience >= 0, "patience", str("expected 0 or more, got ", patience));
  check(harden_at >= 0 && harden_at <= 1, "harden_at", str("expected [0, 1], got ", harden_at));
  check(min_steps >= 0 && min_steps <= 10000000, "min_steps", str("expected 0 to 10000000, got ", min_steps));
  check(validation_fraction > 0 && validation_fraction < 0.9, "validation_fraction",
        str("expected (0, 0.9), got ", validation_fraction));
  check(ema_decay >= 0 && ema_decay < 1, "ema_decay", str("expected a decay in [0, 1), got ", ema_decay));
  require_device(device, "--device");
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
