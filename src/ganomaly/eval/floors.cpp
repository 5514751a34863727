#include "ganomaly/eval/floors.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ganomaly/eval/metrics.h"

namespace gan {

const std::vector<std::string>& floor_score_names() {
  static const std::vector<std::string> names = {"nearest_l1", "nearest_l2", "mean_l1", "mean_l2"};
  return names;
}

TrivialFloors::TrivialFloors(const Tensor& normals) : normals_(normals.to(Device::cpu)) {
  GANOMALY_CHECK(normals_.ndim() == 4 && normals_.size(0) >= 1, "trivial floors: expected [N, C, H, W] training images, got ",
                 normals_.shape());
  const int64_t n = normals_.size(0), per = normals_.numel() / n;
  std::vector<double> sum(per, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < per; ++j) sum[j] += normals_.data()[i * per + j];
  mean_.resize(per);
  for (int64_t j = 0; j < per; ++j) mean_[j] = static_cast<float>(sum[j] / n);
}

namespace {
// Mean absolute and root mean squared difference of two images of `n` values.
std::pair<double, double> distances(const float* a, const float* b, int64_t n) {
  double l1 = 0, l2 = 0;
  for (int64_t j = 0; j < n; ++j) {
    const double d = a[j] - b[j];
    l1 += std::fabs(d);
    l2 += d * d;
  }
  return {l1 / n, std::sqrt(l2 / n)};
}
}  // namespace

std::map<std::string, std::vector<float>> TrivialFloors::score(const Tensor& images) const {
  const Tensor x = images.to(Device::cpu);
  const int64_t per = static_cast<int64_t>(mean_.size());
  GANOMALY_CHECK(x.ndim() == 4 && x.numel() / std::max<int64_t>(1, x.size(0)) == per && x.size(1) == normals_.size(1),
                 "trivial floors: images of shape ", x.shape(), " do not match the training images' ", normals_.shape());
  const int64_t m = x.size(0), n = normals_.size(0);
  std::vector<float> nearest_l1(m), nearest_l2(m), mean_l1(m), mean_l2(m);
#pragma omp parallel for schedule(dynamic)
  for (int64_t i = 0; i < m; ++i) {
    const float* image = x.data() + i * per;
    double best_l1 = std::numeric_limits<double>::infinity(), best_l2 = best_l1;
    for (int64_t k = 0; k < n; ++k) {
      const auto [l1, l2] = distances(image, normals_.data() + k * per, per);
      best_l1 = std::min(best_l1, l1);
      best_l2 = std::min(best_l2, l2);
    }
    const auto [l1, l2] = distances(image, mean_.data(), per);
    nearest_l1[i] = static_cast<float>(best_l1);
    nearest_l2[i] = static_cast<float>(best_l2);
    mean_l1[i] = static_cast<float>(l1);
    mean_l2[i] = static_cast<float>(l2);
  }
  return {{"nearest_l1", nearest_l1}, {"nearest_l2", nearest_l2}, {"mean_l1", mean_l1}, {"mean_l2", mean_l2}};
}

std::map<std::string, double> TrivialFloors::auroc(const Tensor& images, const std::vector<int>& labels) const {
  const bool both = std::count(labels.begin(), labels.end(), 1) > 0 && std::count(labels.begin(), labels.end(), 0) > 0;
  if (!both) return {};
  std::map<std::string, double> out;
  for (const auto& [name, s] : score(images)) out[name] = gan::auroc(s, labels);
  return out;
}

}  // namespace gan
