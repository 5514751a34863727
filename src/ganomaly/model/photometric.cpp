#include "ganomaly/model/photometric.h"

#include <cmath>

#include "tensor/check.h"

namespace gan {

void channel_statistics(const float* image, int64_t channels, int64_t plane, float* mean, float* stddev) {
  for (int64_t c = 0; c < channels; ++c) {
    const float* p = image + c * plane;
    double sum = 0, squares = 0;
    for (int64_t i = 0; i < plane; ++i) sum += p[i];
    const double m = sum / double(plane);
    for (int64_t i = 0; i < plane; ++i) squares += (p[i] - m) * (p[i] - m);
    mean[c] = float(m);
    stddev[c] = float(std::sqrt(squares / double(plane)));
  }
}

Photometric Photometric::fit(const Tensor& normals) {
  GANOMALY_CHECK(normals.ndim() == 4 && normals.size(0) > 0, "photometric: expected [N, C, H, W] normals");
  const Tensor host = normals.to(Device::cpu);
  const int64_t n = host.size(0), c = host.size(1), plane = host.size(2) * host.size(3);
  Photometric p;
  p.mean_.assign(c, 0.0f);
  p.stddev_.assign(c, 0.0f);
  std::vector<float> mean(c), stddev(c);
  for (int64_t i = 0; i < n; ++i) {
    channel_statistics(host.data() + i * c * plane, c, plane, mean.data(), stddev.data());
    for (int64_t k = 0; k < c; ++k) p.mean_[k] += mean[k] / float(n), p.stddev_[k] += stddev[k] / float(n);
  }
  return p;
}

Tensor Photometric::apply(const Tensor& images) const {
  if (!on()) return images;
  GANOMALY_CHECK(images.ndim() == 4 && images.size(1) == int64_t(mean_.size()), "photometric: expected images of ",
                 mean_.size(), " channels");
  Tensor out = images.to(Device::cpu).clone();
  const int64_t n = out.size(0), c = out.size(1), plane = out.size(2) * out.size(3);
  std::vector<float> mean(c), stddev(c);
  for (int64_t i = 0; i < n; ++i) {
    float* image = out.data() + i * c * plane;
    channel_statistics(image, c, plane, mean.data(), stddev.data());
    for (int64_t k = 0; k < c; ++k) {
      const float gain = stddev[k] > kFlatChannel ? stddev_[k] / stddev[k] : 1.0f;
      float* p = image + k * plane;
      for (int64_t j = 0; j < plane; ++j) p[j] = (p[j] - mean[k]) * gain + mean_[k];
    }
  }
  return out;
}

nn::NamedTensors Photometric::state() const {
  if (!on()) return {};
  const int64_t c = int64_t(mean_.size());
  return {{"mean", Tensor::from_vector({c}, mean_)}, {"std", Tensor::from_vector({c}, stddev_)}};
}

void Photometric::load_state(const nn::NamedTensors& tensors, int channels, const std::string& what) {
  *this = Photometric();
  const Tensor *mean = nullptr, *stddev = nullptr;
  for (const auto& [name, t] : tensors) {
    if (name == "mean") mean = &t;
    if (name == "std") stddev = &t;
  }
  if (!mean && !stddev) return;  // off, or a model file from before it
  GANOMALY_CHECK(mean && stddev && mean->ndim() == 1 && mean->shape() == stddev->shape() &&
                     mean->size(0) == channels,
                 what, ": photometric reference: expected 'mean' and 'std' of ", channels, " values");
  mean_ = mean->to_vector();
  stddev_ = stddev->to_vector();
  for (size_t k = 0; k < mean_.size(); ++k)
    GANOMALY_CHECK(std::isfinite(mean_[k]) && std::isfinite(stddev_[k]) && stddev_[k] >= 0, what,
                   ": photometric reference: values must be finite, spreads >= 0");
}

}  // namespace gan
