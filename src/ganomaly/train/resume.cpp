#include "ganomaly/train/resume.h"
#include "ganomaly/io/json_text.h"

#include <cstdio>
#include <filesystem>
#include <utility>
#include <vector>

namespace gan {

StepLosses EpochSums::zero() {
  StepLosses s;
  s.generator_grad_norm = s.discriminator_grad_norm = 0;
  return s;
}

void EpochSums::add(const StepLosses& l) {
  sum.generator += l.generator, sum.discriminator += l.discriminator, sum.contextual += l.contextual;
  sum.adversarial += l.adversarial, sum.encoder += l.encoder;
  sum.generator_grad_norm += l.generator_grad_norm, sum.discriminator_grad_norm += l.discriminator_grad_norm;
  reinits += l.discriminator_reinitialised;
  ++steps_done;
}

nlohmann::json EpochSums::to_json() const {
  return {{"generator", sum.generator},
          {"discriminator", sum.discriminator},
          {"adversarial", sum.adversarial},
          {"contextual", sum.contextual},
          {"encoder", sum.encoder},
          {"generator_grad_norm", sum.generator_grad_norm},
          {"discriminator_grad_norm", sum.discriminator_grad_norm},
          {"steps_done", steps_done},
          {"reinits", reinits}};
}

EpochSums EpochSums::from_json(const nlohmann::json& e) {
  EpochSums s;
  s.sum.generator = e.at("generator"), s.sum.discriminator = e.at("discriminator");
  s.sum.adversarial = e.at("adversarial"), s.sum.contextual = e.at("contextual"), s.sum.encoder = e.at("encoder");
  s.sum.generator_grad_norm = e.at("generator_grad_norm");
  s.sum.discriminator_grad_norm = e.at("discriminator_grad_norm");
  s.steps_done = e.at("steps_done"), s.reinits = e.at("reinits");
  return s;
}

nlohmann::json ResumeState::to_json() const {
  nlohmann::json t = {{"epoch", epoch},
                      {"step", step},
                      {"stale", stale},
                      {"data_rng", data_rng},
                      {"best_metric", kept.metric},
                      {"best_epoch", kept.epoch},
                      {"train_seconds", train_seconds},
                      {"pseudo_strength", pseudo_strength}};
  if (epoch_sums) t["epoch_sums"] = epoch_sums->to_json();
  if (kept.epoch > 0) t["best_calibration"] = kept.calibration.to_json();
  return t;
}

ResumeState ResumeState::from_json(const nlohmann::json& t) {
  ResumeState s;
  s.epoch = t.at("epoch").get<int>();
  s.step = t.at("step").get<int>();
  s.stale = t.at("stale").get<int>();
  s.data_rng = t.at("data_rng").get<std::vector<uint64_t>>();
  s.train_seconds = t.at("train_seconds").get<double>();
  s.pseudo_strength = t.value("pseudo_strength", 1.0f);  // absent before harden_at existed
  s.kept.metric = t.at("best_metric").get<double>();
  s.kept.epoch = t.at("best_epoch").get<int>();
  if (s.kept.epoch > 0) s.kept.calibration = Calibration::from_json(t.at("best_calibration"));
  if (s.step > 0 && t.contains("epoch_sums")) s.epoch_sums = EpochSums::from_json(t.at("epoch_sums"));
  return s;
}

namespace {

// A number as the command line would show it (0.0002, not 0.00019999999494757503).
std::string shown(const nlohmann::json& v) {
  if (v.is_number_float()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v.get<double>());
    return buf;
  }
  if (v.is_array()) {
    std::string out;
    for (const auto& x : v) out += (out.empty() ? "" : ",") + shown(x);
    return out;
  }
  return v.is_string() ? v.get<std::string>() : dump_json(v);
}

}  // namespace

void check_resume_settings(const std::string& resume, const nlohmann::json& was, const nlohmann::json& now) {
  // Each setting of the run's info (train.cpp, run_info) and the fields it comes from:
  // TrainOptions', and the data set's ("data", "format").
  static const std::pair<const char*, std::vector<const char*>> kSettings[] = {
      {"data", {"data"}},
      {"format", {"format"}},
      {"seed", {"seed"}},
      {"batch_size", {"batch_size"}},
      {"learning_rate", {"learning_rate"}},
      {"lr_schedule", {"lr_schedule"}},
      {"loss_weights", {"loss_weights.adversarial", "loss_weights.contextual", "loss_weights.encoder"}},
      {"d_lr_scale", {"stabilisers.discriminator_lr_scale"}},
      {"real_label", {"stabilisers.real_label"}},
      {"instance_noise", {"stabilisers.instance_noise"}},
      {"augment", {"augment"}},
      {"clip_grad_norm", {"stabilisers.clip_grad_norm"}},
      {"reinit_saturated_d", {"stabilisers.reinit_saturated_d"}},
      {"ema_decay", {"ema_decay"}},
      {"validate_on", {"validate_on"}},
      {"selection_tolerance", {"selection_tolerance"}},
      {"fusion_margin", {"fusion_margin"}},
      {"harden_at", {"harden_at"}},
      {"threshold_rule", {"threshold_rule"}},
      {"target_fpr", {"target_fpr"}},
      {"map", {"map"}}};
  for (const auto& [key, fields] : kSettings) {
    if (!was.contains(key) || !now.contains(key)) continue;  // an older checkpoint may lack a setting
    const nlohmann::json &a = was[key], &b = now[key];
    if (a == b) continue;
    if (std::string(key) == "data" && a.is_string() && b.is_string()) {  // the same folder by another path
      std::error_code e1, e2;
      const auto pa = std::filesystem::weakly_canonical(a.get<std::string>(), e1);
      const auto pb = std::filesystem::weakly_canonical(b.get<std::string>(), e2);
      if (!e1 && !e2 && pa == pb) continue;
    }
    std::vector<FieldError::Part> message{str(resume, ": was trained with ")};
    for (size_t i = 0; i < fields.size(); ++i) {
      if (i > 0) message.emplace_back(",");
      message.push_back(field_ref(fields[i]));
    }
    message.emplace_back(str(" ", shown(a), ", not ", shown(b), "; resume with the same settings, or start a new run without "));
    message.push_back(field_ref("resume"));
    throw FieldError(fields.front(), message);
  }
}

}  // namespace gan
