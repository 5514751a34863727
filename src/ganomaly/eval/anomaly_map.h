#pragma once
// Where the defect is: the anomaly map of an image, in the units of the score that decides
// (docs/ALGORITHM.md, "Anomaly maps"). One threshold decides both the verdict and the
// region the map outlines: the map's largest value is the image's deciding score, so an
// image is anomalous exactly when some pixel of its map is at or above the threshold.
//
// The map's shape comes from the residual map a residual score reads, standardised and
// smoothed with that score's window (whose largest value is that score): residual_nn's
// (the residual standardised by the nearest training images' residuals) when the model
// has neighbour residuals, as every model trained since the fused score does; else
// residual_z's (standardised per pixel over all training normals); else the raw
// |x - fake| that residual_max reads. The deciding score s, were its residual part read
// at one pixel's window instead of the worst one, is s + slope * (m - max m): the map.
#include <cstdint>
#include <string>
#include <vector>

#include "ganomaly/data/image.h"
#include "ganomaly/eval/calibration.h"

namespace gan {

// residual_nn, residual_z or residual_max: the residual score whose map the model has.
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

// The residual map a calibration's deciding score reads, and how steeply: d(deciding
// score) / d(that residual score).
//   - the deciding score is residual_nn, residual_z or residual_max: its own map, slope 1;
//   - fused: the residual part it sums (residual_nn, or residual_z in older files), slope
//     weight / stddev, as Calibration::fuse adds it; 0 when its weight is 0;
//   - latent, reconstruction, feature, or a fused score without a residual part: the
//     decision has no place in the image; the model's map, slope 0: a flat map.
struct MapPart {
  Score score = Score::residual_max;
  float slope = 0;
};
MapPart map_part_of(const Calibration& calibration, const Ganomaly& model);

// Each of `maps` (one per image, `pixels` values each) made its image's decision map:
// decided[i] + slope * (m - max m). Its largest value is decided[i] exactly (slope x 0
// added), every other at most that; slope 0 gives the flat map decided[i].
void to_decision_maps(std::vector<float>& maps, size_t pixels, const std::vector<float>& decided, float slope);

// A batch scored and decided (score_and_decide), with its decision maps at the model's resolution.
struct ScoredMaps {
  Scores scores;                  // fused with the calibration
  std::vector<Verdict> verdicts;  // the calibration's, per image
  MapPart part;                   // map_part_of(calibration, model)
  int64_t height = 0, width = 0;
  // One height x width map per image, in the deciding score's units: anomaly_maps of
  // part.score through to_decision_maps, so its largest value is verdicts[i].raw.
  std::vector<float> maps;
  const float* map(size_t i) const { return maps.data() + i * height * width; }
};
ScoredMaps score_with_maps(Ganomaly& model, const Calibration& calibration, const Tensor& images,
                           FeatureScore feature);

// Images of any size in the model's channels, [0, 1], as the model's input [N, C, S, S]:
// resized to its size and normalised, as load_images does with image files.
Tensor model_inputs(const Ganomaly& model, const std::vector<Image>& images);

// The map at another size (the input image's), keeping its largest value exactly, so
// that the peak stays the deciding score at any size (a 1x1 image included). Per axis:
//   - enlarging: each pixel's two corners take the larger of the pixels that meet there
//     (the edge pixel's own value at the image's edges), and values between are linear
//     from the corners, with pixel centres at half-integers. Continuous; a pixel no
//     smaller than its neighbours keeps its value over its whole area, which always
//     holds a new pixel's centre; a pixel at or above a threshold stays so over its area.
//   - shrinking: each new pixel the largest of the pixels its area overlaps.
//   - the same size: a copy.
// No value exceeds the map's largest; the region at or above a threshold is nonempty
// exactly when it was at the old size.
std::vector<float> resize_map(const float* map, int width, int height, int out_width, int out_height);

// The map's peak (the first largest value in row order) and the region at or above the
// threshold: the decision's (an image is anomalous when its score is at or above it).
struct MapSummary {
  int peak_x = 0, peak_y = 0;  // in the map's pixels
  float peak = 0;
  float threshold = 0;
  int64_t area_pixels = 0;  // pixels at or above the threshold
  double area_fraction = 0;
};
MapSummary summarise_map(const float* map, int width, int height, float threshold);

}  // namespace gan
