#pragma once
// Photometric normalisation: each image's channels brought to the training normals'
// typical mean and spread before the generator sees it. Production lighting drifts (a
// lamp ages, a shutter changes): a global brightness or contrast change is an affine map
// of each channel's values, which this undoes exactly, while a small defect barely moves
// an image's statistics. Off unless training chose it on validation (train/validation.cpp:
// relit validation normals must not read as defects); a model file carries it as "P.".
#include <cstdint>
#include <string>
#include <vector>

#include "nn/module.h"
#include "tensor/tensor.h"

namespace gan {

class Photometric {
 public:
  // The reference: over `normals` ([N, C, H, W], the recipe's normalisation), the mean
  // of each image's channel means and the mean of its channel spreads.
  static Photometric fit(const Tensor& normals);
  bool on() const { return !mean_.empty(); }
  // Each image's channel c as (x - its mean) / its spread * std[c] + mean[c], on the CPU;
  // off: the images as they are. A flat channel (spread ~0) is only shifted.
  Tensor apply(const Tensor& images) const;
  const std::vector<float>& mean() const { return mean_; }
  const std::vector<float>& stddev() const { return stddev_; }
  // "mean" and "std", [C]; empty when off.
  nn::NamedTensors state() const;
  void load_state(const nn::NamedTensors& tensors, int channels, const std::string& what);

 private:
  std::vector<float> mean_, stddev_;
};

// A channel's spread below this (in the recipe's units) is flat: not rescaled.
constexpr float kFlatChannel = 1e-4f;

// Mean and spread (population) of each channel of one image ([C, H, W] host data).
void channel_statistics(const float* image, int64_t channels, int64_t plane, float* mean, float* stddev);

}  // namespace gan
