#pragma once
// What synth.cpp shares with synth_kinds.cpp: the random stream, noise, colours, the
// per-image scene, and the kinds drawn in synth_kinds.cpp. Internal; not installed.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace gan::synth {

constexpr double kPi = 3.14159265358979323846;

// splitmix64: tiny, fast, and identical everywhere (std distributions are not).
inline uint64_t splitmix(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
inline uint64_t mix(uint64_t a) { return splitmix(a); }
inline uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}
inline double unit(uint64_t bits) { return double(bits >> 11) * 0x1.0p-53; }  // [0, 1)

struct Rng {
  uint64_t state;
  explicit Rng(uint64_t seed) : state(seed) {}
  double uniform() { return unit(splitmix(state)); }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  double normal() {  // Box-Muller; one value per call keeps the stream simple
    double u1 = std::max(uniform(), 1e-300), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * kPi * u2);
  }
};

// Smooth value noise in [0, 1] on an integer lattice, and a few octaves of it.
inline double lattice(int64_t ix, int64_t iy, uint64_t key) {
  return unit(mix(key ^ mix(uint64_t(ix) * 0x9E3779B97F4A7C15ull ^ uint64_t(iy) * 0xC2B2AE3D27D4EB4Full)));
}
inline double value_noise(double x, double y, uint64_t key) {
  double fx = std::floor(x), fy = std::floor(y);
  int64_t ix = int64_t(fx), iy = int64_t(fy);
  double tx = x - fx, ty = y - fy;
  tx = tx * tx * (3 - 2 * tx);
  ty = ty * ty * (3 - 2 * ty);
  double a = lattice(ix, iy, key), b = lattice(ix + 1, iy, key);
  double c = lattice(ix, iy + 1, key), d = lattice(ix + 1, iy + 1, key);
  return (a + (b - a) * tx) * (1 - ty) + (c + (d - c) * tx) * ty;
}
inline double fbm(double x, double y, uint64_t key, int octaves = 3) {
  double sum = 0, amp = 1, norm = 0;
  for (int o = 0; o < octaves; ++o) {
    sum += amp * value_noise(x, y, key + uint64_t(o) * 0x632BE59BD9B4E019ull);
    norm += amp;
    amp *= 0.5;
    x *= 2;
    y *= 2;
  }
  return sum / norm;
}

inline double clamp01(double v) { return std::min(1.0, std::max(0.0, v)); }

struct Rgb {
  double r = 0, g = 0, b = 0;
};
inline Rgb lerp(const Rgb& a, const Rgb& b, double t) {
  return {a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t};
}
inline Rgb scale(const Rgb& a, double s) { return {a.r * s, a.g * s, a.b * s}; }

// Everything that varies between normal images of one kind.
struct Scene {
  std::string kind;
  int size = 0;
  uint64_t key = 0;        // texture noise of this image
  double cx = 0.5, cy = 0.5, zoom = 1;  // object placement
  double angle = 0, period = 0, phase_u = 0, phase_v = 0;  // texture placement
  double gain = 1, light_angle = 0, light = 0, noise = 0.02;
  Rgb tint;
};

// Anti-aliased coverage of "inside" for a signed distance d (negative inside), in
// image units; one pixel of ramp.
inline double coverage(double d, int size) { return clamp01(0.5 - d * size); }

inline double segment_distance(double px, double py, double ax, double ay, double bx, double by) {
  double vx = bx - ax, vy = by - ay, wx = px - ax, wy = py - ay;
  double t = clamp01((wx * vx + wy * vy) / std::max(vx * vx + vy * vy, 1e-12));
  return std::hypot(px - (ax + t * vx), py - (ay + t * vy));
}

// The kinds drawn in synth_kinds.cpp ("part", "grey") and synth_aligned.cpp: set up once per image from its
// scene and random stream, then asked for each pixel.
class Drawing {
 public:
  virtual ~Drawing() = default;
  // The pixel at (u, v) before lighting and sensor noise; *defect gets how much of it
  // the defect covers (0 to 1, 0 everywhere for a normal image).
  virtual Rgb pixel(double u, double v, double* defect) const = 0;
};
std::unique_ptr<Drawing> make_part(const Scene& s, const std::string& defect, Rng& rng);
std::unique_ptr<Drawing> make_grey(const Scene& s, const std::string& defect, Rng& rng);
// "aligned" (synth_aligned.cpp): a printed label held by a fixture. fix_pose takes the
// placement jitter out of its scene before it is drawn.
void fix_pose(Scene& s);
std::unique_ptr<Drawing> make_aligned(const Scene& s, const std::string& defect, Rng& rng);
// Their defect classes, cycled in this order (MVTec transistor's names for "part").
const std::vector<std::string>& part_defects();
const std::vector<std::string>& grey_defects();
const std::vector<std::string>& aligned_defects();

}  // namespace gan::synth
