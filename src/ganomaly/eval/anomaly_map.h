#pragma once
// Where the defect is: the anomaly map of an image, the residual map its residual score
// reads, standardised and smoothed with the same window, so that the map's largest value
// at the model's resolution is that score (docs/ALGORITHM.md, "Anomaly maps").
//
// Which map: residual_nn's (the residual standardised by the nearest training images'
// residuals) when the model has neighbour residuals, as every model trained since the
// fused score does; else residual_z's (standardised per pixel over all training
// normals); else the raw |x - fake| that residual_max reads.
#include <cstdint>
#include <string>
#include <vector>

#include "ganomaly/data/image.h"
#include "ganomaly/eval/calibration.h"

namespace gan {

// residual_nn, residual_z or residual_max: the score whose map the model shows.
Score map_score_of(const Ganomaly& model);
// The same choice from a set of scores: the first of the three they hold.
Score map_score_of(const Scores& scores);
// The window that score averages over (residual_map.h), for an h x w map.
int64_t map_window(Score map_score, int64_t h, int64_t w);

// Each pixel the mean of the window x window square that holds it, placed as centred as
// the map's edges allow. Every square that fits is some pixel's, so the largest value is
// window_max of the map: the score.
std::vector<float> smooth_map(const float* map, int64_t h, int64_t w, int64_t window);

// The maps, unsmoothed, from what Ganomaly::score put in `residuals` for `images` (the
// batch it scored, [N, C, h, w] at the model's size): standardised as `map_score` does.
std::vector<float> standardised_maps(const Ganomaly& model, Score map_score, const Tensor& images,
                                     const std::vector<float>& residuals);

// standardised_maps, each smoothed with its score's window: the anomaly maps.
std::vector<float> anomaly_maps(const Ganomaly& model, Score map_score, const Tensor& images,
                                const std::vector<float>& residuals);

// A batch scored and decided (score_and_decide), with its anomaly maps at the model's resolution.
struct ScoredMaps {
  Scores scores;                  // fused with the calibration
  std::vector<Verdict> verdicts;  // the calibration's, per image
  Score map_score = Score::residual_max;  // map_score_of(model)
  int64_t height = 0, width = 0;
  std::vector<float> maps;  // one height x width map per image, standardised and smoothed
  const float* map(size_t i) const { return maps.data() + i * height * width; }
};
ScoredMaps score_with_maps(Ganomaly& model, const Calibration& calibration, const Tensor& images,
                           FeatureScore feature);

// Images of any size in the model's channels, [0, 1], as the model's input [N, C, S, S]:
// resized to its size and normalised, as load_images does with image files.
Tensor model_inputs(const Ganomaly& model, const std::vector<Image>& images);

// The map back at the input image's size with the images' own filter (resize_image):
// bilinear with pixel centres at half-integers, edges clamped, antialiased when
// shrinking. Each value is a weighted mean of its neighbours, so the peak never grows.
std::vector<float> resize_map(const float* map, int width, int height, int out_width, int out_height);

// The map's peak (the first largest value in row order) and the region above `threshold`.
struct MapSummary {
  int peak_x = 0, peak_y = 0;  // in the map's pixels
  float peak = 0;
  float threshold = 0;
  int64_t area_pixels = 0;  // pixels strictly above the threshold
  double area_fraction = 0;
};
MapSummary summarise_map(const float* map, int width, int height, float threshold);

// The map threshold a calibration fits: the largest peak over the validation normals
// (labels 0), so that no held-out normal image shows a region.
float fit_map_threshold(const std::vector<float>& peaks, const std::vector<int>& labels);
// The threshold for `map_score`'s map: the calibration's own when it was fitted for that
// map; otherwise (a model file from before the maps) the decision threshold when the
// calibration decides with that very score, else kFallbackZThreshold for a standardised
// map, else +infinity (the raw map has no unit to guess in: no region).
constexpr float kFallbackZThreshold = 3.0f;
float map_threshold(const Calibration& calibration, Score map_score);

}  // namespace gan
