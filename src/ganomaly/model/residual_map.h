#pragma once
// Scores taken from the residual map |x - fake| (averaged over channels, [H, W]).
//
// residual_max: the largest mean residual over a window of side S/8.
// residual_z:   the residual standardised per pixel by what the generator leaves on the
//   training normals, then the largest mean over a window of side S/32. A bottle's rim
//   and highlights are never reconstructed exactly, so their raw residual drowns a thin
//   scratch elsewhere; in units of each pixel's own spread on normal images, the scratch
//   stands out (docs/QUALITY.md: bottle 0.94 -> 0.99 at the same epoch).
#include <cstdint>
#include <vector>

#include "nn/module.h"

namespace gan {

// The mean of `map` (h x w) over every window x window square that fits, by an integral
// image: (h - k + 1) x (w - k + 1) values, row-major by the square's top-left corner, k
// the window clamped to 1..min(h, w).
std::vector<float> window_means(const float* map, int64_t h, int64_t w, int64_t window);
int64_t clamped_window(int64_t h, int64_t w, int64_t window);
// The largest of window_means.
float window_max(const float* map, int64_t h, int64_t w, int64_t window);
int64_t residual_max_window(int64_t h, int64_t w);
int64_t residual_z_window(int64_t h, int64_t w);

// Per-pixel mean and spread of the residual on normal images. The spread gets a floor of
// a tenth of its mean over the image, so a pixel that is always reconstructed well (a
// flat background) cannot turn noise into a large z.
class ResidualZ {
 public:
  static constexpr float kFloorFraction = 0.1f;
  // `maps`: n residual maps of h x w, one after another. Needs n >= 2.
  static ResidualZ fit(const std::vector<float>& maps, int64_t n, int64_t h, int64_t w);
  bool empty() const { return mean_.empty(); }
  int64_t height() const { return height_; }
  int64_t width() const { return width_; }
  // (map - mean) / scale, pixel by pixel; `map` is h x w of this normaliser.
  void standardise(const float* map, float* out) const;
  // residual_z of one map.
  float score(const float* map) const;
  // "mean" and "scale", [H, W]; empty when not fitted (a model file from before it).
  nn::NamedTensors state() const;
  // Takes "mean" and "scale" when both are there; otherwise leaves the normaliser empty.
  void load_state(const nn::NamedTensors& tensors, const std::string& what);

 private:
  int64_t height_ = 0, width_ = 0;
  std::vector<float> mean_, scale_;
};

}  // namespace gan
