// The kinds that are more than a texture with a blemish: "part" (an aligned component
// on an inspection line, whose defects move or remove parts of it) and "grey" (a woven
// wire mesh in grey). See synth.h for what every kind shares.
#include "ganomaly/data/synth_internal.h"

namespace gan::synth {
namespace {

// Signed distance to an axis-aligned box of half sides hx, hy around the origin.
double box_distance(double x, double y, double hx, double hy) {
  double qx = std::abs(x) - hx, qy = std::abs(y) - hy;
  return std::hypot(std::max(qx, 0.0), std::max(qy, 0.0)) + std::min(std::max(qx, qy), 0.0);
}

// ---- part: a dark body with a metal tab above and three leads below, on a board ----

// The part's geometry, in units of the image side, in its own frame (y down the leads).
constexpr double kBodyHalfW = 0.17, kBodyTop = -0.20, kBodyBottom = 0.04;
constexpr double kTabHalfW = 0.13, kTabTop = -0.31, kHole = 0.035;
constexpr double kLeadX[3] = {-0.10, 0.0, 0.10}, kLeadLen = 0.30, kLeadHalfW = 0.017;

// Where the part is and what shape its leads have.
struct Pose {
  bool present = true;
  double cx = 0.5, cy = 0.5, angle = 0;
  double lead_len[3] = {kLeadLen, kLeadLen, kLeadLen};
  double bend_at[3] = {kLeadLen, kLeadLen, kLeadLen}, bend[3] = {0, 0, 0};  // bend angle below bend_at
};

// How much of (u, v) each piece of the part covers.
struct Cover {
  double body = 0, tab = 0, lead = 0, lead_d = 1;  // lead_d: distance to the lead axis / half width
  double any() const { return std::max(body, std::max(tab, lead)); }
};

Cover part_cover(const Pose& p, double u, double v, int size) {
  Cover c;
  if (!p.present) return c;
  double ca = std::cos(p.angle), sa = std::sin(p.angle);
  double x = (u - p.cx) * ca + (v - p.cy) * sa, y = -(u - p.cx) * sa + (v - p.cy) * ca;
  c.body = coverage(box_distance(x, y - 0.5 * (kBodyTop + kBodyBottom), kBodyHalfW, 0.5 * (kBodyBottom - kBodyTop)) - 0.01, size);
  double tab = box_distance(x, y - 0.5 * (kTabTop + kBodyTop), kTabHalfW, 0.5 * (kBodyTop - kTabTop));
  double hole = std::hypot(x, y - 0.5 * (kTabTop + kBodyTop)) - kHole;
  c.tab = coverage(std::max(tab, -hole), size);
  double best = 1e9;
  for (int i = 0; i < 3; ++i) {
    double x0 = kLeadX[i], y0 = kBodyBottom - 0.01, y1 = kBodyBottom + std::min(p.bend_at[i], p.lead_len[i]);
    double d = segment_distance(x, y, x0, y0, x0, y1);
    double rest = p.lead_len[i] - p.bend_at[i];
    if (rest > 0) {
      double ex = x0 + rest * std::sin(p.bend[i]), ey = y1 + rest * std::cos(p.bend[i]);
      d = std::min(d, segment_distance(x, y, x0, y1, ex, ey));
    }
    best = std::min(best, d);
  }
  c.lead = coverage(best - kLeadHalfW, size);
  c.lead_d = std::min(1.0, best / kLeadHalfW);
  return c;
}

class Part : public Drawing {
 public:
  Part(const Scene& s, const std::string& defect, Rng& rng) : s_(s), defect_(defect) {
    // The scene's placement jitter and a little more: about a pixel at 128 px.
    expected_.cx = s.cx + 0.005 * rng.normal();
    expected_.cy = s.cy + 0.03 + 0.005 * rng.normal();
    expected_.angle = s.angle;
    actual_ = expected_;
    const int lead = int(rng.uniform() * 3) % 3;
    const double side = rng.uniform() < 0.5 ? -1 : 1;
    if (defect == "bent_lead") {  // bent sideways part-way down
      actual_.bend_at[lead] = rng.uniform(0.10, 0.18);
      actual_.bend[lead] = side * rng.uniform(0.3, 0.6);
    } else if (defect == "cut_lead") {  // the tip is gone
      actual_.lead_len[lead] = kLeadLen * rng.uniform(0.45, 0.7);
    } else if (defect == "misplaced") {  // shifted and turned, or not there at all
      if (rng.uniform() < 0.25) {
        actual_.present = false;
      } else {
        actual_.cx += rng.uniform(-0.08, 0.08);
        actual_.cy += rng.uniform(-0.05, 0.05);
        actual_.angle += side * rng.uniform(0.15, 0.35);
      }
    } else if (defect == "damaged_case") {  // a scraped, light patch on the body
      damage_x_ = rng.uniform(-0.11, 0.11);
      damage_y_ = rng.uniform(kBodyTop + 0.06, kBodyBottom - 0.06);
      damage_r_ = rng.uniform(0.03, 0.045);
      damage_key_ = mix(s.key ^ 0xA24BAED4963EE407ull);
    }
  }

  Rgb pixel(double u, double v, double* defect) const override {
    Cover c = part_cover(actual_, u, v, s_.size);
    Rgb p = draw(actual_, c, u, v);
    *defect = 0;
    if (defect_ == "damaged_case") {
      double ca = std::cos(actual_.angle), sa = std::sin(actual_.angle);
      double x = (u - actual_.cx) * ca + (v - actual_.cy) * sa, y = -(u - actual_.cx) * sa + (v - actual_.cy) * ca;
      double wobble = 1 + 0.5 * (fbm(u * 50, v * 50, damage_key_) - 0.5);
      double a = coverage(std::hypot(x - damage_x_, y - damage_y_) - damage_r_ * wobble, s_.size) * c.body;
      Rgb scraped = scale(s_.tint, 0.42 + 0.25 * fbm(u * 90, v * 90, damage_key_ ^ 3));
      p = lerp(p, scraped, a);
      *defect = a;
    } else if (defect_ != "good") {  // whatever the part covers where it should not, or does not where it should
      *defect = std::abs(c.any() - part_cover(expected_, u, v, s_.size).any());
    }
    return p;
  }

 private:
  Rgb board(double u, double v) const {  // a matt green-grey board with a fine grain
    double t = 0.46 + 0.06 * (fbm(u * 8, v * 8, s_.key ^ 11) - 0.5) + 0.05 * (fbm(u * 70, v * 70, s_.key ^ 13, 2) - 0.5);
    return {t * 0.82 * s_.tint.r, t * 0.95 * s_.tint.g, t * 0.86 * s_.tint.b};
  }
  Rgb draw(const Pose& pose, const Cover& c, double u, double v) const {
    Rgb out = board(u, v);
    if (!pose.present) return out;
    double ca = std::cos(pose.angle), sa = std::sin(pose.angle);
    double y = -(u - pose.cx) * sa + (v - pose.cy) * ca;
    // Leads: bright round wire, a highlight along the middle.
    Rgb metal = scale(s_.tint, 0.50 + 0.40 * (1 - c.lead_d * c.lead_d));
    out = lerp(out, metal, c.lead);
    // Tab: brushed metal, lit from the top.
    Rgb tab = scale(s_.tint, 0.62 + 0.12 * (kBodyTop - y) / (kBodyTop - kTabTop));
    out = lerp(out, tab, c.tab);
    // Body: dark moulding with a light marking band and a faint texture.
    double mark = coverage(std::abs(y - (kBodyTop + 0.08)) - 0.02, s_.size);
    double g = 0.10 + 0.03 * (fbm(u * 40, v * 40, s_.key ^ 17) - 0.5) + 0.12 * mark;
    return lerp(out, scale(s_.tint, g), c.body);
  }

  Scene s_;
  std::string defect_;
  Pose expected_, actual_;
  double damage_x_ = 0, damage_y_ = 0, damage_r_ = 0;
  uint64_t damage_key_ = 0;
};

// ---- grey: a woven wire mesh over a dark, sandblasted plate ----

class Grey : public Drawing {
 public:
  Grey(const Scene& s, const std::string& defect, Rng& rng) : s_(s), defect_(defect) {
    key_ = mix(s.key ^ 0xD1B54A32D192ED03ull);
    cx_ = rng.uniform(0.2, 0.8);
    cy_ = rng.uniform(0.2, 0.8);
    if (defect == "scratch") {
      double phi = rng.uniform(0, 2 * kPi), len = rng.uniform(0.18, 0.3);
      ax_ = cx_ - 0.5 * len * std::cos(phi), ay_ = cy_ - 0.5 * len * std::sin(phi);
      bx_ = cx_ + 0.5 * len * std::cos(phi), by_ = cy_ + 0.5 * len * std::sin(phi);
      radius_ = std::max(1.2 / s.size, 0.01);
    } else if (defect == "dent" || defect == "contamination") {
      radius_ = rng.uniform(0.06, 0.08);
    } else if (defect == "broken_wire") {  // one wire gone between two crossings, in mesh units
      vertical_ = rng.uniform() < 0.5;
      wire_ = std::floor(rng.uniform(-2, 3));
      from_ = std::floor(rng.uniform(-3, 2)) + 0.5;
      to_ = from_ + (rng.uniform() < 0.5 ? 2 : 3);
    }
  }

  Rgb pixel(double u, double v, double* defect) const override {
    double ca = std::cos(s_.angle), sa = std::sin(s_.angle);
    double x = (u - 0.5) * ca - (v - 0.5) * sa, y = (u - 0.5) * sa + (v - 0.5) * ca;
    const double period = 2 * s_.period;  // a coarser mesh than the fabric's weave
    double a = x / period + s_.phase_u, b = y / period + s_.phase_v;  // mesh units, nearly in register
    // Distance to the nearest vertical (across a) and horizontal (across b) wire.
    double da = std::abs(a - std::round(a)), db = std::abs(b - std::round(b));
    const double half = 0.14;  // wire half width, in mesh periods
    double cover_v = coverage((da - half) * period, s_.size), cover_h = coverage((db - half) * period, s_.size);
    *defect = 0;
    if (defect_ == "broken_wire") {
      bool on_wire = vertical_ ? std::round(a) == wire_ : std::round(b) == wire_;
      double along = vertical_ ? b : a;
      double gap = std::min(along - from_, to_ - along);  // > 0 inside the broken stretch
      double cut = on_wire ? coverage(-gap * period, s_.size) : 0;
      double& cover = vertical_ ? cover_v : cover_h;
      *defect = cover * cut;
      cover *= 1 - cut;
    }
    // Over-under weave: the wire on top at a crossing is brighter.
    bool v_on_top = (int64_t(std::floor(a + 0.5)) + int64_t(std::floor(b + 0.5))) % 2 == 0;
    double shade_v = 0.55 + 0.25 * (1 - std::pow(da / half, 2)) + (v_on_top ? 0.08 : -0.04);
    double shade_h = 0.55 + 0.25 * (1 - std::pow(db / half, 2)) + (v_on_top ? -0.04 : 0.08);
    double plate = 0.16 + 0.03 * (fbm(u * 80, v * 80, s_.key ^ 21, 2) - 0.5) + 0.03 * (fbm(u * 5, v * 5, s_.key ^ 23) - 0.5);
    double g = plate;
    if (v_on_top) {
      g = g + (shade_h - g) * cover_h;
      g = g + (shade_v - g) * cover_v;
    } else {
      g = g + (shade_v - g) * cover_v;
      g = g + (shade_h - g) * cover_h;
    }
    if (defect_ == "scratch") {  // a thin bright line across wires and plate alike
      double d = coverage(segment_distance(u, v, ax_, ay_, bx_, by_) - radius_, s_.size);
      g += 0.55 * d;
      *defect = d;
    } else if (defect_ == "dent") {  // pressed in: lit on one side, shadowed on the other
      double dx = (u - cx_) / radius_, dy = (v - cy_) / radius_, r2 = dx * dx + dy * dy;
      double bump = std::exp(-2 * r2);
      g *= 1 + 1.2 * bump * (dx * std::cos(s_.light_angle) + dy * std::sin(s_.light_angle)) - 0.25 * bump;
      *defect = r2 < 1 ? 1 : 0;
    } else if (defect_ == "contamination") {  // a dark, blotchy stain
      double wobble = 1 + 0.4 * (fbm(u * 60, v * 60, key_) - 0.5);
      double d = coverage(std::hypot(u - cx_, v - cy_) - radius_ * wobble, s_.size);
      g += (0.08 - g) * 0.85 * d;
      *defect = d;
    }
    return scale(s_.tint, g);
  }

 private:
  Scene s_;
  std::string defect_;
  uint64_t key_ = 0;
  double cx_ = 0, cy_ = 0, ax_ = 0, ay_ = 0, bx_ = 0, by_ = 0, radius_ = 0;
  bool vertical_ = false;
  double wire_ = 0, from_ = 0, to_ = 0;
};

}  // namespace

std::unique_ptr<Drawing> make_part(const Scene& s, const std::string& defect, Rng& rng) {
  return std::make_unique<Part>(s, defect, rng);
}
std::unique_ptr<Drawing> make_grey(const Scene& s, const std::string& defect, Rng& rng) {
  return std::make_unique<Grey>(s, defect, rng);
}
const std::vector<std::string>& part_defects() {
  static const std::vector<std::string> defects = {"bent_lead", "cut_lead", "damaged_case", "misplaced"};
  return defects;
}
const std::vector<std::string>& grey_defects() {
  static const std::vector<std::string> defects = {"scratch", "dent", "broken_wire", "contamination"};
  return defects;
}

}  // namespace gan::synth
