#pragma once
// image_z: the image itself, not its residual, standardised value by value by the
// training normals' mean and spread; |z| averaged over channels, then the largest mean
// over a window of side S/32 (residual_z's window).
//
// On an aligned object (a label in a fixture, a part on a jig) every normal image is the
// same picture up to sensor noise. A faint change over a wide area (faded print, a smear)
// is reconstructed by the generator as readily as the normal image, so no window of the
// residual map stands out and every residual score misses it; yet each changed pixel
// lies many of its own spreads from the training mean. That distance is what the
// mean-image floor measures (eval/floors.h), here per value and in units of its spread,
// so that a moving edge on a less rigid object counts less. The fusion weighs it by its
// validation AUROC like the other parts: where it does not help, it weighs 0. It is not
// the anomaly map's source: the map stays the residual score's (anomaly_map.h).
#include <cstdint>
#include <string>
#include <vector>

#include "ganomaly/model/residual_map.h"

namespace gan {

class ImageZ {
 public:
  // `images`: n images of c x h x w values (as the model sees them), one after another;
  // n >= 2. Per value: the mean and spread over them, the spread floored as ResidualZ's.
  static ImageZ fit(const std::vector<float>& images, int64_t n, int64_t c, int64_t h, int64_t w);
  bool empty() const { return stats_.empty(); }
  int64_t channels() const { return stats_.height(); }
  int64_t pixels() const { return stats_.width(); }  // h * w
  // The channel mean of |z| of one image ([h, w], h * w == pixels()).
  void map(const float* image, int64_t h, int64_t w, float* out) const;
  // Its largest mean over a window of side residual_z_window(h, w).
  float score(const float* image, int64_t h, int64_t w) const;
  // "mean" and "scale", [C, H * W]; empty when not fitted (a model file from before it).
  nn::NamedTensors state() const { return stats_.state(); }
  // Takes "mean" and "scale" when both are there; otherwise leaves it empty.
  void load_state(const nn::NamedTensors& tensors, const std::string& what) { stats_.load_state(tensors, what); }

 private:
  ResidualZ stats_;  // the same per-value statistics, one row per channel
};

}  // namespace gan
