#include "ganomaly/report/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <sstream>

#include <stb/stb_image_write.h>

#include "ganomaly/report/svg.h"

namespace gan {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------
// Small helpers: base64, PNG in memory, un-normalising, heat maps, resizing.

std::string base64_encode(const std::vector<uint8_t>& bytes) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = (uint32_t(bytes[i]) << 16) | (uint32_t(bytes[i + 1]) << 8) | bytes[i + 2];
    out += table[v >> 18], out += table[(v >> 12) & 63], out += table[(v >> 6) & 63], out += table[v & 63];
  }
  if (i + 1 == bytes.size()) {
    const uint32_t v = uint32_t(bytes[i]) << 16;
    out += table[v >> 18], out += table[(v >> 12) & 63], out += "==";
  } else if (i + 2 == bytes.size()) {
    const uint32_t v = (uint32_t(bytes[i]) << 16) | (uint32_t(bytes[i + 1]) << 8);
    out += table[v >> 18], out += table[(v >> 12) & 63], out += table[(v >> 6) & 63], out += '=';
  }
  return out;
}

namespace {
void append_bytes(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<uint8_t>*>(context);
  const auto* p = static_cast<const uint8_t*>(data);
  out->insert(out->end(), p, p + size);
}
}  // namespace

std::vector<uint8_t> encode_png(int width, int height, int channels, const uint8_t* data) {
  GANOMALY_CHECK(width > 0 && height > 0 && (channels == 1 || channels == 3 || channels == 4),
                 "encode_png: bad image ", width, "x", height, "x", channels);
  std::vector<uint8_t> out;
  GANOMALY_CHECK(stbi_write_png_to_func(append_bytes, &out, width, height, channels, data, width * channels) != 0,
                 "encode_png: the PNG encoder failed");
  return out;
}

Image tensor_image(const Tensor& images, int64_t index, const std::string& normalization) {
  const int64_t c = images.size(1), h = images.size(2), w = images.size(3);
  GANOMALY_CHECK(index >= 0 && index < images.size(0), "tensor_image: index ", index, " out of range");
  GANOMALY_CHECK(normalization == "tanh" || normalization == "imagenet", "tensor_image: unknown normalization '",
                 normalization, "'");
  const ChannelStatistics imagenet = imagenet_statistics(static_cast<int>(c));
  const float* mean = imagenet.mean;
  const float* stdev = imagenet.stddev;
  Image out;
  out.width = static_cast<int>(w), out.height = static_cast<int>(h), out.channels = static_cast<int>(c);
  out.pixels.resize(h * w * c);
  const float* src = images.data() + index * c * h * w;
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) {
        const float v = src[(ch * h + y) * w + x];
        const float u = normalization == "tanh" ? (v + 1.0f) * 0.5f : v * stdev[ch] + mean[ch];
        out.pixels[(y * w + x) * c + ch] = std::clamp(std::isfinite(u) ? u : 0.0f, 0.0f, 1.0f);
      }
  return out;
}

namespace {

std::string fixed(double v, int digits = 4) {
  if (!std::isfinite(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string short_number(double v) {
  if (!std::isfinite(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

std::string html(const std::string& s) { return svg::escape(s); }

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  GANOMALY_CHECK(in, path, ": cannot read");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Image to_rgb(const Image& im) {
  if (im.channels == 3) return im;
  Image out;
  out.width = im.width, out.height = im.height, out.channels = 3;
  out.pixels.resize(size_t(im.width) * im.height * 3);
  for (size_t i = 0; i < size_t(im.width) * im.height; ++i)
    for (int c = 0; c < 3; ++c) out.pixels[i * 3 + c] = im.pixels[i * im.channels];
  return out;
}

// |a - b| averaged over channels: one channel.
Image difference(const Image& a, const Image& b) {
  Image d;
  d.width = a.width, d.height = a.height, d.channels = 1;
  d.pixels.resize(size_t(a.width) * a.height);
  for (size_t i = 0; i < d.pixels.size(); ++i) {
    float s = 0;
    for (int c = 0; c < a.channels; ++c) s += std::fabs(a.pixels[i * a.channels + c] - b.pixels[i * b.channels + c]);
    d.pixels[i] = s / a.channels;
  }
  return d;
}

float max_of(const Image& im) {
  float m = 0;
  for (float v : im.pixels) m = std::max(m, v);
  return m;
}

// A one-channel map scaled by 1/scale into an inferno-like colour map, RGB.
Image heat_map(const Image& map, float scale) {
  static const float stops[5][3] = {{0, 0, 4}, {87, 16, 110}, {188, 55, 84}, {249, 142, 9}, {252, 255, 164}};
  Image out;
  out.width = map.width, out.height = map.height, out.channels = 3;
  out.pixels.resize(size_t(map.width) * map.height * 3);
  const float inv = scale > 1e-12f ? 1.0f / scale : 0.0f;
  for (size_t i = 0; i < map.pixels.size(); ++i) {
    const float t = std::clamp(map.pixels[i] * inv, 0.0f, 1.0f) * 4.0f;
    const int k = std::min(3, static_cast<int>(t));
    const float f = t - k;
    for (int c = 0; c < 3; ++c) out.pixels[i * 3 + c] = (stops[k][c] + (stops[k + 1][c] - stops[k][c]) * f) / 255.0f;
  }
  return out;
}

// Nearest-neighbour upscaling by an integer factor (crisp pixels for small images), else
// the antialiased resize.
Image fit(const Image& im, int side) {
  if (im.width == side && im.height == side) return im;
  if (side % im.width == 0 && side % im.height == 0 && side >= im.width) {
    Image out;
    out.width = side, out.height = side, out.channels = im.channels;
    out.pixels.resize(size_t(side) * side * im.channels);
    const int fx = side / im.width, fy = side / im.height;
    for (int y = 0; y < side; ++y)
      for (int x = 0; x < side; ++x)
        for (int c = 0; c < im.channels; ++c) out.at(x, y, c) = im.at(x / fx, y / fy, c);
    return out;
  }
  return resize_image(im, side, side);
}

std::string png_data_uri(const Image& im) {
  const std::vector<uint8_t> bytes = to_bytes(im);
  return "data:image/png;base64," + base64_encode(encode_png(im.width, im.height, im.channels, bytes.data()));
}

std::string inline_svg(std::string s) {
  const std::string ns = " xmlns=\"http://www.w3.org/2000/svg\"";
  for (size_t at; (at = s.find(ns)) != std::string::npos;) s.erase(at, ns.size());
  return s;
}

void write_binary(const std::string& path, const std::vector<uint8_t>& bytes) {
  write_text_file(path, std::string(bytes.begin(), bytes.end()));
}

// ---------------------------------------------------------------------------------------
// Plots.

std::vector<nlohmann::json> read_train_log(const std::string& path) {
  std::vector<nlohmann::json> rows;
  if (path.empty() || !fs::exists(path)) return rows;
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

double number_or_nan(const nlohmann::json& j, const std::string& key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : std::nan("");
}

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
  for (const std::string& name : selectable_score_names()) {
    auto it = auroc.find(name);
    if (it == auroc.end()) continue;
    it->second.name = name;
    it->second.color = svg::palette(k++);
    it->second.dashed = name == "fused";
    series.push_back(it->second);
  }
  const std::string p3 = svg::line_plot(series, o);
  return svg::stack_vertical({p1, p2, p3}, {height, height, height}, width);
}

// ---------------------------------------------------------------------------------------
// Per-image pictures: thumbnails for every test image, the grid for a few per class.

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
                       const ReportOptions& opt) {
  Pictures p;
  const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  const int size = static_cast<int>(std::max(h, w));
  const std::string& norm = model.recipe.normalization;
  // Stored at most at the image's own size (smaller files), shown at thumbnail_size.
  const int thumb = std::min(std::clamp(opt.thumbnail_size, 8, 2 * size), size);
  p.tile = size < 96 ? size * ((96 + size - 1) / size) : std::min(size, 160);

  // Which images go into the grid: good first, then defects by name, up to per_class each.
  std::map<std::string, std::vector<int64_t>> by_class;
  for (int64_t i = 0; i < n; ++i) by_class[samples.at(i).defect].push_back(i);
  std::vector<std::string> classes;
  if (by_class.count("good")) classes.push_back("good");
  for (const auto& [name, idx] : by_class)
    if (name != "good") classes.push_back(name);
  std::map<int64_t, std::pair<int, int>> grid_slot;  // image -> (row, column)
  for (size_t r = 0; r < classes.size(); ++r) {
    const auto& idx = by_class[classes[r]];
    const int count = std::min<int>(std::max(1, opt.per_class), static_cast<int>(idx.size()));
    p.rows.push_back({classes[r], 0, count});
    for (int k = 0; k < count; ++k) grid_slot[idx[k]] = {static_cast<int>(r), k};
  }

  std::vector<Image> heat_small(n);
  std::map<int64_t, std::array<Image, 3>> grid_images;  // input, reconstruction, difference
  const int64_t per = c * h * w, batch = 16;
  for (int64_t b0 = 0; b0 < n; b0 += batch) {
    const int64_t b = std::min(batch, n - b0);
    Tensor x = Tensor::empty(Shape{b, c, h, w});
    std::copy(images.data() + b0 * per, images.data() + (b0 + b) * per, x.data());
    const Tensor fake_full = model.reconstruct(x);
    // The network may pad to a power of two: crop back to the image, as Ganomaly::score does.
    const int64_t s = fake_full.size(2), top = (s - h + 1) / 2, left = (s - w + 1) / 2;
    Tensor fake = Tensor::empty(Shape{b, c, h, w});
    for (int64_t i = 0; i < b; ++i)
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t y = 0; y < h; ++y)
          std::copy(fake_full.data() + ((i * c + ch) * s + y + top) * s + left,
                    fake_full.data() + ((i * c + ch) * s + y + top) * s + left + w,
                    fake.data() + ((i * c + ch) * h + y) * w);
    for (int64_t i = 0; i < b; ++i) {
      const Image in = tensor_image(x, i, norm), rec = tensor_image(fake, i, norm);
      const Image diff = difference(in, rec);
      p.thumbnail.push_back(png_data_uri(resize_image(in, thumb, thumb)));
      heat_small[b0 + i] = resize_image(diff, thumb, thumb);
      p.thumb_scale = std::max(p.thumb_scale, max_of(heat_small[b0 + i]));
      if (grid_slot.count(b0 + i)) {
        p.grid_scale = std::max(p.grid_scale, max_of(diff));
        grid_images[b0 + i] = {in, rec, diff};
      }
    }
  }
  for (int64_t i = 0; i < n; ++i) p.heat_thumbnail.push_back(png_data_uri(heat_map(heat_small[i], p.thumb_scale)));

  // The grid: one row per class; per image three tiles (input, reconstruction, heat map).
  const int gap = 2, group_gap = 14, row_gap = 10, margin = 6, per_class = std::max(1, opt.per_class);
  int columns = 1;
  for (const auto& r : p.rows) columns = std::max(columns, r.count);
  columns = std::min(columns, per_class);
  const int group_w = 3 * p.tile + 2 * gap;
  p.grid.width = 2 * margin + columns * group_w + (columns - 1) * group_gap;
  p.grid.height = std::max<int>(1, 2 * margin + static_cast<int>(p.rows.size()) * (p.tile + row_gap) - row_gap);
  p.grid.channels = 3;
  p.grid.pixels.assign(size_t(p.grid.width) * p.grid.height * 3, 1.0f);
  for (size_t r = 0; r < p.rows.size(); ++r) p.rows[r].y = margin + static_cast<int>(r) * (p.tile + row_gap);
  for (auto& [index, tiles] : grid_images) {
    const auto [row, col] = grid_slot[index];
    const Image parts[3] = {fit(to_rgb(tiles[0]), p.tile), fit(to_rgb(tiles[1]), p.tile),
                            fit(heat_map(tiles[2], p.grid_scale), p.tile)};
    for (int k = 0; k < 3; ++k) {
      const int x0 = margin + col * (group_w + group_gap) + k * (p.tile + gap), y0 = p.rows[row].y;
      for (int y = 0; y < p.tile; ++y)
        for (int x = 0; x < p.tile; ++x)
          for (int ch = 0; ch < 3; ++ch) p.grid.at(x0 + x, y0 + y, ch) = parts[k].at(x, y, ch);
    }
  }
  return p;
}

// ---------------------------------------------------------------------------------------
// The HTML page.

const char* kStyle = R"(body{font-family:sans-serif;color:#222;margin:24px auto;max-width:1180px;padding:0 16px;line-height:1.4}
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
const char* kScript = R"(<script>
(function(){function check(){var imgs=document.images,ok=0;for(var i=0;imgs.length>i;i++){if(imgs[i].complete&&imgs[i].naturalWidth>0){ok++;}}
document.body.setAttribute('data-images-loaded',ok+'/'+imgs.length);document.body.setAttribute('data-images',ok===imgs.length?'ok':'missing');}
if(document.readyState==='complete'){check();}else{window.addEventListener('load',check);}})();
</script>
)";

std::string json_cell(const nlohmann::json& v) {
  if (v.is_string()) return html(v.get<std::string>());
  if (v.is_number_float()) return html(short_number(v.get<double>()));
  return html(v.dump());
}

// Figures that the metrics table shows already (summary.json mixes them with the settings).
bool is_figure(const std::string& key) {
  if (key == "image_size") return false;
  return key.rfind("image_", 0) == 0 || key.rfind("pixel_", 0) == 0 || key == "images" || key == "anomalous_images";
}

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
  s += "<tr><td>image AUROC (" + html(e.score) + ")</td><td class=\"num\">" + fixed(e.image_auroc) +
       "</td><td>ranking quality of the chosen score; no threshold involved</td></tr>\n";
  s += "<tr><td>image AUPR</td><td class=\"num\">" + fixed(e.aupr) +
       "</td><td>average precision of the chosen score</td></tr>\n";
  s += "<tr><td><b>F1, honest</b></td><td class=\"num\"><b>" + fixed(e.f1.f1) + "</b></td><td>at the threshold " +
       short_number(cal.threshold) + " chosen on " +
       (oracle_threshold ? std::string("the test set (so not honest here)")
                         : std::string("held-out training normals + pseudo-anomalies, without the test labels")) +
       "; precision " + fixed(e.f1.precision, 3) + ", recall " + fixed(e.f1.recall, 3) + "</td></tr>\n";
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
  s += "</table>\n";
  if (!e.auroc_by_score.empty()) {
    s += "<table>\n<tr><th>score</th><th>test image AUROC</th></tr>\n";
    for (const std::string& name : selectable_score_names()) {
      auto it = e.auroc_by_score.find(name);
      if (it == e.auroc_by_score.end()) continue;
      s += "<tr><td>" + html(name) + (name == e.score ? " (chosen)" : "") + "</td><td class=\"num\">" +
           fixed(it->second) + "</td></tr>\n";
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
  const std::vector<float>& chosen = e.scores.get(cal.score);
  std::vector<size_t> order(chosen.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return chosen[a] > chosen[b]; });
  const std::string t = std::to_string(thumb);
  std::string s = "<table>\n<tr><th>#</th><th>image</th><th>|difference|</th><th>file</th><th>class</th>"
                  "<th>score (" + html(cal.score) + ")</th><th>normalised</th><th>verdict</th><th>correct</th></tr>\n";
  bool threshold_row = false;
  for (size_t r = 0; r < order.size(); ++r) {
    const size_t i = order[r];
    const bool flagged = chosen[i] >= cal.threshold;
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
         short_number(chosen[i]) + "</td><td class=\"num\">" + fixed(cal.normalizer.apply(chosen[i]), 3) +
         "</td><td class=\"" + (flagged ? "anomalous" : "normal") + "\">" + (flagged ? "anomalous" : "normal") +
         "</td><td>" + (correct ? "yes" : "<b>no</b>") + "</td></tr>\n";
  }
  if (!threshold_row)
    s += "<tr class=\"threshold\"><td colspan=\"9\">threshold " + short_number(cal.threshold) +
         ": every image is at or above it</td></tr>\n";
  return s + "</table>\n";
}

}  // namespace

// ---------------------------------------------------------------------------------------

void write_report(const std::string& out_dir, const ReportInputs& in, const ReportOptions& opt) {
  const fs::path out(out_dir), plots = out / "plots";
  std::error_code ec;
  fs::create_directories(plots, ec);
  GANOMALY_CHECK(!ec, plots.string(), ": cannot create the report folder: ", ec.message());

  const std::vector<nlohmann::json> log = read_train_log(in.train_log);
  std::string curves;
  if (!log.empty()) {
    curves = training_curves_svg(log);
    write_text_file((plots / "training_curves.svg").string(), curves);
  }

  const bool have_test = in.evaluation && in.calibration && in.samples && in.images && in.model &&
                         !in.samples->empty() && in.images->defined() && in.images->size(0) > 0;
  std::string roc, histogram;
  Pictures pics;
  std::vector<uint8_t> grid_png;
  if (have_test) {
    const Evaluation& e = *in.evaluation;
    const Calibration& cal = *in.calibration;
    GANOMALY_CHECK(in.samples->size() == static_cast<size_t>(in.images->size(0)) && e.labels.size() == in.samples->size(),
                   "write_report: ", in.samples->size(), " samples, ", in.images->size(0), " images and ",
                   e.labels.size(), " labels do not match");
    const std::vector<float>& chosen = e.scores.get(cal.score);
    const bool both = std::count(e.labels.begin(), e.labels.end(), 1) > 0 &&
                      std::count(e.labels.begin(), e.labels.end(), 0) > 0;
    if (both) {
      const RocCurve rc = roc_curve(chosen, e.labels);
      svg::PlotOptions o;
      o.width = 460, o.height = 420;
      o.title = "ROC, " + e.score + " score: AUROC " + fixed(e.image_auroc);
      roc = svg::roc_plot(rc.fpr, rc.tpr, o);
      write_text_file((plots / "roc.svg").string(), roc);
    }
    std::vector<double> normal, anomalous;
    for (size_t i = 0; i < chosen.size(); ++i) (e.labels[i] ? anomalous : normal).push_back(chosen[i]);
    svg::PlotOptions o;
    o.width = 700, o.height = 360;
    o.title = "Test scores (" + e.score + ")";
    o.x_label = e.score + " score";
    o.y_label = "images";
    histogram = svg::histogram_pair(normal, "normal (" + std::to_string(normal.size()) + ")", anomalous,
                                    "anomalous (" + std::to_string(anomalous.size()) + ")", cal.threshold,
                                    "threshold " + short_number(cal.threshold), o,
                                    std::clamp(static_cast<int>(std::sqrt(double(chosen.size())) * 2), 8, 40));
    write_text_file((plots / "score_histogram.svg").string(), histogram);
    pics = make_pictures(*in.model, *in.images, *in.samples, opt);
    const std::vector<uint8_t> grid_bytes = to_bytes(pics.grid);
    grid_png = encode_png(pics.grid.width, pics.grid.height, 3, grid_bytes.data());
    write_binary((plots / "reconstructions.png").string(), grid_png);
  }

  // report.html
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

  h += "<h2 id=\"metrics\">Metrics on the test set</h2>\n";
  if (have_test) {
    h += metrics_section(*in.evaluation, *in.calibration);
  } else {
    h += "<p class=\"note\">No test images were scored, so there are no test metrics.</p>\n";
  }

  h += "<h2 id=\"plots\">Plots</h2>\n";
  if (!curves.empty())
    h += "<h3>Training</h3>\n<div class=\"plot\">" + inline_svg(curves) +
         "</div>\n<p class=\"note\">Per epoch, the mean over its steps. The model kept is the one of the best "
         "validation epoch (marked).</p>\n";
  else
    h += "<p class=\"note\">No training log (train_log.jsonl) was found, so there are no training curves.</p>\n";
  if (!roc.empty()) h += "<h3>ROC</h3>\n<div class=\"plot\">" + inline_svg(roc) + "</div>\n";
  if (!histogram.empty())
    h += "<h3>Score distribution</h3>\n<div class=\"plot\">" + inline_svg(histogram) +
         "</div>\n<p class=\"note\">The dashed line is the decision threshold (chosen on " +
         html(in.calibration->chosen_on == "test" ? "the test set: an oracle" : "held-out validation data") +
         "); an image at or above it is called anomalous.</p>\n";

  h += "<h2 id=\"reconstructions\">Reconstructions</h2>\n";
  if (have_test) {
    const int label_w = 150;
    h += "<p class=\"note\">One row per class, up to " + std::to_string(std::max(1, opt.per_class)) +
         " test images each; every image as three tiles: input | reconstruction | |difference| heat map "
         "(black: none, yellow-white: the largest difference in the grid, " +
         fixed(pics.grid_scale, 3) + " in [0, 1] pixel units).</p>\n";
    h += "<div class=\"grid\" style=\"height:" + std::to_string(pics.grid.height) + "px;width:100%\">\n";
    for (const auto& r : pics.rows)
      h += "<span style=\"top:" + std::to_string(r.y + pics.tile / 2 - 8) + "px\">" + html(r.name) + "</span>\n";
    h += "<img style=\"position:absolute;left:" + std::to_string(label_w) + "px;top:0\" width=\"" +
         std::to_string(pics.grid.width) + "\" height=\"" + std::to_string(pics.grid.height) +
         "\" alt=\"reconstruction grid\" src=\"data:image/png;base64," +
         base64_encode(grid_png) + "\"/>\n</div>\n";
  } else {
    h += "<p class=\"note\">No test images.</p>\n";
  }

  h += "<h2 id=\"settings\">Settings</h2>\n" + settings_table(in.settings, /*skip_figures=*/true);
  if (in.metrics.is_object() && !in.metrics.empty())
    h += "<h3>All figures of this evaluation</h3>\n" + settings_table(in.metrics, false);

  h += "<h2 id=\"images\">Per-image scores</h2>\n";
  if (have_test) {
    const int thumb = std::clamp(opt.thumbnail_size, 8, 2 * static_cast<int>(in.images->size(2)));
    h += "<p class=\"note\">Sorted by the " + html(in.calibration->score) +
         " score, most anomalous first. The difference thumbnails share one colour scale. Rows with a wrong "
         "verdict are shaded.</p>\n" +
         scores_table(*in.evaluation, *in.calibration, *in.samples, pics, thumb);
  } else {
    h += "<p class=\"note\">No test images.</p>\n";
  }
  h += "<p class=\"note\">Written by ganomaly.cpp " GANOMALY_VERSION ".</p>\n";
  h += kScript;
  h += "</body>\n</html>\n";
  write_text_file((out / "report.html").string(), h);
}

void write_report(const std::string& out_dir, const ReportOptions& opt) {
  const fs::path out(out_dir);
  ReportInputs in;
  in.title = "GANomaly training report";
  in.settings = nlohmann::json::parse(read_text((out / "summary.json").string()));
  in.train_log = (out / "train_log.jsonl").string();
  const fs::path model_path = out / "model.gnm";
  if (!fs::exists(model_path)) {
    write_report(out_dir, in, opt);
    return;
  }
  LoadedModel loaded = load_model(model_path.string());
  if (loaded.config.contains("model")) in.settings["model"] = loaded.config["model"];
  if (loaded.config.contains("info"))
    for (const char* k : {"batch_size", "learning_rate", "ema_decay", "format"})
      if (loaded.config["info"].contains(k) && !in.settings.contains(k)) in.settings[k] = loaded.config["info"][k];

  Dataset data;
  Tensor images;
  Evaluation evaluation;
  const std::string root = in.settings.value("data", std::string());
  std::string format = "auto";
  if (loaded.config.contains("info") && loaded.config["info"].contains("format"))
    format = loaded.config["info"]["format"].get<std::string>();
  try {
    if (!root.empty()) data = discover_dataset(root, format);
  } catch (const std::exception& e) {
    in.settings["report_note"] = std::string("test set not available: ") + e.what();
  }
  if (!data.test.empty()) {
    Ganomaly& model = *loaded.model;
    images = load_images(data.test, model.config.image_size, model.config.channels, model.recipe.normalization);
    const auto masks = load_masks(data.test, model.config.image_size);
    evaluation = evaluate(model, loaded.calibration, images, labels_of(data.test), &masks);
    // The floors training measured against its own training split (null: one class).
    if (in.settings.contains("floor_image_auroc"))
      for (const auto& [name, a] : in.settings["floor_image_auroc"].items())
        evaluation.floor_auroc[name] = a.is_number() ? a.get<double>() : std::nan("");
    in.model = &model;
    in.calibration = &loaded.calibration;
    in.samples = &data.test;
    in.images = &images;
    in.evaluation = &evaluation;
  }
  write_report(out_dir, in, opt);
}

}  // namespace gan
