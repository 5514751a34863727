#pragma once
// How well an anomaly map localises: its pixel AUROC and AUPRO against defect masks.
// The same figures for every map a model can draw (kMapScores), so that validation can
// choose one (train/map_choice.h) and the test set report them alike.
#include <cmath>
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "ganomaly/model/ganomaly.h"

namespace gan {

struct PixelFigures {
  double auroc = std::nan(""), aupro = std::nan("");  // NaN: no defect pixel, or no defect-free one
  bool defined() const { return std::isfinite(auroc) && std::isfinite(aupro); }
};
// {"pixel_auroc": .., "pixel_aupro": ..}, null for an undefined figure.
nlohmann::json to_json(const PixelFigures& f);

// The map scores `model` can draw, in kMapScores order: residual_nn when it has neighbour
// residuals, residual_z when it has per-pixel statistics, always residual_max.
std::vector<Score> map_scores_of(const Ganomaly& model);

// `score`'s anomaly maps (anomaly_map.h anomaly_maps: standardised and smoothed with its
// window) of `images` [N, C, h, w], from the `residuals` Ganomaly::score gave for them,
// against `masks`: one per image, h * w values, nonzero in a defect; an image whose mask
// is not h * w values (none) is left out.
PixelFigures map_figures(const Ganomaly& model, Score score, const Tensor& images, const std::vector<float>& residuals,
                         const std::vector<std::vector<uint8_t>>& masks);

// [N, 1, h, w] masks (1 in a defect) as map_figures takes them.
std::vector<std::vector<uint8_t>> mask_bytes(const Tensor& masks);

}  // namespace gan
