#include "ganomaly/data/synth.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ganomaly/data/synth_internal.h"
#include "ganomaly/io/atomic_file.h"
#include "tensor/check.h"

namespace gan {
namespace fs = std::filesystem;

namespace {

using namespace synth;

// The bottle's geometry, in units of the image side.
constexpr double kMouth = 0.17, kBody = 0.40;

Scene make_scene(const std::string& kind, int size, Rng& rng, uint64_t key) {
  Scene s;
  s.kind = kind;
  s.size = size;
  s.key = key;
  s.cx = 0.5 + 0.006 * rng.normal();
  s.cy = 0.5 + 0.006 * rng.normal();
  s.zoom = 1 + 0.006 * rng.normal();
  s.angle = 0.002 * rng.normal();
  s.period = 0.045 * (1 + 0.002 * rng.normal());
  // Small shifts only: a camera over a conveyor sees the weave nearly in register.
  s.phase_u = 0.01 * rng.normal();
  s.phase_v = 0.01 * rng.normal();
  s.gain = 1 + 0.015 * rng.normal();
  s.light_angle = 0.8 + 0.25 * rng.normal();  // a lamp that sits roughly still
  s.light = 0.06 + 0.02 * rng.uniform();
  s.noise = 0.02 * (1 + 0.05 * rng.normal());
  const double jitter = 0.01;
  Rgb base = kind == "bottle"   ? Rgb{1.0, 0.82, 0.52}
             : kind == "fabric" ? Rgb{0.55, 0.64, 0.85}
             : kind == "wood"   ? Rgb{0.86, 0.64, 0.42}
                                : Rgb{1.0, 1.0, 1.0};  // part and grey colour their own pieces
  s.tint = {base.r * (1 + jitter * rng.normal()), base.g * (1 + jitter * rng.normal()),
            base.b * (1 + jitter * rng.normal())};
  return s;
}

Rgb table(const Scene& s, double u, double v) {  // what is behind the bottle
  double vignette = (u - 0.5) * (u - 0.5) + (v - 0.5) * (v - 0.5);
  double t = 0.80 + 0.05 * (fbm(u * 4, v * 4, s.key ^ 7) - 0.5) - 0.25 * vignette;
  return {t, t, t * 0.97};
}

Rgb bottle(const Scene& s, double u, double v) {
  double dx = (u - s.cx) / s.zoom, dy = (v - s.cy) / s.zoom, r = std::hypot(dx, dy);
  double theta = std::atan2(dy, dx);
  double t = (r - kMouth) / (kBody - kMouth);
  double g = 0.20 + 0.10 * t + 0.30 * std::exp(-std::pow((r - 0.30) / 0.02, 2)) +
             0.15 * std::exp(-std::pow((r - 0.385) / 0.01, 2)) + 0.04 * (fbm(u * 16, v * 16, s.key) - 0.5);
  g *= 1 + 1.5 * s.light * std::cos(theta - s.light_angle);
  Rgb glass = scale(s.tint, g);
  Rgb mouth = scale(s.tint, 0.05 + 0.05 * r / kMouth);
  Rgb out = lerp(table(s, u, v), glass, coverage(r - kBody, s.size));
  return lerp(out, mouth, coverage(r - kMouth, s.size));
}

Rgb fabric(const Scene& s, double u, double v) {
  double ca = std::cos(s.angle), sa = std::sin(s.angle);
  double x = (u - 0.5) * ca - (v - 0.5) * sa, y = (u - 0.5) * sa + (v - 0.5) * ca;
  double a = x / s.period + s.phase_u * 3, b = y / s.period + s.phase_v * 3;
  double warp = 0.5 + 0.5 * std::cos(2 * kPi * a), weft = 0.5 + 0.5 * std::cos(2 * kPi * b);
  bool warp_on_top = (int64_t(std::floor(a)) + int64_t(std::floor(b))) % 2 == 0;  // plain weave
  double top = warp_on_top ? warp : weft, under = warp_on_top ? weft : warp;
  double value = 0.30 + 0.40 * top + 0.10 * under + 0.05 * (fbm(u * 6, v * 6, s.key) - 0.5);
  return scale(s.tint, value);
}

Rgb wood(const Scene& s, double u, double v) {
  double ca = std::cos(s.angle), sa = std::sin(s.angle);
  double x = (u - 0.5) * ca - (v - 0.5) * sa, y = (u - 0.5) * sa + (v - 0.5) * ca;
  double t = y * 9 + s.phase_v * 9 + 1.2 * fbm(x * 1.5 + s.phase_u * 10, y * 3, s.key);
  double ring = std::pow(t - std::floor(t), 3);  // sharp dark late-wood at the end of each ring
  double streak = fbm(x * 40, y * 3, s.key ^ 99, 2) - 0.5;
  double value = 0.78 - 0.28 * ring + 0.08 * streak;
  return scale(s.tint, value);
}

Rgb base_pixel(const Scene& s, double u, double v) {
  if (s.kind == "bottle") return bottle(s, u, v);
  if (s.kind == "fabric") return fabric(s, u, v);
  return wood(s, u, v);
}

// What shows through a missing part: the table under a broken bottle, the dark backing
// behind a hole in a texture.
Rgb missing_pixel(const Scene& s, double u, double v) {
  if (s.kind == "bottle") return table(s, u, v);
  double t = 0.08 + 0.04 * fbm(u * 20, v * 20, s.key ^ 5);
  return {t, t, t};
}

// A defect: its shape as a signed-distance-like function and how it changes a pixel.
// Strengths are tuned so that nearest-neighbour L1 scores reach an image AUROC of
// about 0.7-0.85: visible, but not standing out above the normal variation.
struct Defect {
  std::string name;
  std::vector<double> points;  // polyline x0,y0,x1,y1,... (scratch, crack)
  double half_width = 0, cx = 0, cy = 0, radius = 0;  // blob / missing disc
  uint64_t key = 0;
  double strength = 0;
};

Defect make_defect(const std::string& name, const Scene& s, Rng& rng) {
  Defect d;
  d.name = name;
  d.key = mix(s.key ^ 0xD1B54A32D192ED03ull);
  const double px = 1.0 / s.size;
  // Where: on the glass of a bottle (or its rim, for a missing part), anywhere inside
  // the margins of a texture.
  double x, y;
  if (s.kind == "bottle") {
    double theta = rng.uniform(0, 2 * kPi);
    double r = name == "missing" ? kBody - 0.01 : rng.uniform(kMouth + 0.05, kBody - 0.05);
    x = s.cx + s.zoom * r * std::cos(theta);
    y = s.cy + s.zoom * r * std::sin(theta);
  } else {
    x = rng.uniform(0.15, 0.85);
    y = rng.uniform(0.15, 0.85);
  }
  d.cx = x;
  d.cy = y;
  if (name == "scratch") {
    double phi = rng.uniform(0, 2 * kPi), len = rng.uniform(0.15, 0.28);
    d.points = {x - 0.5 * len * std::cos(phi), y - 0.5 * len * std::sin(phi), x + 0.5 * len * std::cos(phi),
                y + 0.5 * len * std::sin(phi)};
    d.half_width = std::max(0.8 * px, 0.007);
    d.strength = 0.4;
  } else if (name == "crack") {
    double phi = rng.uniform(0, 2 * kPi);
    d.points = {x, y};
    for (int i = 0; i < 10; ++i) {  // a jagged random walk
      phi += 0.6 * rng.normal();
      x += 0.022 * std::cos(phi);
      y += 0.022 * std::sin(phi);
      d.points.push_back(x);
      d.points.push_back(y);
    }
    d.half_width = std::max(0.8 * px, 0.007);
    d.strength = 0.6;
  } else if (name == "contamination") {
    d.radius = rng.uniform(0.04, 0.06);
    d.strength = 0.7;
  } else {  // missing
    d.radius = rng.uniform(0.04, 0.06);
    d.strength = 1.0;
  }
  // The weave's own high contrast hides thin defects: make them wider. (They were also
  // 1.6x stronger once; then L1 to the nearest training image scored 0.87: too easy.)
  if (s.kind == "fabric") {
    d.radius *= 1.3;
    d.half_width *= 1.3;
  }
  return d;
}

// Signed distance to the defect's shape (negative inside), in image units.
double defect_distance(const Defect& d, double u, double v) {
  if (!d.points.empty()) {
    double best = 1e9;
    for (size_t i = 0; i + 3 < d.points.size(); i += 2)
      best = std::min(best, segment_distance(u, v, d.points[i], d.points[i + 1], d.points[i + 2], d.points[i + 3]));
    return best - d.half_width;
  }
  double dx = u - d.cx, dy = v - d.cy;
  double wobble = d.name == "contamination" ? 1 + 0.35 * (fbm(u * 60, v * 60, d.key) - 0.5) : 1.0;
  return std::hypot(dx, dy) - d.radius * wobble;
}

Rgb apply_defect(const Defect& d, const Scene& s, double u, double v, const Rgb& p, double alpha) {
  double a = alpha * d.strength;
  if (d.name == "scratch") return {p.r + a, p.g + a, p.b + a};  // scratches catch the light
  // Cracks in glass refract light and look bright; in a texture they open up dark.
  if (d.name == "crack") return s.kind == "bottle" ? Rgb{p.r + a, p.g + a, p.b + a} : scale(p, 1 - a);
  if (d.name == "contamination") {  // dust on glass, a dark stain on a texture
    Rgb dirt = s.kind == "bottle" ? Rgb{0.60, 0.55, 0.45} : Rgb{0.20, 0.15, 0.10};
    return lerp(p, dirt, a);
  }
  // Missing: what was behind the part shows through (the render loop keeps it on the glass).
  return lerp(p, missing_pixel(s, u, v), a);
}

}  // namespace

const std::vector<std::string>& synth_kinds() {
  static const std::vector<std::string> kinds = {"bottle", "fabric", "wood", "part", "grey", "aligned"};
  return kinds;
}

const std::vector<std::string>& synth_defects(const std::string& kind) {
  static const std::vector<std::string> defects = {"scratch", "contamination", "crack", "missing"};
  if (kind == "part") return part_defects();
  if (kind == "grey") return grey_defects();
  if (kind == "aligned") return aligned_defects();
  return defects;
}

std::string resolve_synth_kind(const std::string& category, const std::string& kind) {
  const auto& kinds = synth_kinds();
  if (kind != "auto") {
    GANOMALY_CHECK(std::count(kinds.begin(), kinds.end(), kind), "synth: unknown kind '", kind,
                   "' (expected auto, bottle, fabric, wood, part, grey or aligned)");
    return kind;
  }
  if (std::count(kinds.begin(), kinds.end(), category)) return category;
  return kinds[fnv1a(category) % 3];  // the first three only: names keep the kind they always had
}

SynthSample render_synthetic(const std::string& kind, int size, uint64_t seed, int index,
                             const std::string& defect) {
  GANOMALY_CHECK(size >= 16 && size <= 4096, "synth: size must be in [16, 4096], got ", size);
  const auto& kinds = synth_kinds();
  GANOMALY_CHECK(std::count(kinds.begin(), kinds.end(), kind), "synth: unknown kind '", kind, "'");
  const auto& defects = synth_defects(kind);
  GANOMALY_CHECK(defect == "good" || std::count(defects.begin(), defects.end(), defect), "synth: unknown defect '",
                 defect, "' for kind ", kind);
  // One stream per (seed, kind, index): images do not depend on each other or on order.
  const uint64_t key = mix(mix(seed ^ fnv1a(kind)) ^ uint64_t(index));
  Rng rng(key);
  Scene scene = make_scene(kind, size, rng, mix(key + 1));
  if (kind == "aligned") fix_pose(scene);
  const bool anomalous = defect != "good";
  std::unique_ptr<Drawing> drawing;  // part, grey and aligned draw themselves, defect included
  if (kind == "part") drawing = make_part(scene, defect, rng);
  if (kind == "grey") drawing = make_grey(scene, defect, rng);
  if (kind == "aligned") drawing = make_aligned(scene, defect, rng);
  Defect d;
  if (anomalous && !drawing) d = make_defect(defect, scene, rng);
  const int channels = kind == "grey" ? 1 : 3;

  SynthSample out;
  out.defect = defect;
  out.image.width = out.image.height = size;
  out.image.channels = channels;
  out.image.pixels.resize(size_t(size) * size * channels);
  out.mask.assign(size_t(size) * size, 0);
  Rng noise(mix(key + 2));
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      const double u = (x + 0.5) / size, v = (y + 0.5) / size;
      Rgb p;
      if (drawing) {
        double alpha = 0;
        p = drawing->pixel(u, v, &alpha);
        out.mask[size_t(y) * size + x] = alpha >= 0.3 ? 1 : 0;
      } else {
        p = base_pixel(scene, u, v);
      }
      if (anomalous && !drawing) {
        double alpha = coverage(defect_distance(d, u, v), size);
        if (scene.kind == "bottle") {  // defects live on the glass, not on the table or in the mouth
          double r = std::hypot(u - scene.cx, v - scene.cy) / scene.zoom;
          alpha *= coverage(r - kBody, size) * (1 - coverage(r - kMouth, size));
        }
        if (alpha > 0) p = apply_defect(d, scene, u, v, p, alpha);
        out.mask[size_t(y) * size + x] = alpha >= 0.3 ? 1 : 0;
      }
      // Lighting: a global gain and a gentle gradient, then sensor noise.
      double light = scene.gain * (1 + 0.5 * scene.light * ((u - 0.5) * std::cos(scene.light_angle) +
                                                            (v - 0.5) * std::sin(scene.light_angle)));
      float* dst = &out.image.pixels[(size_t(y) * size + x) * channels];
      if (channels == 1) {  // grey: one value, the same noise as a grey camera's
        dst[0] = float(clamp01(p.r * light + scene.noise * noise.normal()));
        continue;
      }
      dst[0] = float(clamp01(p.r * light + scene.noise * noise.normal()));
      dst[1] = float(clamp01(p.g * light + scene.noise * noise.normal()));
      dst[2] = float(clamp01(p.b * light + scene.noise * noise.normal()));
    }
  return out;
}

namespace {

std::string padded(int i, int width) {
  std::ostringstream s;
  s.width(width);
  s.fill('0');
  s << i;
  return s.str();
}

// Keeps the rows of other objects when several categories share one VisA root.
void write_visa_csv(const fs::path& visa_root, const std::string& category, const std::vector<std::string>& rows) {
  const fs::path csv = visa_root / "split_csv" / "1cls.csv";
  std::vector<std::string> kept;
  if (fs::exists(csv)) {
    std::ifstream in(csv);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line))
      if (!line.empty() && line.rfind(category + ",", 0) != 0) kept.push_back(line);
  }
  fs::create_directories(csv.parent_path());
  std::string text = "object,split,label,image,mask\n";
  for (const auto& row : kept) text += row + "\n";
  for (const auto& row : rows) text += row + "\n";
  try {
    write_file_atomically(csv.string(), text);
  } catch (const FileWriteError&) {
    throw Error(str("synth: cannot write ", csv.string()));
  }
}

void check_options(const SynthOptions& o) {
  const std::string layouts[] = {"mvtec", "btad", "visa", "visa_converted", "folder"};
  GANOMALY_CHECK(std::count(std::begin(layouts), std::end(layouts), o.layout), "synth: unknown layout '", o.layout,
                 "' (expected mvtec, btad, visa, visa_converted or folder)");
  GANOMALY_CHECK(!o.category.empty() && o.category.find('/') == std::string::npos && o.category != "." &&
                     o.category != "..",
                 "synth: bad category name '", o.category, "'");
  GANOMALY_CHECK(o.train > 0 && o.test_good >= 0 && o.test_bad >= 0, "synth: need train > 0 and test counts >= 0");
  GANOMALY_CHECK(o.test_lighting >= 0 && o.test_lighting <= 0.5, "synth: test_lighting must be in [0, 0.5]");
}

// One file to write: which image, where, and where its mask goes.
struct Job {
  int index;
  std::string defect, image, mask;
  bool test = true;  // under SynthOptions::test_lighting
};

// Every file of the data set, numbered serially so that numbering is fixed, and the
// rows of VisA's split CSV (empty for the other layouts).
struct Plan {
  std::vector<Job> jobs;
  std::vector<std::string> csv_rows;
};

std::string extension(const std::string& layout) {
  return layout == "visa" ? ".JPG" : layout == "btad" ? ".bmp" : ".png";
}
int digits(const std::string& layout) { return layout == "btad" || layout == "visa" ? 4 : 3; }

// The normal images, train first, then test.
void plan_normals(const SynthOptions& o, const fs::path& root, Plan& plan) {
  const std::string ext = extension(o.layout);
  auto normal_path = [&](bool train) -> fs::path {
    if (o.layout == "mvtec" || o.layout == "visa_converted") return root / (train ? "train" : "test") / "good";
    if (o.layout == "btad") return root / (train ? "train" : "test") / "ok";
    if (o.layout == "folder") return root / (train ? "normal" : "normal_test");
    return root / "Data" / "Images" / "Normal";
  };
  for (int i = 0; i < o.train + o.test_good; ++i) {
    const bool train = i < o.train;
    const int number = o.layout == "visa" ? i : train ? i : i - o.train;  // VisA: one Normal folder
    const std::string name = padded(number, digits(o.layout)) + ext;
    plan.jobs.push_back({int(plan.jobs.size()), "good", (normal_path(train) / name).string(), "", !train});
    if (o.layout == "visa")
      plan.csv_rows.push_back(o.category + "," + (train ? "train" : "test") + ",normal," + o.category +
                              "/Data/Images/Normal/" + name + ",");
  }
}

// The anomalous test images with their masks, the defects in turn.
void plan_anomalies(const SynthOptions& o, const std::string& kind, const fs::path& root, Plan& plan) {
  const std::string ext = extension(o.layout);
  const auto& defects = synth_defects(kind);
  std::vector<int> per_defect(defects.size(), 0);
  for (int i = 0; i < o.test_bad; ++i) {
    const size_t which = size_t(i) % defects.size();
    const std::string defect = defects[which];
    const std::string stem = padded(o.layout == "mvtec" ? per_defect[which]++ : i, digits(o.layout));
    fs::path image, mask;
    if (o.layout == "mvtec") {
      image = root / "test" / defect / (stem + ext);
      mask = root / "ground_truth" / defect / (stem + "_mask.png");
    } else if (o.layout == "visa_converted") {
      image = root / "test" / "bad" / (stem + ext);
      mask = root / "ground_truth" / "bad" / (stem + ".png");
    } else if (o.layout == "btad") {
      image = root / "test" / "ko" / (stem + ext);
      mask = root / "ground_truth" / "ko" / (stem + ".png");
    } else if (o.layout == "folder") {
      image = root / "anomalous" / (stem + ext);
      mask = root / "masks" / (stem + ".png");
    } else {
      image = root / "Data" / "Images" / "Anomaly" / (stem + ext);
      mask = root / "Data" / "Masks" / "Anomaly" / (stem + ".png");
      plan.csv_rows.push_back(o.category + ",test,anomaly," + o.category + "/Data/Images/Anomaly/" + stem + ext +
                              "," + o.category + "/Data/Masks/Anomaly/" + stem + ".png");
    }
    plan.jobs.push_back({int(plan.jobs.size()), defect, image.string(), mask.string()});
  }
}

// Renders and writes every job in parallel; the first error (by job) is thrown after.
void render_jobs(const std::vector<Job>& jobs, const std::string& kind, const SynthOptions& o) {
  for (const auto& job : jobs) {
    fs::create_directories(fs::path(job.image).parent_path());
    if (!job.mask.empty()) fs::create_directories(fs::path(job.mask).parent_path());
  }
  std::vector<std::string> errors(jobs.size());
  const int64_t n = int64_t(jobs.size());
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic)
#endif
  for (int64_t i = 0; i < n; ++i) {
    try {  // no exception may leave an OpenMP region
      const Job& job = jobs[i];
      SynthSample s = render_synthetic(kind, o.size, o.seed, job.index, job.defect);
      if (job.test) change_lighting(s.image, o.test_lighting, o.seed, job.index);
      auto bytes = to_bytes(s.image);
      write_image(job.image, o.size, o.size, s.image.channels, bytes.data());
      if (!job.mask.empty()) {
        for (auto& m : s.mask) m = m ? 255 : 0;
        write_png(job.mask, o.size, o.size, 1, s.mask.data());
      }
    } catch (const std::exception& e) {
      errors[i] = e.what();
    }
  }
  for (const auto& e : errors)
    if (!e.empty()) throw Error(e);
}

}  // namespace

std::string write_synthetic_dataset(const SynthOptions& o) {
  check_options(o);
  const std::string kind = resolve_synth_kind(o.category, o.kind);
  const fs::path root = fs::path(o.out) / o.category;
  if (fs::exists(root)) {
    if (!o.overwrite && !fs::is_empty(root))
      throw FieldError("overwrite", {str("synth: ", root.string(), " already exists; remove it or pass "),
                                     field_ref("overwrite")});
    fs::remove_all(root);
  }
  // Plan every file first (serially, so numbering is fixed), then render in parallel.
  Plan plan;
  plan_normals(o, root, plan);
  plan_anomalies(o, kind, root, plan);
  render_jobs(plan.jobs, kind, o);
  if (o.layout == "visa") write_visa_csv(fs::path(o.out), o.category, plan.csv_rows);
  return root.string();
}

}  // namespace gan
