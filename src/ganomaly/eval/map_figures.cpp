#include "ganomaly/eval/map_figures.h"

#include <algorithm>

#include "ganomaly/eval/anomaly_map.h"
#include "ganomaly/eval/aupro.h"
#include "ganomaly/eval/metrics.h"

namespace gan {

nlohmann::json to_json(const PixelFigures& f) {
  auto number = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); };
  return {{"pixel_auroc", number(f.auroc)}, {"pixel_aupro", number(f.aupro)}};
}

std::vector<Score> map_scores_of(const Ganomaly& model) {
  std::vector<Score> out;
  if (!model.residual_nn.empty()) out.push_back(Score::residual_nn);
  if (!model.residual_z.empty()) out.push_back(Score::residual_z);
  out.push_back(Score::residual_max);
  return out;
}

PixelFigures map_figures(const Ganomaly& model, Score score, const Tensor& images, const std::vector<float>& residuals,
                         const std::vector<std::vector<uint8_t>>& masks) {
  const int h = static_cast<int>(images.size(2)), w = static_cast<int>(images.size(3));
  const size_t pixels = size_t(h) * w;
  GANOMALY_CHECK(masks.size() == size_t(images.size(0)), "map figures: ", masks.size(), " masks for ",
                 images.size(0), " images");
  const std::vector<float> maps = anomaly_maps(model, score, images, residuals);
  std::vector<float> values;
  std::vector<uint8_t> labels;
  for (size_t i = 0; i < masks.size(); ++i) {
    if (masks[i].size() != pixels) continue;
    values.insert(values.end(), maps.begin() + i * pixels, maps.begin() + (i + 1) * pixels);
    labels.insert(labels.end(), masks[i].begin(), masks[i].end());
  }
  PixelFigures f;
  const auto defect = std::count_if(labels.begin(), labels.end(), [](uint8_t v) { return v != 0; });
  if (defect == 0 || size_t(defect) == labels.size()) return f;
  f.auroc = pixel_auroc(values.data(), labels.data(), values.size());
  f.aupro = aupro(values.data(), labels.data(), int64_t(values.size() / pixels), h, w);
  return f;
}

std::vector<std::vector<uint8_t>> mask_bytes(const Tensor& masks) {
  GANOMALY_CHECK(masks.ndim() == 4 && masks.size(1) == 1, "mask_bytes: expected [N, 1, H, W], got ", masks.shape());
  const Tensor host = masks.to(Device::cpu);
  const size_t n = size_t(host.size(0)), pixels = size_t(host.size(2) * host.size(3));
  std::vector<std::vector<uint8_t>> out(n, std::vector<uint8_t>(pixels));
  for (size_t i = 0; i < n; ++i)
    for (size_t p = 0; p < pixels; ++p) out[i][p] = host.data()[i * pixels + p] > 0.5f ? 1 : 0;
  return out;
}

}  // namespace gan
