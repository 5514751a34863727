// The validation half of an epoch: held-out normals and their pseudo-anomalies, the
// AUROC of every score, the calibration, and which epoch's model is kept.
#include <algorithm>
#include <cmath>
#include <filesystem>

#include "ganomaly/io/atomic_file.h"
#include "ganomaly/train/loop.h"
#include "ganomaly/train/pseudo_anomaly.h"
#include "ganomaly/io/json_text.h"

namespace gan {

Split split_training(const Dataset& data, const TrainOptions& o) {
  Split s;
  if (o.validate_on == ValidateOn::test) {
    s.train = data.train;
    return s;
  }
  if (!data.validation.empty()) {
    s.train = data.train;
    for (const Sample& v : data.validation)
      if (v.label == 0) s.validation.push_back(v);
    if (!s.validation.empty()) return s;
  }
  const int n = static_cast<int>(data.train.size());
  const int held = std::max(4, static_cast<int>(std::lround(n * o.validation_fraction)));
  GANOMALY_CHECK(n - held >= 2, data.root, ": only ", n, " training images; need at least ", held + 2,
                 " (", held, " are held out for validation)");
  Rng rng(o.seed ^ 0x5eed5eedull);
  std::vector<int> order = rng.permutation(n);
  std::vector<bool> is_held(n, false);
  for (int i = 0; i < held; ++i) is_held[order[i]] = true;
  for (int i = 0; i < n; ++i) (is_held[i] ? s.validation : s.train).push_back(data.train[i]);
  return s;
}

Tensor with_pseudo_anomalies(const Tensor& normals, uint64_t seed, std::vector<int>* labels, float strength,
                             Tensor* masks) {
  Rng pseudo_rng(seed + 7);  // the same defects at every strength, only fainter
  Tensor pseudo_masks;
  const Tensor pseudo = make_pseudo_anomalies(normals, pseudo_rng, strength, masks ? &pseudo_masks : nullptr);
  if (masks) *masks = cat({Tensor::zeros(pseudo_masks.shape()), pseudo_masks});
  Tensor out = cat({normals, pseudo});
  labels->assign(normals.size(0), 0);
  labels->resize(2 * normals.size(0), 1);
  return out;
}

namespace loop {

namespace {

// Three halvings: an eighth of the strength, and no further.
constexpr float kMinPseudoStrength = 0.125f;

nn::NamedTensors clone_state(const nn::NamedTensors& state) {
  nn::NamedTensors out;
  for (const auto& [name, t] : state) out.emplace_back(name, t.clone());
  return out;
}

// One validation pass: every score, the fusion fitted on them, and the AUROC that
// selects (the chosen score's, or the best single score's for ScoreChoice::best_on_validation).
struct ValidationPass {
  Scores scores;
  Calibration fusion;
  double metric = -1;
};

ValidationPass validate_model(Ganomaly& model, const RunImages& images, const TrainOptions& o,
                              std::optional<Score> residual = std::nullopt) {
  ValidationPass v;
  v.scores = model.score(images.validation);
  v.fusion.fit_fusion(v.scores, images.validation_labels, o.fusion_margin, residual.value_or(fused_residual(o.map)));
  v.fusion.fuse(v.scores);
  const std::optional<Score> fixed = fixed_score(o.score);
  for (Score s : kScores) {
    const double a = auroc(v.scores.get(s), images.validation_labels);
    if (fixed ? s == *fixed : a > v.metric) v.metric = a;
  }
  return v;
}

// Which score decides, its threshold and normaliser, from validation scores only. The
// same threshold outlines the anomaly map (anomaly_map.h).
Calibration calibrate(const ValidationPass& pass, const std::vector<int>& labels, const TrainOptions& o) {
  Calibration c = pass.fusion;
  c.chosen_on = to_string(o.validate_on);
  if (const std::optional<Score> fixed = fixed_score(o.score)) {
    c.score = *fixed;
  } else {  // auto: the best single score on validation
    double best = -1;
    for (Score s : kScores) {
      const double a = auroc(pass.scores.get(s), labels);
      if (a > best) best = a, c.score = s;
    }
  }
  c.place_threshold(pass.scores.get(c.score), labels, o.threshold_rule, o.target_fpr);
  return c;
}

// The kept model measured again on the current validation set, so that it and later
// epochs meet on one set; model.gnm gets the new calibration.
void remeasure_kept(Run& run) {
  Ganomaly& model = *run.model;
  const nn::NamedTensors current = clone_state(model.state());
  model.load_state(run.kept_weights, "best state");
  const ValidationPass kept = validate_model(model, run.images, run.options);
  run.resume_state.kept.metric = kept.metric;
  run.resume_state.kept.calibration = calibrate(kept, run.images.validation_labels, run.options);
  save_model(run.model_path, model, run.resume_state.kept.calibration, run.info, nullptr, {}, run.options.weights);
  model.load_state(current, "current state");
}

// The epoch's validation pass. Saturated, it cannot rank this epoch against the kept
// one: fainter pseudo-anomalies until it can, the kept model measured again on them.
ValidationPass validate_epoch(Run& run) {
  const TrainOptions& o = run.options;
  Ganomaly& model = *run.model;
  if (o.recalibrate_batch_norm) model.recalibrate_ema_batch_norm(run.images.train, run.batch);
  model.fit_residuals(run.images.train);
  ValidationPass pass = validate_model(model, run.images, o);
  float& strength = run.resume_state.pseudo_strength;
  while (o.validate_on != ValidateOn::test && o.harden_at > 0 && pass.metric >= o.harden_at && strength > kMinPseudoStrength) {
    strength *= 0.5f;
    run.images.validation =
        with_pseudo_anomalies(run.images.validation_normals, o.seed, &run.images.validation_labels, strength);
    pass = validate_model(model, run.images, o);
    if (run.resume_state.kept.epoch > 0) remeasure_kept(run);
  }
  return pass;
}

// For analysis only (--log-test-auroc): every score's test AUROC in the log, and the raw
// scores in <out>/analysis/epoch_<n>.json. Never used to select.
void log_test_auroc(Run& run, const ValidationPass& pass, int epoch, nlohmann::json& entry) {
  Scores test = run.model->score(run.images.test);
  pass.fusion.fuse(test);
  nlohmann::json dump = {{"epoch", epoch},
                         {"val_labels", run.images.validation_labels},
                         {"test_labels", run.images.test_labels}};
  for (Score s : kScores) {
    const char* name = to_string(s);
    entry["test_auroc_for_analysis"][name] = auroc(test.get(s), run.images.test_labels);
    dump["val"][name] = pass.scores.get(s);
    dump["test"][name] = test.get(s);
  }
  std::filesystem::create_directories(run.options.out_dir + "/analysis");
  write_file_atomically(str(run.options.out_dir, "/analysis/epoch_", epoch, ".json"), dump_json(dump) + "\n");
}

// The epoch's line of train_log.jsonl, without best_epoch (known after selection).
nlohmann::json log_entry(const Run& run, const EpochSums& sums, const ValidationPass& pass, EpochReport* report) {
  const float denom = std::max(1, sums.steps_done);
  const StepLosses& sum = sums.sum;
  nlohmann::json entry = {{"epoch", report->epoch},
                          {"generator_loss", sum.generator / denom},
                          {"discriminator_loss", sum.discriminator / denom},
                          {"adversarial_loss", sum.adversarial / denom},
                          {"contextual_loss", sum.contextual / denom},
                          {"encoder_loss", sum.encoder / denom},
                          {"discriminator_reinitialised", sums.reinits},
                          {"validate_on", run.options.validate_on},
                          {"pseudo_anomaly_strength", run.resume_state.pseudo_strength}};
  for (const auto& [s, part] : pass.fusion.fusion) entry["fusion_weights"][to_string(s)] = part.weight;
  if (run.options.stabilisers.clip_grad_norm > 0) {  // the means before clipping, to see how often it bites
    entry["generator_grad_norm"] = sum.generator_grad_norm / denom;
    entry["discriminator_grad_norm"] = sum.discriminator_grad_norm / denom;
  }
  for (Score s : kScores) {
    const double a = auroc(pass.scores.get(s), run.images.validation_labels);
    entry["val_auroc"][to_string(s)] = a;
    report->val_auroc.emplace_back(s, a);
  }
  entry["selection_auroc"] = pass.metric;
  report->generator_loss = sum.generator / denom;
  report->discriminator_loss = sum.discriminator / denom;
  report->reinits = sums.reinits;
  return entry;
}

// An epoch within --selection-tolerance of the best so far replaces the kept model.
bool select(Run& run, const ValidationPass& pass, int epoch) {
  KeptModel& kept = run.resume_state.kept;
  const double tolerance = run.options.selection_tolerance;
  const bool improved = tolerance > 0 ? pass.metric > kept.metric - tolerance : pass.metric > kept.metric;
  if (!improved) {
    ++run.resume_state.stale;
    return false;
  }
  kept.metric = std::max(kept.metric, pass.metric);
  kept.epoch = epoch;
  kept.calibration = calibrate(pass, run.images.validation_labels, run.options);
  run.kept_weights = clone_state(run.model->state());
  run.resume_state.stale = 0;
  save_model(run.model_path, *run.model, kept.calibration, run.info, nullptr, {}, run.options.weights);
  return true;
}

}  // namespace

namespace {

// The share of `normals` (all label 0) the calibration flags.
double flagged(Ganomaly& model, const Calibration& c, const Tensor& normals) {
  Scores s = model.score(normals, 32, nullptr, feature_score_for(c.score));
  c.fuse(s);
  const std::vector<float>& v = s.get(c.score);
  return double(std::count_if(v.begin(), v.end(), [&](float x) { return x >= c.threshold; })) / double(v.size());
}

}  // namespace

nlohmann::json choose_photometric(Run& run) {
  const TrainOptions& o = run.options;
  const RunImages& im = run.images;
  if (o.photometric == PhotometricChoice::off) return {{"photometric", false}, {"chosen_by", "option"}};
  const bool forced = o.photometric == PhotometricChoice::on;
  const bool held_out = im.validation_normals.defined() && im.validation_normals.numel() > 0;  // none: --validate-on test
  if (!held_out && !forced) return nullptr;
  Ganomaly& model = *run.model;
  KeptModel& kept = run.resume_state.kept;
  const Tensor lit =
      held_out ? relit(im.validation_normals, Recipe::of(o.recipe).normalization, kRelitStrength, o.seed) : Tensor();
  nlohmann::json choice = {{"chosen_by", forced ? "option" : "validation"}, {"relit_strength", kRelitStrength}};
  if (held_out) choice["relit_flagged_without"] = flagged(model, kept.calibration, lit);
  bool on = forced;
  if (forced || choice["relit_flagged_without"].get<double>() > kRelitAlarmBudget) {
    model.photometric = Photometric::fit(im.train);
    model.fit_residuals(im.train);
    const ValidationPass pass = validate_model(model, im, o);
    const Calibration c = calibrate(pass, im.validation_labels, o);
    choice["validation_auroc_without"] = kept.metric;
    choice["validation_auroc_with"] = pass.metric;
    if (held_out) {
      choice["relit_flagged_with"] = flagged(model, c, lit);
      // Only when it solves the problem: a normalisation that leaves the relit normals
      // above the budget would change the model for a drift it cannot absorb.
      on = on || (choice["relit_flagged_with"].get<double>() <= kRelitAlarmBudget &&
                  pass.metric >= kept.metric - std::max(o.selection_tolerance, 0.01));
    }
    if (on) {
      kept.calibration = c;
      run.kept_weights = clone_state(model.state());
      save_model(run.model_path, model, c, run.info);
    } else {
      model.load_state(run.kept_weights, "best state");  // without it, its residual fits back
    }
  }
  choice["photometric"] = on;
  if (held_out) {
    const auto percent = [&](const char* key) { return std::lround(100 * choice[key].get<double>()); };
    std::vector<FieldError::Part> note{str("lighting: ", percent("relit_flagged_without"), "% of the validation normals ",
                                           "relit by up to ", std::lround(100 * kRelitStrength), "% read as defects")};
    if (choice.contains("relit_flagged_with"))
      note.push_back(str(", ", percent("relit_flagged_with"), "% with photometric normalisation"));
    note.push_back(str(": photometric normalisation ", on ? "on" : "off"));
    if (forced) note.insert(note.end(), {" (", field_ref("photometric"), " on)"});
    run.note(note);
  }
  return choice;
}

Recalibrated recalibrate(Run& run, Score fused_residual) {
  const ValidationPass pass = validate_model(*run.model, run.images, run.options, fused_residual);
  return {pass.metric, calibrate(pass, run.images.validation_labels, run.options)};
}

bool validate_and_select(Run& run, const EpochSums& sums, TrainLog& log) {
  EpochReport report;
  report.epoch = run.resume_state.epoch + 1;
  report.epochs = run.options.epochs;
  report.validated_on_test = run.options.validate_on == ValidateOn::test;
  const float strength_before = run.resume_state.pseudo_strength;
  const ValidationPass pass = validate_epoch(run);
  nlohmann::json entry = log_entry(run, sums, pass, &report);
  if (run.options.log_test_auroc && !run.data.test.empty()) log_test_auroc(run, pass, report.epoch, entry);
  report.improved = select(run, pass, report.epoch);
  entry["best_epoch"] = run.resume_state.kept.epoch;
  log.write(entry);
  report.hardened = run.resume_state.pseudo_strength != strength_before;
  report.pseudo_strength = run.resume_state.pseudo_strength;
  run.observer.on_epoch(report);
  return report.improved;
}

}  // namespace loop
}  // namespace gan
