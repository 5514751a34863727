// The training curves: losses and validation AUROC per epoch, from train_log.jsonl.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "ganomaly/report/report_internal.h"
#include "ganomaly/report/svg.h"

namespace gan::report_detail {

std::vector<nlohmann::json> read_train_log(const std::string& path) {
  std::vector<nlohmann::json> rows;
  if (path.empty() || !std::filesystem::exists(path)) return rows;
  std::ifstream in(path);
  std::map<int, nlohmann::json> by_epoch;  // a resumed run appends: the last line of an epoch wins
  for (std::string line; std::getline(in, line);) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      nlohmann::json j = nlohmann::json::parse(line);
      if (j.contains("epoch") && j["epoch"].is_number()) by_epoch[j["epoch"].get<int>()] = j;
    } catch (const std::exception&) {
      // a line cut short by a crash: skip it
    }
  }
  for (auto& [epoch, j] : by_epoch) rows.push_back(std::move(j));
  return rows;
}

namespace {
double number_or_nan(const nlohmann::json& j, const std::string& key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : std::nan("");
}
}  // namespace

std::string training_curves_svg(const std::vector<nlohmann::json>& log) {
  const int width = 760, height = 250;
  svg::Series g{"generator", {}, {}, svg::palette(0)}, d{"discriminator", {}, {}, svg::palette(1)};
  std::map<std::string, svg::Series> auroc;
  int best_epoch = 0;
  std::string validate_on = "heldout";
  for (const nlohmann::json& row : log) {
    const double e = row["epoch"].get<double>();
    g.x.push_back(e), g.y.push_back(number_or_nan(row, "generator_loss"));
    d.x.push_back(e), d.y.push_back(number_or_nan(row, "discriminator_loss"));
    if (row.contains("val_auroc") && row["val_auroc"].is_object())
      for (const auto& [name, v] : row["val_auroc"].items()) {
        auroc[name].x.push_back(e);
        auroc[name].y.push_back(v.is_number() ? v.get<double>() : std::nan(""));
      }
    best_epoch = row.value("best_epoch", best_epoch);
    validate_on = row.value("validate_on", validate_on);
  }
  svg::PlotOptions o;
  o.width = width, o.height = height, o.integer_x = true, o.x_label = "epoch";
  o.legend_chars = 14;  // the same plot area in all three panels
  std::vector<svg::VerticalLine> best;
  if (best_epoch > 0) best.push_back({double(best_epoch), "best epoch " + std::to_string(best_epoch), "#555555"});
  o.vlines = best;
  o.title = "Generator loss (adversarial + 50 x contextual + encoder)";
  o.y_label = "loss";
  const std::string p1 = svg::line_plot({g}, o);
  o.title = "Discriminator loss";
  const std::string p2 = svg::line_plot({d}, o);
  o.title = validate_on == "test" ? "Validation AUROC per score (on the TEST set: oracle)"
                                  : "Validation AUROC per score (held-out normals + pseudo-anomalies)";
  o.y_label = "AUROC";
  o.y_max = 1.0;
  std::vector<svg::Series> series;
  size_t k = 0;
  for (Score s : kScores) {  // the log's names, read back
    auto it = auroc.find(to_string(s));
    if (it == auroc.end()) continue;
    it->second.name = to_string(s);
    it->second.color = svg::palette(k++);
    it->second.dashed = s == Score::fused;
    series.push_back(it->second);
  }
  const std::string p3 = svg::line_plot(series, o);
  return svg::stack_vertical({p1, p2, p3}, {height, height, height}, width);
}

}  // namespace gan::report_detail
