#include "ganomaly/eval/evaluate.h"

#include <algorithm>
#include <cmath>

#include "ganomaly/eval/anomaly_map.h"
#include "ganomaly/eval/aupro.h"
#include "ganomaly/io/atomic_file.h"

namespace gan {

std::vector<int> labels_of(const std::vector<Sample>& samples) {
  std::vector<int> labels;
  for (const Sample& s : samples) labels.push_back(s.label);
  return labels;
}

namespace {

// Pixel AUROC and AUPRO of |x - fake|, of its per-pixel standardised form (residual_z's
// map, before the window) and of the anomaly map when it is residual_nn's, over the
// images that have a mask.
void pixel_metrics(const Ganomaly& model, const Tensor& images, const std::vector<float>& residuals,
                   const std::vector<std::vector<uint8_t>>& masks, Evaluation& e) {
  const int64_t pixels = images.size(2) * images.size(3);
  const ResidualZ& stats = model.residual_z;
  const bool with_z = !stats.empty() && stats.height() * stats.width() == pixels;
  const bool with_nn = map_score_of(model) == Score::residual_nn;
  const std::vector<float> nn_maps = with_nn ? anomaly_maps(model, Score::residual_nn, images, residuals) : std::vector<float>();
  std::vector<float> map_scores, z_scores, nn_scores;
  std::vector<uint8_t> map_labels;
  bool any_anomalous = false;
  for (size_t i = 0; i < masks.size(); ++i) {
    const auto& m = masks[i];
    if (static_cast<int64_t>(m.size()) != pixels) continue;
    const float* map = residuals.data() + i * pixels;
    map_scores.insert(map_scores.end(), map, map + pixels);
    if (with_z) {
      z_scores.resize(map_scores.size());
      stats.standardise(map, z_scores.data() + z_scores.size() - pixels);
    }
    if (with_nn) nn_scores.insert(nn_scores.end(), nn_maps.begin() + i * pixels, nn_maps.begin() + (i + 1) * pixels);
    map_labels.insert(map_labels.end(), m.begin(), m.end());
    any_anomalous = any_anomalous || std::any_of(m.begin(), m.end(), [](uint8_t v) { return v != 0; });
  }
  if (!any_anomalous) return;
  const int64_t maps = static_cast<int64_t>(map_scores.size()) / pixels;
  const int h = static_cast<int>(images.size(2)), w = static_cast<int>(images.size(3));
  e.pixel_auroc = pixel_auroc(map_scores.data(), map_labels.data(), map_scores.size());
  e.pixel_aupro = aupro(map_scores.data(), map_labels.data(), maps, h, w);
  if (with_z) {
    e.pixel_auroc_z = pixel_auroc(z_scores.data(), map_labels.data(), z_scores.size());
    e.pixel_aupro_z = aupro(z_scores.data(), map_labels.data(), maps, h, w);
  }
  if (with_nn) {
    e.pixel_auroc_nn = pixel_auroc(nn_scores.data(), map_labels.data(), nn_scores.size());
    e.pixel_aupro_nn = aupro(nn_scores.data(), map_labels.data(), maps, h, w);
  }
}

}  // namespace

Evaluation evaluate(Ganomaly& model, const Calibration& calibration, const Tensor& images,
                    const std::vector<int>& labels, const std::vector<std::vector<uint8_t>>* masks) {
  Evaluation e;
  std::vector<float> residuals;
  const bool want_pixels = masks && !masks->empty();
  Decided decided =
      score_and_decide(model, calibration, images, FeatureScore::compute, want_pixels ? &residuals : nullptr);
  e.scores = std::move(decided.scores);
  e.verdicts = std::move(decided.verdicts);
  e.labels = labels;
  e.score = calibration.score;
  const bool both_classes = std::count(labels.begin(), labels.end(), 1) > 0 &&
                            std::count(labels.begin(), labels.end(), 0) > 0;
  std::vector<float> chosen;
  for (const Verdict& v : e.verdicts) chosen.push_back(v.raw);
  if (both_classes) {
    for (Score s : kScores)
      if (e.scores.has(s)) e.auroc_by_score[s] = auroc(e.scores.get(s), labels);
    e.image_auroc = e.auroc_by_score[calibration.score];
    e.aupr = average_precision(chosen, labels);
    e.f1_oracle = best_f1(chosen, labels);
  }
  e.f1 = f1_at(chosen, labels, calibration.threshold);
  if (!both_classes) {  // undefined, not 0: a 0 would read as a failed model and pull averages down
    e.image_auroc = e.aupr = e.f1.f1 = std::nan("");
    e.f1_oracle.f1 = e.f1_oracle.threshold = std::nan("");
  }
  e.map_score = map_part_of(calibration, model).score;
  if (want_pixels) {
    pixel_metrics(model, images, residuals, *masks, e);
    for (Score s : map_scores_of(model))
      if (const PixelFigures f = map_figures(model, s, images, residuals, *masks); f.defined()) e.map_figures[s] = f;
  }
  return e;
}

std::string one_class_warning(const Evaluation& e) {
  const auto anomalous = std::count(e.labels.begin(), e.labels.end(), 1);
  const auto normal = std::ptrdiff_t(e.labels.size()) - anomalous;
  if (e.labels.empty() || (anomalous > 0 && normal > 0)) return "";
  return str("the test set has only ", anomalous ? "anomalous" : "normal", " images (", normal, " normal, ", anomalous,
             " anomalous): image AUROC, AUPR and F1 are undefined and reported as null");
}

double false_positive_rate(const Evaluation& e) {
  size_t normals = 0, flagged = 0;
  for (size_t i = 0; i < e.labels.size() && i < e.verdicts.size(); ++i)
    if (e.labels[i] == 0) ++normals, flagged += e.verdicts[i].anomalous;
  return normals ? double(flagged) / double(normals) : std::nan("");
}

nlohmann::json evaluation_json(const Evaluation& e, const Calibration& calibration) {
  auto number = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); };
  nlohmann::json j;
  j["score"] = e.score;
  j["image_auroc"] = number(e.image_auroc);
  j["image_aupr"] = number(e.aupr);
  j["image_f1_oracle"] = number(e.f1_oracle.f1);
  j["image_f1_oracle_threshold"] = number(e.f1_oracle.threshold);
  j["image_f1"] = number(e.f1.f1);
  // With one class F1 is undefined, and so are precision and recall beside it (not 0).
  const bool f1_defined = std::isfinite(e.f1.f1);
  j["image_precision"] = f1_defined ? nlohmann::json(e.f1.precision) : nlohmann::json();
  j["image_recall"] = f1_defined ? nlohmann::json(e.f1.recall) : nlohmann::json();
  j["threshold"] = calibration.threshold;
  // Where the threshold in use came from: a moved one was not chosen on validation.
  j["threshold_chosen_on"] = !calibration.calibrated_threshold ? calibration.chosen_on
                             : calibration.sensitivity         ? "sensitivity"
                                                               : "raw_threshold";
  if (calibration.calibrated_threshold) j["calibrated_threshold_chosen_on"] = calibration.chosen_on;
  // What validation promised of the calibrated threshold, beside what this set shows.
  j["threshold_rule"] = calibration.threshold_rule;
  if (calibration.target_fpr >= 0) j["target_fpr"] = calibration.target_fpr;
  if (calibration.validation_fpr >= 0) j["validation_fpr"] = calibration.validation_fpr;
  if (calibration.validation_recall >= 0) j["validation_recall"] = calibration.validation_recall;
  j["image_fpr"] = number(false_positive_rate(e));
  // A threshold moved from the calibrated one (with_decision_threshold): F1, precision,
  // recall and the verdicts are at the moved one; the calibrated one is kept beside it.
  if (calibration.calibrated_threshold) j["calibrated_threshold"] = *calibration.calibrated_threshold;
  if (calibration.sensitivity) j["sensitivity"] = *calibration.sensitivity;
  j["image_auroc_by_score"] = nlohmann::json::object();
  for (const auto& [s, a] : e.auroc_by_score) j["image_auroc_by_score"][to_string(s)] = a;
  if (e.pixel_auroc >= 0) j["pixel_auroc_residual_baseline"] = e.pixel_auroc;
  if (e.pixel_auroc_z >= 0) j["pixel_auroc_residual_z"] = e.pixel_auroc_z;
  if (e.pixel_aupro >= 0) j["pixel_aupro_residual_baseline"] = e.pixel_aupro;
  if (e.pixel_aupro_z >= 0) j["pixel_aupro_residual_z"] = e.pixel_aupro_z;
  if (e.pixel_auroc_nn >= 0) j["pixel_auroc_residual_nn"] = e.pixel_auroc_nn;
  if (e.pixel_aupro_nn >= 0) j["pixel_aupro_residual_nn"] = e.pixel_aupro_nn;
  // The map ganomaly_infer draws, whichever residual score it is (train/map_choice.h).
  if (const auto f = e.map_figures.find(e.map_score); f != e.map_figures.end())
    j["anomaly_map"] = {{"score", e.map_score}, {"pixel_auroc", f->second.auroc}, {"pixel_aupro", f->second.aupro}};
  for (const auto& [name, a] : e.floor_auroc) j["floor_image_auroc"][name] = number(a);
  j["images"] = e.labels.size();
  j["anomalous_images"] = std::count(e.labels.begin(), e.labels.end(), 1);
  if (const std::string w = one_class_warning(e); !w.empty()) j["warning"] = w;
  return j;
}

namespace {

// An RFC 4180 field: quoted when `always` or when it holds a comma, quote or line break,
// with each quote doubled, so a file or folder name cannot break its row.
std::string csv_field(const std::string& v, bool always = false) {
  if (!always && v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + '"';
}

}  // namespace

void write_scores_csv(const std::string& path, const std::vector<Sample>& samples, const Evaluation& e,
                      const Calibration& /*calibration: e.verdicts hold its decisions*/) {
  std::string out = "path,label,defect,latent,reconstruction,feature,residual_max,residual_z,residual_nn,image_z,image_nn,fused,score,normalized,verdict\n";
  const std::vector<float> no_values(e.scores.size(), 0.0f);  // a score the model lacks: 0 in its column
  auto column = [&](Score s) -> const std::vector<float>& { return e.scores.has(s) ? e.scores.get(s) : no_values; };
  for (size_t i = 0; i < e.verdicts.size(); ++i) {
    const Verdict& v = e.verdicts[i];
    const Sample& s = samples.at(i);
    out += str(csv_field(s.path, /*always=*/true), ',', s.label, ',', csv_field(s.defect), ',', e.scores.latent[i], ',', e.scores.reconstruction[i],
               ',', e.scores.feature[i], ',', e.scores.residual_max[i], ',',
               column(Score::residual_z)[i], ',', column(Score::residual_nn)[i], ',',
               column(Score::image_z)[i], ',', column(Score::image_nn)[i], ',', column(Score::fused)[i], ',', v.raw,
               ',', v.normalised, ',', v.anomalous ? "anomalous" : "normal", '\n');
  }
  write_file_atomically(path, out);
}

}  // namespace gan
