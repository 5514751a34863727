#pragma once
// A small SVG plot writer: line plots with several series and a legend, a pair of
// histograms with a vertical threshold line, and a ROC curve with the diagonal. Axes have
// "nice" ticks and labels; all text is SVG <text> in a generic sans-serif font (no font
// code, nothing external). Every function returns a complete, self-contained <svg>
// element as a string. Non-finite input values are skipped (never written), so the
// output has only finite numbers; degenerate ranges (one point, constant values) are
// widened so that a plot is always drawable.
#include <string>
#include <vector>

namespace gan::svg {

struct Series {
  std::string name;            // shown in the legend
  std::vector<double> x, y;    // same length; non-finite points are skipped
  std::string color = "";      // empty: a colour from the default palette
  bool dashed = false;
  bool markers = true;         // a dot at each point (always drawn when a series has one point)
};

// A vertical marker line across the plot area, with a short label at the top.
struct VerticalLine {
  double x = 0;
  std::string label;
  std::string color = "#444444";
};

struct PlotOptions {
  int width = 640, height = 360;
  std::string title, x_label, y_label;
  // Fixed axis ranges; NaN (the default) means: from the data, with nice ticks.
  double x_min, x_max, y_min, y_max;
  bool integer_x = false;       // ticks on whole numbers only (epochs)
  int legend_chars = 0;         // reserve at least this many characters for the legend (aligns stacked plots)
  std::vector<VerticalLine> vlines;
  PlotOptions();
};

// Escapes & < > " ' for text and attribute values.
std::string escape(const std::string& text);
// Numbers as SVG writes them: finite, at most 2 decimals, no exponent ("12.5", "-3").
std::string number(double v);
// About `target` round tick values (1, 2 or 5 times a power of ten) covering [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int target = 5);
// The i-th colour of the default palette (cycles).
const std::string& palette(size_t i);

std::string line_plot(const std::vector<Series>& series, const PlotOptions& options);

// Two histograms on shared bins (e.g. normal and anomalous scores), drawn as translucent
// bars, with a vertical line at `threshold` (skipped when not finite).
std::string histogram_pair(const std::vector<double>& a, const std::string& a_name, const std::vector<double>& b,
                           const std::string& b_name, double threshold, const std::string& threshold_label,
                           const PlotOptions& options, int bins = 20);

// The ROC curve (false positive rate against true positive rate) and the chance diagonal.
std::string roc_plot(const std::vector<double>& fpr, const std::vector<double>& tpr, const PlotOptions& options);

// Stacks complete <svg> elements vertically into one (nested <svg> at offsets).
std::string stack_vertical(const std::vector<std::string>& plots, const std::vector<int>& heights, int width);

}  // namespace gan::svg
