// The "aligned" kind: a printed label on a box, photographed by a fixed camera in a
// fixture, so that it sits in exactly the same pose in every image. Normal images differ
// only by sensor noise, a tiny change of brightness and the paper's and belt's grain;
// defects change the print over a large part of the label (faded or shifted print, a
// smear, a missing block), which is why the distance to the *mean* training image is
// already a strong detector on such a line (docs/QUALITY.md, round 5). See synth.h.
#include "ganomaly/data/synth_internal.h"

namespace gan::synth {
namespace {

// The label and its print, in units of the image side, around the label's centre.
constexpr double kLabelHalfW = 0.37, kLabelHalfH = 0.31, kCorner = 0.03;
constexpr double kTitleY = -0.21, kTitleHalfH = 0.04, kTitleX0 = -0.06, kTitleX1 = 0.31;
constexpr double kLogoX = -0.22, kLogoY = -0.18, kLogoR = 0.08;
constexpr double kTextY0 = -0.08, kTextStep = 0.05, kTextHalfH = 0.013, kTextX0 = -0.31;
constexpr int kTextLines = 5;
constexpr double kCodeY0 = 0.15, kCodeY1 = 0.26, kCodeX0 = -0.27, kCodeX1 = 0.27;

// The print's blocks, each of which missing_print can leave out.
enum Block { kTitle, kLogo, kText, kCode, kBlocks };

// The fixed artwork: where glyphs, words and bars start and end. Drawn from a constant
// key, so it is the same in every image and every seed (a label design, not noise).
struct Artwork {
  std::vector<double> glyphs;               // title: x0, x1 pairs
  std::vector<std::vector<double>> words;   // per text line: x0, x1 pairs
  std::vector<double> bars;                 // barcode: x0, x1 pairs
  Artwork() {
    Rng r(0x5EED1ABE1ull);
    for (double x = kTitleX0; x < kTitleX1;) {
      const double w = r.uniform(0.025, 0.05);
      glyphs.push_back(x);
      glyphs.push_back(std::min(x + w, kTitleX1));
      x += w + 0.015;
    }
    for (int line = 0; line < kTextLines; ++line) {
      std::vector<double> pairs;
      const double end = r.uniform(0.18, 0.32);
      for (double x = kTextX0; x < end;) {
        const double w = r.uniform(0.04, 0.11);
        pairs.push_back(x);
        pairs.push_back(std::min(x + w, end));
        x += w + 0.02;
      }
      words.push_back(pairs);
    }
    for (double x = kCodeX0; x < kCodeX1;) {
      const double w = r.uniform(0.008, 0.02);
      bars.push_back(x);
      bars.push_back(std::min(x + w, kCodeX1));
      x += w + r.uniform(0.008, 0.02);
    }
  }
};

const Artwork& artwork() {
  static const Artwork a;
  return a;
}

// Coverage of the interval [x0, x1] at x, anti-aliased over one pixel.
double span(double x, double x0, double x1, int size) {
  return std::min(coverage(x0 - x, size), coverage(x - x1, size));
}
// Coverage of a row of (x0, x1) pairs between y0 and y1.
double row(const std::vector<double>& pairs, double x, double y, double y0, double y1, int size) {
  const double across = span(y, y0, y1, size);
  if (across == 0) return 0;
  double best = 0;
  for (size_t i = 0; i + 1 < pairs.size(); i += 2) best = std::max(best, span(x, pairs[i], pairs[i + 1], size));
  return best * across;
}

// How much of (x, y), in the print's own frame, each block covers.
struct Ink {
  double dark = 0, logo = 0;  // the dark ink (title, text, barcode) and the red logo
  double any() const { return std::max(dark, logo); }
};

Ink print_cover(double x, double y, const bool present[kBlocks], int size) {
  const Artwork& a = artwork();
  Ink ink;
  if (present[kTitle]) ink.dark = row(a.glyphs, x, y, kTitleY - kTitleHalfH, kTitleY + kTitleHalfH, size);
  if (present[kText])
    for (int line = 0; line < kTextLines; ++line) {
      const double yc = kTextY0 + line * kTextStep;
      ink.dark = std::max(ink.dark, row(a.words[line], x, y, yc - kTextHalfH, yc + kTextHalfH, size));
    }
  if (present[kCode]) ink.dark = std::max(ink.dark, row(a.bars, x, y, kCodeY0, kCodeY1, size));
  if (present[kLogo]) {  // a red disc with a paper ring inside
    const double r = std::hypot(x - kLogoX, y - kLogoY);
    ink.logo = coverage(r - kLogoR, size) * (1 - coverage(std::abs(r - 0.55 * kLogoR) - 0.008, size));
  }
  return ink;
}

class Aligned : public Drawing {
 public:
  Aligned(const Scene& s, const std::string& defect, Rng& rng) : s_(s), defect_(defect) {
    if (defect == "faded_print") {  // the ink ran low: every block lighter
      fade_ = rng.uniform(0.08, 0.16);
    } else if (defect == "shifted_print") {  // the print out of register with the label
      const double phi = rng.uniform(0, 2 * kPi), d = rng.uniform(0.006, 0.014);
      dx_ = d * std::cos(phi);
      dy_ = d * std::sin(phi);
    } else if (defect == "missing_print") {  // one block not printed (the logo is too small to count)
      const Block which[] = {kTitle, kText, kCode};
      present_[which[int(rng.uniform() * 3) % 3]] = false;
    } else if (defect == "smear") {  // a wide stroke of wet ink dragged across the label
      const double phi = rng.uniform(-0.5, 0.5), len = rng.uniform(0.35, 0.5);
      const double cx = rng.uniform(-0.12, 0.12), cy = rng.uniform(-0.15, 0.15);
      ax_ = cx - 0.5 * len * std::cos(phi), ay_ = cy - 0.5 * len * std::sin(phi);
      bx_ = cx + 0.5 * len * std::cos(phi), by_ = cy + 0.5 * len * std::sin(phi);
      radius_ = rng.uniform(0.035, 0.05);
      opacity_ = rng.uniform(0.15, 0.3);
      key_ = mix(s.key ^ 0x9FB21C651E98DF25ull);
    }
  }

  Rgb pixel(double u, double v, double* defect) const override {
    const double x = u - 0.5, y = v - 0.5;  // the fixture holds the label at the centre
    const double label = coverage(box_distance(x, y, kLabelHalfW - kCorner, kLabelHalfH - kCorner) - kCorner, s_.size);
    const Ink ink = print_cover(x - dx_, y - dy_, present_, s_.size);
    const Rgb paper = scale(s_.tint, 0.90 + 0.02 * (fbm(u * 60, v * 60, s_.key ^ 31, 2) - 0.5));
    const Rgb dark{0.12, 0.13, 0.20}, red{0.78, 0.16, 0.12};
    Rgb on_label = lerp(lerp(paper, dark, ink.dark * (1 - fade_)), red, ink.logo * (1 - fade_));
    *defect = 0;
    if (defect_ == "faded_print") {
      *defect = ink.any();
    } else if (defect_ == "shifted_print" || defect_ == "missing_print") {  // wherever the print differs
      // A shift of a pixel or less changes most edge pixels by a fraction of their ink:
      // the mask (defect >= 0.3) takes every pixel whose ink moved by 0.15 or more.
      const bool all[kBlocks] = {true, true, true, true};
      *defect = std::min(1.0, 2 * std::abs(ink.any() - print_cover(x, y, all, s_.size).any()));
    } else if (defect_ == "smear") {
      const double wobble = 1 + 0.5 * (fbm(u * 30, v * 30, key_) - 0.5);
      const double a = coverage(segment_distance(x, y, ax_, ay_, bx_, by_) - radius_ * wobble, s_.size) * label;
      on_label = lerp(on_label, dark, a * opacity_ * (0.8 + 0.4 * fbm(u * 90, v * 90, key_ ^ 5)));
      *defect = a;
    }
    // The belt under the box: dark, with a faint grain.
    const double t = 0.22 + 0.03 * (fbm(u * 40, v * 40, s_.key ^ 37, 2) - 0.5);
    return lerp(Rgb{t, t, t * 1.05}, on_label, label);
  }

 private:
  static double box_distance(double x, double y, double hx, double hy) {
    const double qx = std::abs(x) - hx, qy = std::abs(y) - hy;
    return std::hypot(std::max(qx, 0.0), std::max(qy, 0.0)) + std::min(std::max(qx, qy), 0.0);
  }

  Scene s_;
  std::string defect_;
  bool present_[kBlocks] = {true, true, true, true};
  double fade_ = 0, dx_ = 0, dy_ = 0;
  double ax_ = 0, ay_ = 0, bx_ = 0, by_ = 0, radius_ = 0, opacity_ = 0;
  uint64_t key_ = 0;
};

}  // namespace

void fix_pose(Scene& s) {
  // A fixture and a fixed lamp: no placement jitter at all, and a third of the other
  // kinds' change of brightness (their draws are kept, so the stream is unchanged).
  s.cx = s.cy = 0.5;
  s.zoom = 1;
  s.angle = 0;
  s.gain = 1 + (s.gain - 1) / 3;
  s.light_angle = 0.8;
  s.light = 0.07;
  s.tint = {1.0, 0.98, 0.93};  // cream paper; the print has fixed colours
}

std::unique_ptr<Drawing> make_aligned(const Scene& s, const std::string& defect, Rng& rng) {
  return std::make_unique<Aligned>(s, defect, rng);
}
const std::vector<std::string>& aligned_defects() {
  static const std::vector<std::string> defects = {"faded_print", "shifted_print", "missing_print", "smear"};
  return defects;
}

}  // namespace gan::synth
