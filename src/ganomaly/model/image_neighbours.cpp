#include "ganomaly/model/image_neighbours.h"

#include <algorithm>
#include <cmath>

#include "ganomaly/model/residual_map.h"
#include "ganomaly/model/residual_neighbours.h"

namespace gan {

void ImageNN::set_images(std::vector<float> images, int64_t n, int64_t c, int64_t h, int64_t w) {
  count_ = n;
  channels_ = c;
  height_ = h;
  width_ = w;
  images_ = std::move(images);
  keys_.clear();
  for (int64_t i = 0; i < n; ++i) {
    const std::vector<float> key = image_key(images_.data() + i * c * h * w, c, h, w);
    keys_.insert(keys_.end(), key.begin(), key.end());
  }
}

ImageNN ImageNN::fit(const std::vector<float>& images, int64_t n, int64_t c, int64_t h, int64_t w) {
  GANOMALY_CHECK(n >= 2 && c > 0 && h > 0 && w > 0 && static_cast<int64_t>(images.size()) == n * c * h * w,
                 "neighbour images: expected at least 2 images of ", c, "x", h, "x", w, ", got ", images.size(),
                 " values");
  ImageNN r;
  r.set_images(images, n, c, h, w);
  r.floor_ = neighbour_floor(images, n, c * h * w);
  return r;
}

void ImageNN::map(const float* image, int64_t h, int64_t w, float* out) const {
  GANOMALY_CHECK(!empty() && h == height_ && w == width_, "image_nn: an image of ", h, "x", w,
                 ", neighbour images of ", height_, "x", width_);
  const int64_t pixels = h * w;
  const std::vector<int64_t> neighbours =
      nearest_keys(keys_, keys_.size() / count_, image_key(image, channels_, h, w), kNeighbours, "image_nn");
  std::vector<float> z(channels_ * pixels);
  standardise_by_neighbours(images_, channels_ * pixels, neighbours, image, floor_, z.data());
  for (int64_t p = 0; p < pixels; ++p) {
    float sum = 0;
    for (int64_t c = 0; c < channels_; ++c) sum += std::fabs(z[c * pixels + p]);
    out[p] = sum / static_cast<float>(channels_);
  }
}

float ImageNN::score(const float* image, int64_t h, int64_t w) const {
  std::vector<float> m(h * w);
  map(image, h, w, m.data());
  return window_max(m.data(), h, w, residual_z_window(h, w));
}

nn::NamedTensors ImageNN::state() const {
  if (empty()) return {};
  return {{"images", Tensor::from_vector(Shape{count_, channels_, height_, width_}, images_)},
          {"floor", Tensor::full(Shape{1}, floor_)}};
}

void ImageNN::load_state(const nn::NamedTensors& tensors, const std::string& what) {
  *this = ImageNN();
  const Tensor *images = nullptr, *floor = nullptr;
  for (const auto& [name, t] : tensors) {
    if (name == "images") images = &t;
    if (name == "floor") floor = &t;
  }
  if (!images && !floor) return;
  GANOMALY_CHECK(images && floor && images->ndim() == 4 && floor->numel() == 1 && images->size(0) >= 2, what,
                 ": neighbour images: expected 'images' [N, C, H, W] with N >= 2 and 'floor' [1]");
  std::vector<float> values = images->to_vector();
  GANOMALY_CHECK(std::all_of(values.begin(), values.end(), [](float v) { return std::isfinite(v); }), what,
                 ": neighbour images: every value must be finite");
  const float f = floor->item();
  GANOMALY_CHECK(std::isfinite(f) && f > 0, what, ": neighbour images: the floor must be positive");
  set_images(std::move(values), images->size(0), images->size(1), images->size(2), images->size(3));
  floor_ = f;
}

}  // namespace gan
