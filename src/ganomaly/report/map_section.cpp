// The report's "Anomaly map" section: which map the model draws, how it was chosen, and
// its pixel AUROC / AUPRO on validation and test beside the other maps'
// (train/map_choice.h; summary.json's "map").
#include "ganomaly/report/report_internal.h"

namespace gan::report_detail {

std::string map_description(Score score) {
  switch (score) {
    case Score::residual_nn: return "the residual standardised by the nearest training images' (residual_nn's)";
    case Score::residual_z: return "the residual standardised per pixel over the training normals (residual_z's)";
    case Score::residual_max: return "the raw residual |x - reconstruction| (residual_max's)";
    default: return str("the ", to_string(score), " map");
  }
}

namespace {

std::string figure(const nlohmann::json& figures, const char* key) {
  if (!figures.is_object() || !figures.contains(key) || !figures[key].is_number()) return "n/a";
  return fixed(figures[key].get<double>());
}

std::string chosen_by_text(const std::string& by) {
  if (by == "validation") return "chosen on validation: the best AUPRO on the pseudo-anomalies' masks";
  if (by == "option") return "set by <code>--map</code>";
  if (by == "score") return "the deciding score's own map (<code>--score</code>)";
  return "the default (residual_nn)";
}

}  // namespace

std::string map_section(const nlohmann::json& map) {
  if (!map.is_object() || !map.contains("score")) return "";
  const std::string chosen = map["score"].get<std::string>();
  std::string s = "<h2 id=\"map\">Anomaly map</h2>\n<p>The map <code>ganomaly_infer --maps</code> draws is <b>" +
                  html(chosen) + "</b>'s, " + chosen_by_text(map.value("chosen_by", "")) +
                  ". Its peak is the deciding score.</p>\n";
  const nlohmann::json none = nlohmann::json::object();
  const nlohmann::json& validation = map.contains("validation") ? map["validation"] : none;
  const nlohmann::json& test = map.contains("test_by_score") ? map["test_by_score"] : none;
  if (validation.empty() && test.empty()) return s;
  s += "<table>\n<tr><th>map</th><th>validation pixel AUROC</th><th>validation AUPRO</th><th>test pixel AUROC</th>"
       "<th>test AUPRO</th></tr>\n";
  nlohmann::json names = nlohmann::json::object();
  for (const auto& [name, _] : validation.items()) names[name] = true;
  for (const auto& [name, _] : test.items()) names[name] = true;
  for (const auto& [name, _] : names.items()) {
    const nlohmann::json& v = validation.contains(name) ? validation[name] : none;
    const nlohmann::json& t = test.contains(name) ? test[name] : none;
    const bool is_chosen = name == chosen;
    s += std::string("<tr><td>") + (is_chosen ? "<b>" : "") + html(name) + (is_chosen ? " (drawn)</b>" : "") +
         "</td><td class=\"num\">" + figure(v, "pixel_auroc") + "</td><td class=\"num\">" + figure(v, "pixel_aupro") +
         "</td><td class=\"num\">" + figure(t, "pixel_auroc") + "</td><td class=\"num\">" + figure(t, "pixel_aupro") +
         "</td></tr>\n";
  }
  s += "</table>\n<p class=\"note\">Validation: the held-out normals and their pseudo-anomalies, whose masks mark "
       "where each was changed. Test: the test set's masks, shown for analysis; the choice never sees them. Each "
       "map standardised as its score reads it and smoothed with its window.</p>\n";
  return s;
}

}  // namespace gan::report_detail
