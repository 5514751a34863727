#pragma once
// residual_nn: the residual map standardised by the residuals of the image's nearest
// training images, instead of by all of them (residual_z).
//
// residual_z's per-pixel statistics mix every pose and variant of the training normals:
// where a transistor's leads sit a pixel to the left in some images and to the right in
// others, the spread there is wide and a cut lead disappears in it. The training images
// that look most like the one being scored (nearest by a 16 x 16 thumbnail) share its
// pose, so their residuals say what this image's residual should be, pixel by pixel, and
// a defect stands out against a narrower spread (docs/QUALITY.md: transistor 0.90 ->
// 0.93 to 0.95 with the same models, bottle unchanged).
#include <cstdint>
#include <string>
#include <vector>

#include "ganomaly/model/residual_map.h"
#include "nn/module.h"

namespace gan {

// The thumbnail an image is matched by: its values averaged over squares of side
// max(1, min(h, w) / 16), all channels kept.
std::vector<float> image_key(const float* image, int64_t channels, int64_t h, int64_t w);
size_t image_key_size(int64_t channels, int64_t h, int64_t w);

// The indices of the `k` keys (of `keys`, key_size values each) nearest to `key` by
// squared distance, nearest first, ties to the lower index (so the same image always
// gets the same neighbours). `what` names the score in the error for a wrong key size.
std::vector<int64_t> nearest_keys(const std::vector<float>& keys, size_t key_size, const std::vector<float>& key,
                                  int64_t k, const char* what);

// Each of the `per_sample` values of `values` in units of its spread over the samples
// `neighbours` of `stored` (per_sample values each): (v - mean) / (spread + floor).
void standardise_by_neighbours(const std::vector<float>& stored, int64_t per_sample,
                               const std::vector<int64_t>& neighbours, const float* values, float floor, float* out);

// A tenth of the mean spread over the n samples (residual_z's floor, ResidualZ::kFloorFraction),
// at least 1e-6: n samples of per_sample values, one after another.
float neighbour_floor(const std::vector<float>& samples, int64_t n, int64_t per_sample);

class ResidualNN {
 public:
  static constexpr int kNeighbours = 20;
  // `maps`: n residual maps of h x w; `keys`: their images' image_key, one after another.
  // Every spread gets residual_z's floor (a tenth of the mean per-pixel spread over all n
  // maps), so a pixel the neighbours all reconstruct alike does not turn noise into a
  // large z.
  static ResidualNN fit(const std::vector<float>& maps, const std::vector<float>& keys, int64_t n, int64_t h,
                                int64_t w);
  bool empty() const { return maps_.empty(); }
  int64_t height() const { return height_; }
  int64_t width() const { return width_; }
  size_t key_size() const { return key_size_; }
  // The map standardised by the kNeighbours training images nearest to `key`.
  void standardise(const float* map, const std::vector<float>& key, float* out) const;
  // residual_nn of one map: the largest mean of the standardised map over a window of
  // residual_z's side.
  float score(const float* map, const std::vector<float>& key) const;
  // "maps" [N, H, W], "keys" [N, K], "floor" [1]; empty when not fitted.
  nn::NamedTensors state() const;
  // Takes the three when they are there; otherwise leaves this empty (older model files).
  void load_state(const nn::NamedTensors& tensors, const std::string& what);

 private:
  int64_t count_ = 0, height_ = 0, width_ = 0;
  size_t key_size_ = 0;
  float floor_ = 0;
  std::vector<float> maps_, keys_;
};

}  // namespace gan
