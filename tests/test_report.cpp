// The run report: SVG plots, the reconstruction grid and the self-contained report.html.
#include <doctest/doctest.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "ganomaly/report/report.h"
#include "ganomaly/report/svg.h"
#include "ganomaly/data/synth.h"
#include "ganomaly/train/train.h"
#include "support/run_app.h"

using namespace gan;
namespace fs = std::filesystem;

using gan::testing::read_file;

namespace {

// Checks that every tag is closed in order (XML-style: void elements must be written
// "<img .../>"), skipping comments, declarations and processing instructions. Returns
// an empty string when well formed, else what is wrong.
std::string tag_balance_error(const std::string& text) {
  std::vector<std::string> stack;
  size_t i = 0;
  while ((i = text.find('<', i)) != std::string::npos) {
    if (text.compare(i, 4, "<!--") == 0) {
      const size_t end = text.find("-->", i);
      if (end == std::string::npos) return "unclosed comment";
      i = end + 3;
      continue;
    }
    const size_t end = text.find('>', i);
    if (end == std::string::npos) return "unclosed '<' at " + std::to_string(i);
    const std::string tag = text.substr(i + 1, end - i - 1);
    i = end + 1;
    if (tag.empty()) return "empty tag";
    if (tag[0] == '!' || tag[0] == '?') continue;
    if (tag.find('<') != std::string::npos) return "'<' inside a tag: " + tag;
    if (tag[0] == '/') {
      const std::string name = tag.substr(1);
      if (stack.empty()) return "closing </" + name + "> with nothing open";
      if (stack.back() != name) return "closing </" + name + "> but <" + stack.back() + "> is open";
      stack.pop_back();
      continue;
    }
    if (tag.back() == '/') continue;  // self-closing
    const std::string name = tag.substr(0, tag.find_first_of(" \t\n/"));
    if (name == "script" || name == "style") {  // raw text up to the closing tag
      const size_t close = text.find("</" + name + ">", i);
      if (close == std::string::npos) return "unclosed <" + name + ">";
      i = close + name.size() + 3;
      continue;
    }
    stack.push_back(name);
  }
  if (!stack.empty()) return "<" + stack.back() + "> never closed";
  return "";
}

// Every attribute's value (name="value"), in order; plain scanning (libstdc++'s std::regex
// recurses per character and overflows the stack on long base64 strings).
std::vector<std::pair<std::string, std::string>> attributes(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t at = 0; (at = text.find("=\"", at)) != std::string::npos;) {
    size_t b = at;
    while (b > 0 && (std::isalnum(static_cast<unsigned char>(text[b - 1])) || text[b - 1] == '-')) --b;
    const size_t end = text.find('"', at + 2);
    if (end == std::string::npos) break;
    if (b < at && b > 0 && std::isspace(static_cast<unsigned char>(text[b - 1])))
      out.emplace_back(text.substr(b, at - b), text.substr(at + 2, end - at - 2));
    at = end + 1;
  }
  return out;
}

std::vector<std::string> attribute_values(const std::string& text, const std::string& name) {
  std::vector<std::string> out;
  for (const auto& [n, v] : attributes(text))
    if (n == name) out.push_back(v);
  return out;
}

// Every number in the numeric attributes parses and is finite.
void check_numbers_finite(const std::string& svg) {
  static const std::set<std::string> numeric{"x",      "y",       "x1",        "x2",        "y1",
                                             "y2",     "cx",      "cy",        "r",         "width",
                                             "height", "points",  "viewBox",   "font-size", "stroke-width",
                                             "fill-opacity"};
  int checked = 0;
  for (const auto& [name, raw] : attributes(svg)) {
    if (!numeric.count(name)) continue;
    std::string value = raw;
    for (char& ch : value)
      if (ch == ',') ch = ' ';
    std::istringstream in(value);
    std::string token;
    while (in >> token) {
      char* end = nullptr;
      const double v = std::strtod(token.c_str(), &end);
      INFO("attribute ", name, "=\"", raw, "\"");
      CHECK(end != token.c_str());
      CHECK(*end == '\0');
      CHECK(std::isfinite(v));
      ++checked;
    }
  }
  CHECK(checked > 10);
}

// The text with every base64 payload of a data URI cut out.
std::string without_base64(const std::string& text) {
  std::string out;
  const std::string marker = ";base64,";
  size_t from = 0;
  for (size_t at; (at = text.find(marker, from)) != std::string::npos;) {
    out.append(text, from, at + marker.size() - from);
    size_t end = at + marker.size();
    while (end < text.size() && (std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '+' ||
                                 text[end] == '/' || text[end] == '='))
      ++end;
    from = end;
  }
  out.append(text, from, std::string::npos);
  return out;
}

void check_svg(const std::string& svg) {
  INFO(svg.substr(0, 300));
  CHECK(svg.rfind("<svg ", 0) == 0);
  CHECK(tag_balance_error(svg) == "");
  check_numbers_finite(svg);
}

struct TrainedRun {
  std::string data, out;
};

// A tiny generated data set and a one-epoch training run, made once per test binary.
// The report is written as ganomaly_train writes it: from what train_model returned.
const TrainedRun& trained_run() {
  static const TrainedRun run = [] {
    testing::TinyRun tiny = testing::train_tiny_run("report");
    REQUIRE(tiny.result.summary["status"] == "completed");
    const Dataset data = discover_dataset(tiny.data);
    write_report(tiny.out, training_report(tiny.result, data.test, tiny.out));
    return TrainedRun{tiny.data, tiny.out};
  }();
  return run;
}

}  // namespace

TEST_CASE("base64 matches RFC 4648's test vectors") {
  auto b64 = [](const std::string& s) { return base64_encode(std::vector<uint8_t>(s.begin(), s.end())); };
  CHECK(b64("") == "");
  CHECK(b64("f") == "Zg==");
  CHECK(b64("fo") == "Zm8=");
  CHECK(b64("foo") == "Zm9v");
  CHECK(b64("foob") == "Zm9vYg==");
  CHECK(b64("fooba") == "Zm9vYmE=");
  CHECK(b64("foobar") == "Zm9vYmFy");
}

TEST_CASE("nice ticks are round and cover the range") {
  const auto t = svg::nice_ticks(0.0, 1.0, 5);
  REQUIRE(t.size() == 6);
  CHECK(t.front() == doctest::Approx(0.0));
  CHECK(t[1] == doctest::Approx(0.2));
  CHECK(t.back() == doctest::Approx(1.0));
  const auto u = svg::nice_ticks(3.7, 48.2, 5);
  REQUIRE(u.size() >= 3);
  CHECK(u.front() >= 3.7);
  CHECK(u.back() <= 48.2);
  CHECK(svg::number(std::nan("")) == "0");
  CHECK(svg::number(1.0 / 0.0) != "inf");
  CHECK(svg::number(-0.001) == "0");
  CHECK(svg::number(12.5) == "12.5");
}

TEST_CASE("SVG plots are well formed with finite numbers, also for degenerate data") {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  svg::PlotOptions o;
  o.title = "losses <per> epoch & \"more\"";
  o.x_label = "epoch";
  o.y_label = "loss";
  o.integer_x = true;
  o.vlines.push_back({2, "best", "#555"});
  svg::Series a{"generator", {1, 2, 3, 4}, {5.0, 3.5, nan, 2.0}};
  svg::Series b{"discriminator", {1, 2, 3, 4}, {0.7, 0.69, 0.68, inf}, "", true};
  const std::string lines = svg::line_plot({a, b}, o);
  check_svg(lines);
  CHECK(lines.find("&lt;per&gt;") != std::string::npos);
  CHECK(lines.find("generator") != std::string::npos);
  CHECK(lines.find("discriminator") != std::string::npos);

  SUBCASE("one point, constant values, nothing at all") {
    check_svg(svg::line_plot({svg::Series{"one", {1}, {0.5}}}, o));
    check_svg(svg::line_plot({svg::Series{"flat", {1, 2, 3}, {2, 2, 2}}}, o));
    check_svg(svg::line_plot({svg::Series{"zeros", {0, 0}, {0, 0}}}, o));
    check_svg(svg::line_plot({svg::Series{"all nan", {nan, nan}, {nan, nan}}}, o));
    const std::string one = svg::line_plot({svg::Series{"one", {1}, {0.5}}}, o);
    CHECK(one.find("<circle") != std::string::npos);  // a lone point is still drawn
  }
  SUBCASE("histograms") {
    check_svg(svg::histogram_pair({0.1, 0.2, 0.2, 0.3}, "normal", {0.5, 0.6, 0.9}, "anomalous", 0.4, "threshold 0.4",
                                  o, 10));
    check_svg(svg::histogram_pair({1, 1, 1}, "normal", {1}, "anomalous", 1, "t", o, 5));
    check_svg(svg::histogram_pair({}, "normal", {}, "anomalous", nan, "t", o, 5));
    check_svg(svg::histogram_pair({nan, 1e30, -1e30}, "normal", {inf}, "anomalous", 0, "t", o, 5));
  }
  SUBCASE("ROC with the diagonal") {
    svg::PlotOptions r;
    r.title = "ROC: AUROC 0.75";
    const std::string roc = svg::roc_plot({0, 0, 0.5, 1}, {0, 0.5, 1, 1}, r);
    check_svg(roc);
    CHECK(roc.find("stroke-dasharray") != std::string::npos);  // the diagonal
    check_svg(svg::roc_plot({}, {}, r));
  }
  SUBCASE("stacked") {
    const std::string stacked = svg::stack_vertical({lines, lines}, {360, 360}, 640);
    check_svg(stacked);
    CHECK(stacked.find("y=\"360\"") != std::string::npos);
  }
}

TEST_CASE("a training run's report: the files, inline images only, no external references") {
  const TrainedRun& run = trained_run();
  for (const char* f : {"report.html", "plots/training_curves.svg", "plots/roc.svg", "plots/score_histogram.svg",
                        "plots/reconstructions.png"}) {
    INFO(f);
    CHECK(fs::exists(fs::path(run.out) / f));
    CHECK(fs::file_size(fs::path(run.out) / f) > 100);
  }
  for (const char* f : {"plots/training_curves.svg", "plots/roc.svg", "plots/score_histogram.svg"}) {
    INFO(f);
    check_svg(read_file(run.out + "/" + f));
  }
  const std::string png = read_file(run.out + "/plots/reconstructions.png");
  CHECK(png.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
  // 3 classes at most here (good and the defects of 4 bad images), per class up to 3.
  const ImageInfo info = probe_image(run.out + "/plots/reconstructions.png");
  CHECK(info.width >= 3 * 96);
  CHECK(info.height >= 2 * 96);

  const std::string h = read_file(run.out + "/report.html");
  CHECK(h.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(tag_balance_error(h) == "");
  // Outside the base64 payloads (whose alphabet has '/'), nothing that could fetch a resource.
  const std::string text = without_base64(h);
  for (const char* external : {"http:", "https:", "file:", "ftp:", "//", "url(", "@import"}) {
    INFO(external);
    CHECK(text.find(external) == std::string::npos);
  }
  const auto srcs = attribute_values(h, "src");
  CHECK(srcs.size() >= 1 + 2 * 8);  // the grid, and two thumbnails per test image
  for (const std::string& s : srcs) CHECK(s.rfind("data:image/png;base64,", 0) == 0);
  CHECK(std::count(srcs.begin(), srcs.end(), std::string()) == 0);
  size_t imgs = 0;
  for (size_t at = 0; (at = h.find("<img ", at)) != std::string::npos; ++at) ++imgs;
  CHECK(imgs == srcs.size());
  for (const std::string& href : attribute_values(h, "href")) CHECK(href.rfind("#", 0) == 0);
  CHECK(h.find("<link") == std::string::npos);
  CHECK(h.find("<svg") != std::string::npos);
  CHECK(h.find("F1, oracle") != std::string::npos);
  CHECK(h.find("F1, honest") != std::string::npos);
  CHECK(h.find("baseline") != std::string::npos);
  // Every test image is listed once with a verdict.
  size_t verdicts = 0;
  for (size_t at = 0; (at = h.find("<td class=\"anomalous\">", at)) != std::string::npos; ++at) ++verdicts;
  for (size_t at = 0; (at = h.find("<td class=\"normal\">", at)) != std::string::npos; ++at) ++verdicts;
  CHECK(verdicts == 8);
  const nlohmann::json summary = nlohmann::json::parse(read_file(run.out + "/summary.json"));
  CHECK(h.find(summary["score"].get<std::string>()) != std::string::npos);
}

TEST_CASE("the apps write the report unless --no-report") {
  const TrainedRun& run = trained_run();
  const std::string out = testing::temp_dir("report_app_test");
  auto r = testing::run_app("ganomaly_test", run.out + "/model.gnm " + run.data + " --threads 2 --out " + out);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(fs::exists(out + "/report.html"));
  CHECK(fs::exists(out + "/plots/roc.svg"));
  CHECK(fs::exists(out + "/plots/training_curves.svg"));  // from the log beside the model
  CHECK(tag_balance_error(read_file(out + "/report.html")) == "");

  const std::string quiet = testing::temp_dir("report_app_quiet");
  r = testing::run_app("ganomaly_test", run.out + "/model.gnm " + run.data + " --threads 2 --no-report --out " + quiet);
  REQUIRE(r.exit_code == 0);
  CHECK(fs::exists(quiet + "/test_scores.csv"));
  CHECK_FALSE(fs::exists(quiet + "/report.html"));
  CHECK_FALSE(fs::exists(quiet + "/plots"));

  const std::string train_out = testing::temp_dir("report_app_train");
  const std::string common = run.data + " --image-size 32 --n-features 8 --latent-size 8 --epochs 1 --min-steps 0 --batch-size 8 "
                                        "--threads 2 --out ";
  r = testing::run_app("ganomaly_train", common + train_out + " --no-report");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(fs::exists(train_out + "/summary.json"));
  CHECK_FALSE(fs::exists(train_out + "/report.html"));
  r = testing::run_app("ganomaly_train", common + train_out);
  REQUIRE(r.exit_code == 0);
  CHECK(fs::exists(train_out + "/report.html"));
  CHECK(fs::exists(train_out + "/plots/reconstructions.png"));
}

TEST_CASE("report.html renders in headless Chromium with every image loaded") {
  const char* chromium = "/usr/bin/chromium";
  if (!fs::exists(chromium)) {
    MESSAGE("skipped: /usr/bin/chromium not found (apt-get install chromium to run this check)");
    return;
  }
  const TrainedRun& run = trained_run();
  const std::string tmp = testing::temp_dir("report_chromium");
  const std::string report = fs::absolute(run.out + "/report.html").string();
  const std::string flags = std::string("timeout 120 ") + chromium +
                            " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
                            " --disable-background-networking --disable-component-update --disable-sync"
                            " --virtual-time-budget=5000 --user-data-dir=" + tmp + "/profile";
  const std::string shot = tmp + "/report.png", dom = tmp + "/dom.html";
  int rc = std::system((flags + " --screenshot=" + shot + " --window-size=1200,2000 file://" + report + " >" + tmp +
                        "/shot.log 2>&1").c_str());
  INFO(read_file(tmp + "/shot.log"));
  CHECK(rc == 0);
  REQUIRE(fs::exists(shot));
  const ImageInfo info = probe_image(shot);
  CHECK(info.width == 1200);
  CHECK(info.height == 2000);
  rc = std::system((flags + " --dump-dom file://" + report + " >" + dom + " 2>" + tmp + "/dom.log").c_str());
  CHECK(rc == 0);
  const std::string d = read_file(dom);
  INFO(d.substr(0, 2000));
  CHECK(d.find("data-images=\"ok\"") != std::string::npos);
  CHECK(d.find("data-images=\"missing\"") == std::string::npos);
  if (const char* keep = std::getenv("GANOMALY_REPORT_SCREENSHOT")) fs::copy_file(shot, keep, fs::copy_options::overwrite_existing);
}
