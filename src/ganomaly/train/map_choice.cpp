// The anomaly map chosen on validation (map_choice.h), and its place at the end of
// training (loop.h choose_map).
#include "ganomaly/train/map_choice.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "ganomaly/eval/anomaly_map.h"
#include "ganomaly/io/atomic_file.h"
#include "ganomaly/train/loop.h"

namespace gan {

Score choose_map(const std::vector<MapCandidate>& candidates, double margin, double auroc_tolerance) {
  GANOMALY_CHECK(!candidates.empty(), "choose_map: no candidate maps");
  const auto def = std::find_if(candidates.begin(), candidates.end(),
                                [](const MapCandidate& c) { return c.score == kFusedResidual; });
  const MapCandidate& fallback = def != candidates.end() ? *def : candidates.front();
  const auto detects = [&](const MapCandidate& c) {
    return !std::isfinite(c.image_auroc) || !std::isfinite(fallback.image_auroc) ||
           c.image_auroc >= fallback.image_auroc - auroc_tolerance;
  };
  const MapCandidate* best = nullptr;
  for (const MapCandidate& c : candidates)
    if (c.drawable && std::isfinite(c.validation.aupro) && detects(c) &&
        (!best || c.validation.aupro > best->validation.aupro))
      best = &c;
  if (!best) return fallback.score;
  // An undefined default is beaten by any defined map.
  if (std::isfinite(fallback.validation.aupro) && best->validation.aupro <= fallback.validation.aupro + margin)
    return fallback.score;
  return best->score;
}

bool drawable_part(const Calibration& c, Score residual) {
  const auto part = c.fusion.find(residual);
  return c.score == Score::fused && part != c.fusion.end() && part->second.weight >= kMapMinimumWeight;
}

std::vector<MapCandidate> map_candidates(Ganomaly& model, const Tensor& images,
                                         const std::vector<std::vector<uint8_t>>& masks) {
  std::vector<float> residuals;
  model.score(images, 32, &residuals, FeatureScore::skip);
  std::vector<MapCandidate> out;
  for (Score s : map_scores_of(model)) out.push_back({s, map_figures(model, s, images, residuals, masks)});
  return out;
}

namespace loop {

namespace {

// The validation images with masks: the held-out normals and their pseudo-anomalies as
// validation holds them now (at its current strength), or the test set for --validate-on
// test. Empty when there are none.
Tensor validation_with_masks(const Run& run, std::vector<std::vector<uint8_t>>* masks) {
  const TrainOptions& o = run.options;
  const RunImages& im = run.images;
  if (o.validate_on == ValidateOn::test) {
    *masks = im.test_masks;
    return im.test;
  }
  if (!im.validation_normals.defined() || im.validation_normals.numel() == 0) return Tensor();
  std::vector<int> labels;
  Tensor mask_tensor;
  const Tensor images =
      with_pseudo_anomalies(im.validation_normals, o.seed, &labels, run.resume_state.pseudo_strength, &mask_tensor);
  *masks = mask_bytes(mask_tensor);
  return images;
}

// "0.61"; "n/a" when undefined.
std::string aupro_text(double aupro) {
  if (!std::isfinite(aupro)) return "n/a";
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.2f", aupro);
  return buf;
}

// "AUPRO 0.61; residual_z 0.55, residual_max 0.70 at image AUROC 0.56 against 0.86": the
// chosen map's, then the others', with the image AUROC of those it would have cost.
std::string figures_text(const std::vector<MapCandidate>& candidates, Score chosen) {
  double default_auroc = std::nan("");
  for (const MapCandidate& c : candidates)
    if (c.score == kFusedResidual) default_auroc = c.image_auroc;
  std::string out, others;
  for (const MapCandidate& c : candidates) {
    if (c.score == chosen) {
      out = str("AUPRO ", aupro_text(c.validation.aupro));
      continue;
    }
    others += str(others.empty() ? "" : ", ", to_string(c.score), " ", aupro_text(c.validation.aupro));
    if (!c.drawable)
      others += str(" (weighs below ", kMapMinimumWeight, " in the fused score)");
    else if (std::isfinite(c.image_auroc) && c.image_auroc < default_auroc - kMapAurocTolerance)
      others += str(" at image AUROC ", aupro_text(c.image_auroc), " against ", aupro_text(default_auroc));
  }
  return out.empty() ? others : others.empty() ? out : str(out, "; ", others);
}

// The residual part the calibration's fused score sums; kFusedResidual when none.
Score fused_residual_of(const Calibration& c) {
  for (Score s : kMapScores)
    if (c.fusion.count(s)) return s;
  return kFusedResidual;
}

}  // namespace

nlohmann::json choose_map(Run& run) {
  const TrainOptions& o = run.options;
  Ganomaly& model = *run.model;
  KeptModel& kept = run.resume_state.kept;
  std::vector<std::vector<uint8_t>> masks;
  const Tensor images = validation_with_masks(run, &masks);
  std::vector<MapCandidate> candidates;
  if (images.defined() && images.numel() > 0 && !masks.empty()) candidates = map_candidates(model, images, masks);
  const bool measured =
      std::any_of(candidates.begin(), candidates.end(), [](const MapCandidate& c) { return c.validation.defined(); });

  const bool fused = kept.calibration.score == Score::fused;
  const bool forced = o.map != MapChoice::automatic;
  std::string chosen_by = !fused ? "score" : forced ? "option" : measured ? "validation" : "default";
  nlohmann::json choice = {{"validation", nlohmann::json::object()}};
  if (measured && o.validate_on != ValidateOn::test) choice["pseudo_anomaly_strength"] = run.resume_state.pseudo_strength;
  for (const MapCandidate& c : candidates) choice["validation"][to_string(c.score)] = to_json(c.validation);

  if (fused && !forced && measured) {
    // Each map's residual score in the fused score, calibrated as training would: its
    // validation image AUROC, and whether the fusion weighs the residual part enough to
    // draw it (kMapMinimumWeight).
    std::map<Score, Calibration> calibrations;
    for (MapCandidate& c : candidates) {
      const Recalibrated r = recalibrate(run, c.score);
      const auto part = r.calibration.fusion.find(c.score);
      c.image_auroc = r.metric;
      c.drawable = drawable_part(r.calibration, c.score);
      choice["validation"][to_string(c.score)]["image_auroc"] = r.metric;
      choice["validation"][to_string(c.score)]["fusion_weight"] =
          part != r.calibration.fusion.end() ? part->second.weight : 0.0f;
      if (!c.drawable) choice["validation"][to_string(c.score)]["weighs_too_little_in_fused"] = true;
      calibrations[c.score] = r.calibration;
    }
    const Score wanted = choose_map(candidates);
    if (wanted != fused_residual_of(kept.calibration)) {
      kept.calibration = calibrations.at(wanted);
      save_model(run.model_path, model, kept.calibration, run.info, nullptr, {}, o.weights);
    }
  }
  const MapPart part = map_part_of(kept.calibration, model);
  choice["score"] = part.score;
  choice["slope"] = part.slope;  // d(deciding score) / d(map); 0: the fusion weighs its residual part 0, a flat map
  choice["chosen_by"] = chosen_by;

  // The residual score the fused score sums (or would, were its weight above 0).
  const Score summed = forced ? fused_residual(o.map) : fused_residual_of(kept.calibration);
  if (fused) choice["fused_residual"] = summed;
  const bool flat = fused && part.slope == 0;
  std::vector<FieldError::Part> note{flat ? str("map: flat: the fused score weighs ", to_string(summed), " 0")
                                          : str("map: ", to_string(part.score))};
  if (chosen_by == "validation") note.push_back(" chosen on validation");
  if (chosen_by == "option")
    note.insert(note.end(), {flat ? " (" : " as ", field_ref("map"), flat ? str(" ", to_string(summed), ")") : " says"});
  if (chosen_by == "score") note.insert(note.end(), {", the deciding score's (", field_ref("score"), ")"});
  if (chosen_by == "default") note.push_back(", the default: no validation masks");
  if (measured) note.push_back(str(chosen_by == "validation" ? " (" : " (validation ", figures_text(candidates, part.score), ")"));
  run.note(note);
  return choice;
}

void add_test_figures(nlohmann::json& map, const Evaluation& e) {
  if (e.map_figures.empty()) return;
  if (const auto f = e.map_figures.find(e.map_score); f != e.map_figures.end())
    map["test"] = to_json(f->second);
  for (const auto& [s, f] : e.map_figures) map["test_by_score"][to_string(s)] = to_json(f);
}

}  // namespace loop
}  // namespace gan
