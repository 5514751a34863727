#pragma once
// The report's parts (report.cpp strings them together). Internal to src/ganomaly/report/.
#include <array>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ganomaly/io/atomic_file.h"
#include "ganomaly/report/report.h"

namespace gan::report_detail {

// Numbers and text.
std::string fixed(double v, int digits = 4);  // "n/a" when not finite
std::string short_number(double v);           // %.4g
std::string percent(double share);            // 0.05 -> "5.0%"; "n/a" when not finite
std::string html(const std::string& s);       // escaped for HTML text and attributes
std::string inline_svg(std::string s);        // an SVG file's text, for inside HTML

// Pictures.
Image to_rgb(const Image& im);
Image difference(const Image& a, const Image& b);  // |a - b| averaged over channels: one channel
float max_of(const Image& im);
Image heat_map(const Image& map, float scale);      // one channel / scale into an inferno-like map, RGB
Image fit(const Image& im, int side);               // integer upscaling crisp, else antialiased
std::string png_data_uri(const Image& im);
void write_binary(const std::string& path, const std::vector<uint8_t>& bytes);

// train_log.jsonl, one object per epoch (a resumed run's last line of an epoch wins),
// and the three stacked training panels drawn from it.
std::vector<nlohmann::json> read_train_log(const std::string& path);
std::string training_curves_svg(const std::vector<nlohmann::json>& log);

// Thumbnails for every test image, and the reconstruction grid for a few per class.
struct Pictures {
  std::vector<std::string> thumbnail, heat_thumbnail;  // data URIs, one per test image
  Image grid;                                          // RGB
  struct Row {
    std::string name;
    int y = 0, count = 0;
  };
  std::vector<Row> rows;
  int tile = 0, label_width = 0;
  float grid_scale = 0, thumb_scale = 0;
};
Pictures make_pictures(Ganomaly& model, const Tensor& images, const std::vector<Sample>& samples,
                       const ReportOptions& opt);

// The HTML page's pieces.
extern const char* const kStyle;
extern const char* const kScript;
std::string settings_table(const nlohmann::json& settings, bool skip_figures);
std::string metrics_section(const Evaluation& e, const Calibration& cal);
// The residual map a map score reads, in words; the "Anomaly map" section from
// summary.json's "map" (empty without one).
std::string map_description(Score score);
std::string map_section(const nlohmann::json& map);
std::string scores_table(const Evaluation& e, const Calibration& cal, const std::vector<Sample>& samples,
                         const Pictures& pics, int thumb);

}  // namespace gan::report_detail
