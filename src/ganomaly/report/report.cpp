// write_report: the plots into plots/, then report.html from them and the inputs.
#include "ganomaly/report/report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "ganomaly/report/report_internal.h"
#include "ganomaly/report/svg.h"

namespace gan {

using namespace report_detail;
namespace fs = std::filesystem;

namespace {

// What write_plots drew, for the page.
struct Plots {
  std::string curves, roc, histogram;  // SVG text; empty when not drawn
  Pictures pics;
  std::vector<uint8_t> grid_png;
};

bool has_test(const ReportInputs& in) {
  return in.evaluation && in.calibration && in.samples && in.images && in.model && !in.samples->empty() &&
         in.images->defined() && in.images->size(0) > 0;
}

// The ROC of the chosen score; empty when the labels hold one class only.
std::string roc_svg(const Evaluation& e, const std::vector<float>& chosen) {
  const bool both = std::count(e.labels.begin(), e.labels.end(), 1) > 0 &&
                    std::count(e.labels.begin(), e.labels.end(), 0) > 0;
  if (!both) return "";
  const RocCurve rc = roc_curve(chosen, e.labels);
  svg::PlotOptions o;
  o.width = 460, o.height = 420;
  o.title = str("ROC, ", to_string(e.score), " score: AUROC ", fixed(e.image_auroc));
  return svg::roc_plot(rc.fpr, rc.tpr, o);
}

std::string histogram_svg(const Evaluation& e, const Calibration& cal, const std::vector<float>& chosen) {
  std::vector<double> normal, anomalous;
  for (size_t i = 0; i < chosen.size(); ++i) (e.labels[i] ? anomalous : normal).push_back(chosen[i]);
  svg::PlotOptions o;
  o.width = 700, o.height = 360;
  o.title = str("Test scores (", to_string(e.score), ")");
  o.x_label = str(to_string(e.score), " score");
  o.y_label = "images";
  return svg::histogram_pair(normal, "normal (" + std::to_string(normal.size()) + ")", anomalous,
                             "anomalous (" + std::to_string(anomalous.size()) + ")", cal.threshold,
                             "threshold " + short_number(cal.threshold), o,
                             std::clamp(static_cast<int>(std::sqrt(double(chosen.size())) * 2), 8, 40));
}

Plots write_plots(const fs::path& plots, const ReportInputs& in, const ReportOptions& opt) {
  Plots p;
  const std::vector<nlohmann::json> log = read_train_log(in.train_log);
  if (!log.empty()) {
    p.curves = training_curves_svg(log);
    write_file_atomically((plots / "training_curves.svg").string(), p.curves);
  }
  if (!has_test(in)) return p;
  const Evaluation& e = *in.evaluation;
  const Calibration& cal = *in.calibration;
  GANOMALY_CHECK(in.samples->size() == static_cast<size_t>(in.images->size(0)) && e.labels.size() == in.samples->size(),
                 "write_report: ", in.samples->size(), " samples, ", in.images->size(0), " images and ",
                 e.labels.size(), " labels do not match");
  std::vector<float> chosen;
  for (const Verdict& v : e.verdicts) chosen.push_back(v.raw);
  p.roc = roc_svg(e, chosen);
  if (!p.roc.empty()) write_file_atomically((plots / "roc.svg").string(), p.roc);
  p.histogram = histogram_svg(e, cal, chosen);
  write_file_atomically((plots / "score_histogram.svg").string(), p.histogram);
  p.pics = make_pictures(*in.model, *in.images, *in.samples, opt);
  const std::vector<uint8_t> grid_bytes = to_bytes(p.pics.grid);
  p.grid_png = encode_png(p.pics.grid.width, p.pics.grid.height, 3, grid_bytes.data());
  write_binary((plots / "reconstructions.png").string(), p.grid_png);
  return p;
}

// From <!DOCTYPE> to the navigation: the title, and the data, recipe and size under it.
std::string page_head(const ReportInputs& in) {
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<title>" +
                  html(in.title) + "</title>\n<style>\n" + kStyle + "\n</style>\n</head>\n<body>\n";
  h += "<h1>" + html(in.title) + "</h1>\n";
  const nlohmann::json& st = in.settings;
  std::string subtitle;
  if (st.is_object() && st.contains("data") && st["data"].is_string()) subtitle += "data " + st["data"].get<std::string>();
  if (st.is_object() && st.contains("recipe") && st["recipe"].is_string())
    subtitle += (subtitle.empty() ? "" : ", ") + std::string("recipe ") + st["recipe"].get<std::string>();
  if (st.is_object() && st.contains("image_size") && st["image_size"].is_number())
    subtitle += (subtitle.empty() ? "" : ", ") + std::string("image size ") + st["image_size"].dump();
  if (!subtitle.empty()) h += "<p class=\"note\">" + html(subtitle) + "</p>\n";
  h += "<nav><a href=\"#metrics\">metrics</a><a href=\"#plots\">plots</a><a href=\"#reconstructions\">"
       "reconstructions</a><a href=\"#settings\">settings</a><a href=\"#images\">per-image scores</a></nav>\n";
  return h;
}

std::string plots_section(const Plots& p, const ReportInputs& in) {
  std::string h = "<h2 id=\"plots\">Plots</h2>\n";
  if (!p.curves.empty())
    h += "<h3>Training</h3>\n<div class=\"plot\">" + inline_svg(p.curves) +
         "</div>\n<p class=\"note\">Per epoch, the mean over its steps. The model kept is the one of the best "
         "validation epoch (marked).</p>\n";
  else
    h += "<p class=\"note\">No training log (train_log.jsonl) was found, so there are no training curves.</p>\n";
  if (!p.roc.empty()) h += "<h3>ROC</h3>\n<div class=\"plot\">" + inline_svg(p.roc) + "</div>\n";
  if (!p.histogram.empty())
    h += "<h3>Score distribution</h3>\n<div class=\"plot\">" + inline_svg(p.histogram) +
         "</div>\n<p class=\"note\">The dashed line is the decision threshold (chosen on " +
         html(in.calibration->chosen_on == "test" ? "the test set: an oracle" : "held-out validation data") +
         "); an image at or above it is called anomalous.</p>\n";
  return h;
}

std::string reconstructions_section(const Plots& p, const ReportOptions& opt) {
  const Pictures& pics = p.pics;
  const int label_w = 150;
  std::string h = "<p class=\"note\">One row per class, up to " + std::to_string(std::max(1, opt.per_class)) +
                  " test images each; every image as three tiles: input | reconstruction | |difference| heat map "
                  "(black: none, yellow-white: the largest difference in the grid, " +
                  fixed(pics.grid_scale, 3) + " in [0, 1] pixel units).</p>\n";
  h += "<div class=\"grid\" style=\"height:" + std::to_string(pics.grid.height) + "px;width:100%\">\n";
  for (const auto& r : pics.rows)
    h += "<span style=\"top:" + std::to_string(r.y + pics.tile / 2 - 8) + "px\">" + html(r.name) + "</span>\n";
  h += "<img style=\"position:absolute;left:" + std::to_string(label_w) + "px;top:0\" width=\"" +
       std::to_string(pics.grid.width) + "\" height=\"" + std::to_string(pics.grid.height) +
       "\" alt=\"reconstruction grid\" src=\"data:image/png;base64," + base64_encode(p.grid_png) + "\"/>\n</div>\n";
  return h;
}

}  // namespace

void write_report(const std::string& out_dir, const ReportInputs& in, const ReportOptions& opt) {
  const fs::path out(out_dir), plots_dir = out / "plots";
  std::error_code ec;
  fs::create_directories(plots_dir, ec);
  GANOMALY_CHECK(!ec, plots_dir.string(), ": cannot create the report folder: ", ec.message());
  const Plots plots = write_plots(plots_dir, in, opt);
  const bool have_test = has_test(in);
  const std::string no_test = "<p class=\"note\">No test images.</p>\n";

  std::string h = page_head(in);
  h += "<h2 id=\"metrics\">Metrics on the test set</h2>\n";
  h += have_test ? metrics_section(*in.evaluation, *in.calibration)
                 : "<p class=\"note\">No test images were scored, so there are no test metrics.</p>\n";
  if (in.settings.is_object() && in.settings.contains("map")) h += map_section(in.settings["map"]);
  h += plots_section(plots, in);
  h += "<h2 id=\"reconstructions\">Reconstructions</h2>\n";
  h += have_test ? reconstructions_section(plots, opt) : no_test;
  h += "<h2 id=\"settings\">Settings</h2>\n" + settings_table(in.settings, /*skip_figures=*/true);
  if (in.metrics.is_object() && !in.metrics.empty())
    h += "<h3>All figures of this evaluation</h3>\n" + settings_table(in.metrics, false);
  h += "<h2 id=\"images\">Per-image scores</h2>\n";
  if (have_test) {
    const int thumb = std::clamp(opt.thumbnail_size, 8, 2 * static_cast<int>(in.images->size(2)));
    h += "<p class=\"note\">Sorted by the " + html(to_string(in.calibration->score)) +
         " score, most anomalous first. The difference thumbnails share one colour scale. Rows with a wrong "
         "verdict are shaded.</p>\n" +
         scores_table(*in.evaluation, *in.calibration, *in.samples, plots.pics, thumb);
  } else {
    h += no_test;
  }
  h += "<p class=\"note\">Written by ganomaly.cpp " GANOMALY_VERSION ".</p>\n";
  h += kScript;
  h += "</body>\n</html>\n";
  write_file_atomically((out / "report.html").string(), h);
}

ReportInputs training_report(const TrainResult& run, const std::vector<Sample>& test, const std::string& out_dir) {
  ReportInputs in;
  in.title = "GANomaly training report";
  in.settings = run.summary;
  in.train_log = (fs::path(out_dir) / "train_log.jsonl").string();
  if (!run.model) return in;
  in.settings["model"] = model_config_json(run.model->config);
  for (const char* k : {"batch_size", "learning_rate", "ema_decay", "format"})
    if (run.info.contains(k) && !in.settings.contains(k)) in.settings[k] = run.info[k];
  in.model = run.model.get();
  in.calibration = &run.calibration;
  if (run.evaluation && !test.empty()) {
    in.samples = &test;
    in.images = &run.test_images;
    in.evaluation = &*run.evaluation;
  }
  return in;
}

}  // namespace gan
