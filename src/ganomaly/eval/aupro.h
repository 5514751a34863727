#pragma once
// AUPRO: the area under the per-region overlap curve up to a false-positive rate, as the
// MVTec AD paper defines it and anomalib reports it (fpr_limit 0.3).
//
// The defect regions are the 8-connected components of each mask. At a threshold t
// (a pixel is anomalous when its score >= t) the overlap is the mean over all regions of
// the fraction of the region's pixels at or above t, and the FPR the fraction of all
// defect-free pixels at or above t. The curve (FPR, overlap) from (0, 0), one point per
// distinct score, is integrated with the trapezoid rule up to FPR = limit (the last
// segment cut at the limit) and divided by the limit: 1 is perfect, a random map gives
// about limit / 2. A large region counts as much as a small one, unlike pixel AUROC.
#include <cstdint>
#include <vector>

namespace gan {

// The 8-connected components of mask > 0 in a height x width image: a label per pixel,
// 0 outside the mask, 1..count inside. Returns count.
int label_regions(const uint8_t* mask, int height, int width, int32_t* labels);

// `maps` and `masks`: `images` maps of height x width, one after another. NaN when there
// is no defect region or no defect-free pixel (the curve is undefined).
double aupro(const float* maps, const uint8_t* masks, int64_t images, int height, int width, double limit = 0.3);

}  // namespace gan
