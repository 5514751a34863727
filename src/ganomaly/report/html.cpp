// The HTML page's pieces: style, tables of settings, metrics and per-image scores.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>

#include "ganomaly/report/report_internal.h"
#include "ganomaly/io/json_text.h"

namespace gan::report_detail {

namespace fs = std::filesystem;

const char* const kStyle = R"(body{font-family:sans-serif;color:#222;margin:24px auto;max-width:1180px;padding:0 16px;line-height:1.4}
h1{font-size:24px;margin-bottom:4px}h2{font-size:19px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:middle}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
.note{color:#555;font-size:13px}.warn{background:#fff3cd;border:1px solid #e0c36a;padding:8px 12px}
.anomalous{color:#b00020;font-weight:bold}.normal{color:#1b6e20}.wrong{background:#fde8e8}
tr.threshold td{background:#eef3fb;text-align:center;font-size:13px;color:#335}
img.thumb{display:block;image-rendering:pixelated}.plot{overflow-x:auto;margin:8px 0}
.grid{position:relative;overflow-x:auto}.grid span{position:absolute;left:0;width:140px;font-size:13px;font-weight:bold}
nav a{margin-right:14px}code{background:#f4f4f4;padding:1px 4px})";

// Marks <body data-images="ok"> once every <img> has loaded and decoded (for checks in a
// headless browser); no '<' so that the page stays simple to parse.
const char* const kScript = R"(<script>
(function(){function check(){var imgs=document.images,ok=0;for(var i=0;imgs.length>i;i++){if(imgs[i].complete&&imgs[i].naturalWidth>0){ok++;}}
document.body.setAttribute('data-images-loaded',ok+'/'+imgs.length);document.body.setAttribute('data-images',ok===imgs.length?'ok':'missing');}
if(document.readyState==='complete'){check();}else{window.addEventListener('load',check);}})();
</script>
)";

namespace {

std::string json_cell(const nlohmann::json& v) {
  if (v.is_string()) return html(v.get<std::string>());
  if (v.is_number_float()) return html(short_number(v.get<double>()));
  return html(dump_json(v));
}

// Figures that the metrics table shows already (summary.json mixes them with the settings).
bool is_figure(const std::string& key) {
  if (key == "image_size") return false;
  return key.rfind("image_", 0) == 0 || key.rfind("pixel_", 0) == 0 || key == "images" || key == "anomalous_images";
}

}  // namespace

std::string settings_table(const nlohmann::json& settings, bool skip_figures) {
  if (!settings.is_object() || settings.empty()) return "<p class=\"note\">No settings recorded.</p>\n";
  std::string s = "<table>\n<tr><th>setting</th><th>value</th></tr>\n";
  for (const auto& [key, v] : settings.items()) {
    if (skip_figures && is_figure(key)) continue;
    if (v.is_object()) {
      for (const auto& [k2, v2] : v.items())
        s += "<tr><td>" + html(key + "." + k2) + "</td><td>" + json_cell(v2) + "</td></tr>\n";
    } else {
      s += "<tr><td>" + html(key) + "</td><td>" + json_cell(v) + "</td></tr>\n";
    }
  }
  return s + "</table>\n";
}

// Where the calibrated threshold was placed on validation, by its rule.
std::string threshold_placement(const Calibration& cal) {
  const std::string at_fpr = str("where the normals reach the target false-positive rate ", percent(cal.target_fpr));
  switch (cal.threshold_rule) {
    case ThresholdRule::fpr: return str("held-out training normals, ", at_fpr);
    case ThresholdRule::f1: break;
    case ThresholdRule::max: return str("held-out training normals + pseudo-anomalies: the higher of the best F1 and ", at_fpr);
    case ThresholdRule::midway:
      return str("held-out training normals + pseudo-anomalies: ", at_fpr, ", moved halfway to a higher best F1");
  }
  return "held-out training normals + pseudo-anomalies (best F1)";
}

std::string metrics_section(const Evaluation& e, const Calibration& cal) {
  const int anomalous = static_cast<int>(std::count(e.labels.begin(), e.labels.end(), 1));
  const int normal = static_cast<int>(e.labels.size()) - anomalous;
  const bool oracle_threshold = cal.chosen_on == "test";
  std::string s;
  if (oracle_threshold)
    s += "<p class=\"warn\">This model was validated on the <b>test set</b> (<code>--validate-on test</code>, "
         "anomalib's habit): the epoch, the score and the threshold were chosen with the test labels, so every "
         "number below is an oracle figure, not an estimate of performance on new data.</p>\n";
  s += "<table>\n<tr><th>metric</th><th>value</th><th>what it means</th></tr>\n";
  s += "<tr><td>image AUROC (" + html(to_string(e.score)) + ")</td><td class=\"num\">" + fixed(e.image_auroc) +
       "</td><td>ranking quality of the chosen score; no threshold involved</td></tr>\n";
  s += "<tr><td>image AUPR</td><td class=\"num\">" + fixed(e.aupr) +
       "</td><td>average precision of the chosen score</td></tr>\n";
  // A threshold moved by --threshold or --sensitivity (with_decision_threshold) says so.
  const std::string moved_by = cal.sensitivity ? str("sensitivity ", short_number(*cal.sensitivity)) : "a raw threshold";
  const std::string chosen_on =
      cal.calibrated_threshold ? str("the command line (", moved_by, "; the calibrated threshold is ",
                                     short_number(*cal.calibrated_threshold), ")")
      : oracle_threshold       ? std::string("the test set (so not honest here)")
                               : str(threshold_placement(cal), ", without the test labels");
  s += "<tr><td><b>F1, honest</b></td><td class=\"num\"><b>" + fixed(e.f1.f1) + "</b></td><td>at the threshold " +
       short_number(cal.threshold) + " chosen on " + chosen_on + "; precision " + fixed(e.f1.precision, 3) +
       ", recall " + fixed(e.f1.recall, 3) + "</td></tr>\n";
  if (normal > 0) {
    std::string promised = "at the threshold in use";
    if (cal.validation_fpr >= 0 && !cal.calibrated_threshold) {
      promised = "validation expected " + percent(cal.validation_fpr) + " (the held-out normals flagged";
      if (cal.target_fpr >= 0) promised += "; target " + percent(cal.target_fpr);
      promised += ")";
      if (cal.validation_recall >= 0) promised += "; it flagged " + percent(cal.validation_recall) + " of the pseudo-anomalies";
    }
    s += "<tr><td>false-positive rate</td><td class=\"num\">" + percent(false_positive_rate(e)) +
         "</td><td>normal test images flagged; " + promised + "</td></tr>\n";
  }
  s += "<tr><td>F1, oracle</td><td class=\"num\">" + fixed(e.f1_oracle.f1) +
       "</td><td>the best F1 over all thresholds, picked with the test labels (threshold " +
       short_number(e.f1_oracle.threshold) +
       "): the number anomalib reports; not reachable without knowing the answers</td></tr>\n";
  if (anomalous + normal > 0)
    s += "<tr><td>F1 of flagging every image</td><td class=\"num\">" +
         fixed(2.0 * anomalous / (2.0 * anomalous + normal)) +
         "</td><td>2A / (2A + N) with A = " + std::to_string(anomalous) + " anomalous, N = " + std::to_string(normal) +
         " normal: the floor an oracle F1 never goes below</td></tr>\n";
  if (e.pixel_auroc >= 0)
    s += "<tr><td>pixel AUROC, residual map (baseline)</td><td class=\"num\">" + fixed(e.pixel_auroc) +
         "</td><td>|x - reconstruction| per pixel against the masks: a <b>baseline</b>; GANomaly is not a "
         "localisation method</td></tr>\n";
  if (e.pixel_auroc_z >= 0)
    s += "<tr><td>pixel AUROC, standardised residual map</td><td class=\"num\">" + fixed(e.pixel_auroc_z) +
         "</td><td>the residual in units of each pixel's spread on the training normals (the map behind "
         "residual_z)</td></tr>\n";
  if (const auto f = e.map_figures.find(e.map_score); f != e.map_figures.end())
    s += "<tr><td>pixel AUROC, anomaly map</td><td class=\"num\">" + fixed(f->second.auroc) +
         "</td><td>the map <code>ganomaly_infer --maps</code> draws: " + map_description(e.map_score) +
         ", smoothed with its window; AUPRO " + fixed(f->second.aupro) + "</td></tr>\n";
  s += "</table>\n";
  if (!e.auroc_by_score.empty()) {
    s += "<table>\n<tr><th>score</th><th>test image AUROC</th></tr>\n";
    for (const auto& [score, auroc] : e.auroc_by_score) {
      s += "<tr><td>" + html(to_string(score)) + (score == e.score ? " (chosen)" : "") + "</td><td class=\"num\">" +
           fixed(auroc) + "</td></tr>\n";
    }
    for (const auto& [name, a] : e.floor_auroc)
      s += "<tr><td>floor: " + html(name) + "</td><td class=\"num\">" + (std::isfinite(a) ? fixed(a) : "n/a") +
           "</td></tr>\n";
    s += "</table>\n<p class=\"note\">Only the chosen score was picked without the test labels; the others are shown "
         "for analysis. The floors are no model at all: the distance of each image to the nearest training image "
         "and to the mean training image, per value (L1, L2). A model below the nearest-image floor adds "
         "nothing a lookup would not.</p>\n";
  }
  return s;
}

std::string scores_table(const Evaluation& e, const Calibration& cal, const std::vector<Sample>& samples,
                         const Pictures& pics, int thumb) {
  std::vector<float> chosen;
  for (const Verdict& v : e.verdicts) chosen.push_back(v.raw);
  std::vector<size_t> order(chosen.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return chosen[a] > chosen[b]; });
  const std::string t = std::to_string(thumb);
  std::string s = "<table>\n<tr><th>#</th><th>image</th><th>|difference|</th><th>file</th><th>class</th>"
                  "<th>score (" + html(to_string(cal.score)) + ")</th><th>normalised</th><th>verdict</th><th>correct</th></tr>\n";
  bool threshold_row = false;
  for (size_t r = 0; r < order.size(); ++r) {
    const size_t i = order[r];
    const bool flagged = e.verdicts[i].anomalous;
    if (!flagged && !threshold_row) {
      s += "<tr class=\"threshold\"><td colspan=\"9\">threshold " + short_number(cal.threshold) +
           ": above, anomalous; below, normal</td></tr>\n";
      threshold_row = true;
    }
    const Sample& sm = samples.at(i);
    const bool correct = flagged == (sm.label == 1);
    s += std::string("<tr") + (correct ? "" : " class=\"wrong\"") + "><td class=\"num\">" + std::to_string(r + 1) +
         "</td><td><img class=\"thumb\" width=\"" + t + "\" height=\"" + t + "\" alt=\"image " +
         std::to_string(r + 1) + "\" src=\"" + pics.thumbnail.at(i) + "\"/></td><td><img class=\"thumb\" width=\"" +
         t + "\" height=\"" + t + "\" alt=\"difference " + std::to_string(r + 1) + "\" src=\"" +
         pics.heat_thumbnail.at(i) + "\"/></td><td title=\"" + html(sm.path) + "\">" +
         html(fs::path(sm.path).filename().string()) + "</td><td>" + html(sm.defect) + "</td><td class=\"num\">" +
         short_number(chosen[i]) + "</td><td class=\"num\">" + fixed(e.verdicts[i].normalised, 3) +
         "</td><td class=\"" + (flagged ? "anomalous" : "normal") + "\">" + (flagged ? "anomalous" : "normal") +
         "</td><td>" + (correct ? "yes" : "<b>no</b>") + "</td></tr>\n";
  }
  if (!threshold_row)
    s += "<tr class=\"threshold\"><td colspan=\"9\">threshold " + short_number(cal.threshold) +
         ": every image is at or above it</td></tr>\n";
  return s + "</table>\n";
}

}  // namespace gan::report_detail
