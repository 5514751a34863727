#include "ganomaly/report/svg.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>

namespace gan::svg {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kFontSize = 12, kTitleSize = 14;

struct Range {
  double lo = 0, hi = 1;
  std::vector<double> ticks;
};

// A drawable range from data (finite values only) or the fixed bounds, with ticks.
Range make_range(const std::vector<double>& values, double fixed_lo, double fixed_hi, bool integer) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (double v : values)
    if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (std::isfinite(fixed_lo)) lo = fixed_lo;
  if (std::isfinite(fixed_hi)) hi = fixed_hi;
  if (!std::isfinite(lo) && !std::isfinite(hi)) lo = 0, hi = 1;
  if (!std::isfinite(lo)) lo = hi - 1;
  if (!std::isfinite(hi)) hi = lo + 1;
  if (hi < lo) std::swap(lo, hi);
  if (hi - lo <= std::max(std::fabs(lo), std::fabs(hi)) * 1e-9) {  // one value: widen around it
    const double pad = integer ? 1.0 : (lo == 0 ? 1.0 : std::fabs(lo) * 0.1);
    if (!std::isfinite(fixed_lo)) lo -= pad;
    if (!std::isfinite(fixed_hi)) hi += pad;
    if (hi <= lo) hi = lo + pad;
  }
  Range r;
  r.ticks = nice_ticks(lo, hi, 5);
  if (integer) {
    std::vector<double> whole;
    for (double t : r.ticks)
      if (std::fabs(t - std::round(t)) < 1e-9) whole.push_back(std::round(t));
    if (whole.size() < 2) {
      whole.clear();
      for (double t = std::ceil(lo); t <= std::floor(hi); t += 1) whole.push_back(t);
    }
    r.ticks = whole;
  }
  // Auto bounds snap outwards to the ticks, fixed bounds stay.
  if (!r.ticks.empty()) {
    const double step = r.ticks.size() > 1 ? r.ticks[1] - r.ticks[0] : 1.0;
    if (!std::isfinite(fixed_lo) && r.ticks.front() > lo) r.ticks.insert(r.ticks.begin(), r.ticks.front() - step);
    if (!std::isfinite(fixed_hi) && r.ticks.back() < hi) r.ticks.push_back(r.ticks.back() + step);
    if (!std::isfinite(fixed_lo)) lo = r.ticks.front();
    if (!std::isfinite(fixed_hi)) hi = r.ticks.back();
  }
  r.lo = lo, r.hi = hi;
  r.ticks.erase(std::remove_if(r.ticks.begin(), r.ticks.end(),
                               [&](double t) { return t < lo - 1e-9 * (hi - lo) || t > hi + 1e-9 * (hi - lo); }),
                r.ticks.end());
  return r;
}

// Tick labels with as many decimals as the step needs.
std::string tick_label(double v, double step) {
  char buf[64];
  if (std::fabs(v) < step * 1e-6) v = 0;
  if (std::fabs(v) >= 1e6 || (step > 0 && step < 1e-4)) {
    std::snprintf(buf, sizeof buf, "%.3g", v);
  } else {
    const int decimals = step > 0 ? std::clamp(static_cast<int>(std::ceil(-std::log10(step) - 1e-9)), 0, 6) : 2;
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  }
  return buf;
}

// The frame of one plot: margins, scales, axes, title, legend.
class Canvas {
 public:
  Canvas(const PlotOptions& o, const Range& x, const Range& y, size_t legend_chars, bool has_legend)
      : o_(o), x_(x), y_(y) {
    left_ = 64;
    top_ = o.title.empty() ? 16 : 34;
    bottom_ = o.x_label.empty() ? 32 : 48;
    legend_chars = std::max(legend_chars, static_cast<size_t>(std::max(0, o.legend_chars)));
    right_ = has_legend ? 28 + 26 + static_cast<int>(legend_chars * 6.8) : 20;
    plot_w_ = std::max(40, o.width - left_ - right_);
    plot_h_ = std::max(40, o.height - top_ - bottom_);
  }
  double px(double x) const {
    return left_ + (std::clamp(x, x_.lo, x_.hi) - x_.lo) / (x_.hi - x_.lo) * plot_w_;
  }
  double py(double y) const {
    return top_ + plot_h_ - (std::clamp(y, y_.lo, y_.hi) - y_.lo) / (y_.hi - y_.lo) * plot_h_;
  }
  std::string open() const {
    std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(o_.width) + "\" height=\"" +
                    std::to_string(o_.height) + "\" viewBox=\"0 0 " + std::to_string(o_.width) + " " +
                    std::to_string(o_.height) + "\" font-family=\"sans-serif\" font-size=\"" +
                    std::to_string(kFontSize) + "\">\n";
    s += "<rect x=\"0\" y=\"0\" width=\"" + std::to_string(o_.width) + "\" height=\"" + std::to_string(o_.height) +
         "\" fill=\"#ffffff\"/>\n";
    if (!o_.title.empty())
      s += "<text x=\"" + number(left_ + plot_w_ / 2.0) + "\" y=\"22\" text-anchor=\"middle\" font-size=\"" +
           std::to_string(kTitleSize) + "\" font-weight=\"bold\">" + escape(o_.title) + "</text>\n";
    return s;
  }
  std::string axes() const {
    std::string s;
    const double x0 = left_, x1 = left_ + plot_w_, y0 = top_ + plot_h_, y1 = top_;
    const double xstep = x_.ticks.size() > 1 ? x_.ticks[1] - x_.ticks[0] : x_.hi - x_.lo;
    const double ystep = y_.ticks.size() > 1 ? y_.ticks[1] - y_.ticks[0] : y_.hi - y_.lo;
    s += "<g stroke=\"#e4e4e4\" stroke-width=\"1\">\n";
    for (double t : y_.ticks) s += line(x0, py(t), x1, py(t));
    for (double t : x_.ticks) s += line(px(t), y0, px(t), y1);
    s += "</g>\n<g stroke=\"#333333\" stroke-width=\"1\">\n";
    s += line(x0, y0, x1, y0) + line(x0, y0, x0, y1);
    for (double t : y_.ticks) s += line(x0 - 4, py(t), x0, py(t));
    for (double t : x_.ticks) s += line(px(t), y0, px(t), y0 + 4);
    s += "</g>\n<g fill=\"#333333\">\n";
    for (double t : y_.ticks)
      s += "<text x=\"" + number(x0 - 7) + "\" y=\"" + number(py(t) + 4) + "\" text-anchor=\"end\">" +
           escape(tick_label(t, ystep)) + "</text>\n";
    for (double t : x_.ticks)
      s += "<text x=\"" + number(px(t)) + "\" y=\"" + number(y0 + 17) + "\" text-anchor=\"middle\">" +
           escape(tick_label(t, xstep)) + "</text>\n";
    if (!o_.x_label.empty())
      s += "<text x=\"" + number(left_ + plot_w_ / 2.0) + "\" y=\"" + number(y0 + 37) + "\" text-anchor=\"middle\">" +
           escape(o_.x_label) + "</text>\n";
    if (!o_.y_label.empty()) {
      const double cx = 16, cy = top_ + plot_h_ / 2.0;
      s += "<text x=\"" + number(cx) + "\" y=\"" + number(cy) + "\" text-anchor=\"middle\" transform=\"rotate(-90 " +
           number(cx) + " " + number(cy) + ")\">" + escape(o_.y_label) + "</text>\n";
    }
    s += "</g>\n";
    return s;
  }
  std::string vlines() const {
    std::string s;
    for (const VerticalLine& v : o_.vlines) {
      if (!std::isfinite(v.x) || v.x < x_.lo || v.x > x_.hi) continue;
      s += "<line x1=\"" + number(px(v.x)) + "\" y1=\"" + number(top_ + plot_h_) + "\" x2=\"" + number(px(v.x)) +
           "\" y2=\"" + number(top_) + "\" stroke=\"" + escape(v.color) +
           "\" stroke-width=\"1.5\" stroke-dasharray=\"6 3\"/>\n";
      // Right of the line, or left of it near the right edge so it stays in the plot.
      const bool left_of = px(v.x) + 8 + v.label.size() * 6.8 > left_ + plot_w_;
      if (!v.label.empty())
        s += "<text x=\"" + number(px(v.x) + (left_of ? -4 : 4)) + "\" y=\"" + number(top_ + 12) + "\" fill=\"" +
             escape(v.color) + "\"" + (left_of ? " text-anchor=\"end\"" : "") + ">" + escape(v.label) + "</text>\n";
    }
    return s;
  }
  // entries: name, colour, kind ("line", "dashed", "box")
  std::string legend(const std::vector<std::array<std::string, 3>>& entries) const {
    std::string s = "<g>\n";
    const double x = left_ + plot_w_ + 14;
    double y = top_ + 6;
    for (const auto& [name, color, kind] : entries) {
      if (kind == "box")
        s += "<rect x=\"" + number(x) + "\" y=\"" + number(y - 5) + "\" width=\"18\" height=\"10\" fill=\"" +
             escape(color) + "\" fill-opacity=\"0.5\" stroke=\"" + escape(color) + "\"/>\n";
      else
        s += "<line x1=\"" + number(x) + "\" y1=\"" + number(y) + "\" x2=\"" + number(x + 18) + "\" y2=\"" +
             number(y) + "\" stroke=\"" + escape(color) + "\" stroke-width=\"2\"" +
             (kind == "dashed" ? " stroke-dasharray=\"6 3\"" : "") + "/>\n";
      s += "<text x=\"" + number(x + 24) + "\" y=\"" + number(y + 4) + "\">" + escape(name) + "</text>\n";
      y += 18;
    }
    return s + "</g>\n";
  }
  int plot_bottom() const { return top_ + plot_h_; }

  static std::string line(double x1, double y1, double x2, double y2) {
    return "<line x1=\"" + number(x1) + "\" y1=\"" + number(y1) + "\" x2=\"" + number(x2) + "\" y2=\"" + number(y2) +
           "\"/>\n";
  }

 private:
  const PlotOptions& o_;
  Range x_, y_;
  int left_, right_, top_, bottom_, plot_w_, plot_h_;
};

// Polylines through the finite points, broken where a point is not finite.
std::string polylines(const Canvas& c, const std::vector<double>& x, const std::vector<double>& y,
                      const std::string& color, bool dashed, bool markers) {
  std::string s, points;
  size_t n_points = 0, finite = 0;
  auto flush = [&] {
    if (n_points >= 2)
      s += "<polyline fill=\"none\" stroke=\"" + escape(color) + "\" stroke-width=\"2\"" +
           (dashed ? " stroke-dasharray=\"6 3\"" : "") + " points=\"" + points + "\"/>\n";
    points.clear();
    n_points = 0;
  };
  const size_t n = std::min(x.size(), y.size());
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i]) || !std::isfinite(y[i])) {
      flush();
      continue;
    }
    if (!points.empty()) points += ' ';
    points += number(c.px(x[i])) + "," + number(c.py(y[i]));
    ++n_points, ++finite;
  }
  flush();
  if (markers || finite == 1)
    for (size_t i = 0; i < n; ++i)
      if (std::isfinite(x[i]) && std::isfinite(y[i]))
        s += "<circle cx=\"" + number(c.px(x[i])) + "\" cy=\"" + number(c.py(y[i])) + "\" r=\"2.5\" fill=\"" +
             escape(color) + "\"/>\n";
  return s;
}

}  // namespace

PlotOptions::PlotOptions() : x_min(kNaN), x_max(kNaN), y_min(kNaN), y_max(kNaN) {}

std::string escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += ch;
    }
  }
  return out;
}

std::string number(double v) {
  if (!std::isfinite(v)) v = 0;
  v = std::clamp(v, -1e9, 1e9);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  std::string s = buf;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  if (s == "-0") s = "0";
  return s;
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {};
  if (hi < lo) std::swap(lo, hi);
  if (hi == lo) return {lo};
  const double raw = (hi - lo) / std::max(1, target);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * magnitude * 1.0000001) {
      step = m * magnitude;
      break;
    }
  std::vector<double> ticks;
  const double first = std::ceil(lo / step - 1e-9) * step;
  for (double t = first; t <= hi + step * 1e-9 && ticks.size() < 100; t = first + step * ticks.size())
    ticks.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
  return ticks;
}

const std::string& palette(size_t i) {
  static const std::vector<std::string> colors{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                               "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"};
  return colors[i % colors.size()];
}

std::string line_plot(const std::vector<Series>& series, const PlotOptions& o) {
  std::vector<double> xs, ys;
  size_t legend_chars = 0;
  for (const Series& s : series) {
    xs.insert(xs.end(), s.x.begin(), s.x.end());
    ys.insert(ys.end(), s.y.begin(), s.y.end());
    legend_chars = std::max(legend_chars, s.name.size());
  }
  for (const VerticalLine& v : o.vlines) xs.push_back(v.x);
  const Range xr = make_range(xs, o.x_min, o.x_max, o.integer_x), yr = make_range(ys, o.y_min, o.y_max, false);
  const bool has_legend = !series.empty();
  Canvas c(o, xr, yr, legend_chars, has_legend);
  std::string s = c.open() + c.axes() + c.vlines();
  std::vector<std::array<std::string, 3>> legend;
  for (size_t i = 0; i < series.size(); ++i) {
    const Series& se = series[i];
    const std::string color = se.color.empty() ? palette(i) : se.color;
    s += polylines(c, se.x, se.y, color, se.dashed, se.markers);
    legend.push_back({se.name, color, se.dashed ? "dashed" : "line"});
  }
  if (has_legend) s += c.legend(legend);
  return s + "</svg>\n";
}

std::string histogram_pair(const std::vector<double>& a, const std::string& a_name, const std::vector<double>& b,
                           const std::string& b_name, double threshold, const std::string& threshold_label,
                           const PlotOptions& options, int bins) {
  bins = std::clamp(bins, 1, 200);
  std::vector<double> all;
  for (double v : a)
    if (std::isfinite(v)) all.push_back(v);
  for (double v : b)
    if (std::isfinite(v)) all.push_back(v);
  if (std::isfinite(threshold)) all.push_back(threshold);
  double lo = 0, hi = 1;
  if (!all.empty()) {
    lo = *std::min_element(all.begin(), all.end());
    hi = *std::max_element(all.begin(), all.end());
  }
  if (hi - lo <= std::max(std::fabs(lo), std::fabs(hi)) * 1e-9) {
    const double pad = lo == 0 ? 1.0 : std::fabs(lo) * 0.1;
    lo -= pad, hi += pad;
  }
  const double width = (hi - lo) / bins;
  auto count = [&](const std::vector<double>& v) {
    std::vector<double> c(bins, 0.0);
    for (double x : v)
      if (std::isfinite(x)) c[std::clamp(static_cast<int>((x - lo) / width), 0, bins - 1)] += 1;
    return c;
  };
  const std::vector<double> ca = count(a), cb = count(b);
  double top = 1;
  for (int i = 0; i < bins; ++i) top = std::max({top, ca[i], cb[i]});
  PlotOptions o = options;
  o.x_min = lo, o.x_max = hi;
  o.y_min = 0;
  if (std::isfinite(threshold)) o.vlines.push_back({threshold, threshold_label, "#222222"});
  const Range xr = make_range({}, lo, hi, false);
  Range yr = make_range({0.0, top}, 0, kNaN, true);
  const size_t legend_chars = std::max({a_name.size(), b_name.size(), threshold_label.size()});
  Canvas c(o, xr, yr, legend_chars, true);
  std::string s = c.open() + c.axes();
  const std::string colors[2] = {palette(0), palette(1)};
  const std::vector<double>* counts[2] = {&ca, &cb};
  for (int k = 0; k < 2; ++k) {
    s += "<g fill=\"" + colors[k] + "\" fill-opacity=\"0.45\" stroke=\"" + colors[k] + "\" stroke-width=\"1\">\n";
    for (int i = 0; i < bins; ++i) {
      const double v = (*counts[k])[i];
      if (v <= 0) continue;
      const double x0 = c.px(lo + i * width), x1 = c.px(lo + (i + 1) * width), y = c.py(v);
      s += "<rect x=\"" + number(x0) + "\" y=\"" + number(y) + "\" width=\"" + number(std::max(0.5, x1 - x0)) +
           "\" height=\"" + number(std::max(0.0, c.plot_bottom() - y)) + "\"/>\n";
    }
    s += "</g>\n";
  }
  s += c.vlines();
  std::vector<std::array<std::string, 3>> legend{{a_name, colors[0], "box"}, {b_name, colors[1], "box"}};
  if (std::isfinite(threshold)) legend.push_back({threshold_label, "#222222", "dashed"});
  s += c.legend(legend);
  return s + "</svg>\n";
}

std::string roc_plot(const std::vector<double>& fpr, const std::vector<double>& tpr, const PlotOptions& options) {
  PlotOptions o = options;
  o.x_min = 0, o.x_max = 1, o.y_min = 0, o.y_max = 1;
  if (o.x_label.empty()) o.x_label = "false positive rate";
  if (o.y_label.empty()) o.y_label = "true positive rate";
  const Range r = make_range({}, 0, 1, false);
  Canvas c(o, r, r, 0, false);
  std::string s = c.open() + c.axes();
  s += "<line x1=\"" + number(c.px(0)) + "\" y1=\"" + number(c.py(0)) + "\" x2=\"" + number(c.px(1)) + "\" y2=\"" +
       number(c.py(1)) + "\" stroke=\"#999999\" stroke-width=\"1\" stroke-dasharray=\"4 4\"/>\n";
  // The area under the curve, lightly filled.
  std::string area;
  const size_t n = std::min(fpr.size(), tpr.size());
  size_t finite = 0;
  for (size_t i = 0; i < n; ++i)
    if (std::isfinite(fpr[i]) && std::isfinite(tpr[i])) {
      area += number(c.px(fpr[i])) + "," + number(c.py(tpr[i])) + " ";
      ++finite;
    }
  if (finite >= 2)
    s += "<polygon fill=\"" + palette(0) + "\" fill-opacity=\"0.12\" stroke=\"none\" points=\"" + area +
         number(c.px(1)) + "," + number(c.py(0)) + " " + number(c.px(0)) + "," + number(c.py(0)) + "\"/>\n";
  s += polylines(c, fpr, tpr, palette(0), false, false);
  return s + "</svg>\n";
}

std::string stack_vertical(const std::vector<std::string>& plots, const std::vector<int>& heights, int width) {
  int total = 0;
  for (size_t i = 0; i < plots.size(); ++i) total += i < heights.size() ? heights[i] : 0;
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) + "\" height=\"" +
                  std::to_string(total) + "\" viewBox=\"0 0 " + std::to_string(width) + " " + std::to_string(total) +
                  "\">\n";
  int y = 0;
  for (size_t i = 0; i < plots.size(); ++i) {
    std::string p = plots[i];
    const std::string open = "<svg ";
    if (p.compare(0, open.size(), open) == 0) p.insert(open.size(), "x=\"0\" y=\"" + std::to_string(y) + "\" ");
    s += p;
    y += i < heights.size() ? heights[i] : 0;
  }
  return s + "</svg>\n";
}

}  // namespace gan::svg
