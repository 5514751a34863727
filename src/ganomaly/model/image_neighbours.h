#pragma once
// image_nn: the image itself standardised value by value by its nearest training images
// (image_z's statistics taken over the neighbours residual_nn finds, not over all).
//
// image_z compares an image with every training normal at once, so on a part whose pose
// varies (a transistor's leads, the parts of an assembly) the spread at each pixel is wide
// and a missing or moved piece disappears in it. The training images that look most like
// the one scored (nearest by image_key's thumbnail) share its pose, so a lead cut short
// stands many of their spreads away. On an aligned object, where every normal shares the
// pose, it is image_z again. Ten neighbours, half of residual_nn's: the image itself
// varies less between neighbours than its residual does (docs/QUALITY.md, round 8).
#include <cstdint>
#include <string>
#include <vector>

#include "nn/module.h"

namespace gan {

class ImageNN {
 public:
  static constexpr int kNeighbours = 10;
  // `images`: n images of c x h x w values (as the model sees them), one after another;
  // n >= 2. Their thumbnails (image_key) are computed here, not stored.
  static ImageNN fit(const std::vector<float>& images, int64_t n, int64_t c, int64_t h, int64_t w);
  bool empty() const { return images_.empty(); }
  int64_t count() const { return count_; }
  int64_t channels() const { return channels_; }
  int64_t height() const { return height_; }
  int64_t width() const { return width_; }
  float floor() const { return floor_; }
  const std::vector<float>& images() const { return images_; }  // [count, C, H, W]
  const std::vector<float>& keys() const { return keys_; }      // [count, image_key_size]
  // The channel mean of |z| of one image ([C, h, w]) against its kNeighbours nearest
  // training images: [h, w].
  void map(const float* image, int64_t h, int64_t w, float* out) const;
  // Its largest mean over a window of side residual_z_window(h, w).
  float score(const float* image, int64_t h, int64_t w) const;
  // "images" [N, C, H, W] and "floor" [1]; empty when not fitted.
  nn::NamedTensors state() const;
  // Takes both when they are there; otherwise leaves this empty (older model files).
  void load_state(const nn::NamedTensors& tensors, const std::string& what);

 private:
  void set_images(std::vector<float> images, int64_t n, int64_t c, int64_t h, int64_t w);
  int64_t count_ = 0, channels_ = 0, height_ = 0, width_ = 0;
  float floor_ = 0;
  std::vector<float> images_, keys_;
};

}  // namespace gan
