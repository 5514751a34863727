#include "ganomaly/eval/aupro.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "tensor/check.h"

namespace gan {

int label_regions(const uint8_t* mask, int height, int width, int32_t* labels) {
  const int64_t pixels = static_cast<int64_t>(height) * width;
  std::fill(labels, labels + pixels, 0);
  std::vector<int64_t> stack;
  int count = 0;
  for (int64_t start = 0; start < pixels; ++start) {
    if (!mask[start] || labels[start]) continue;
    labels[start] = ++count;
    stack.assign(1, start);
    while (!stack.empty()) {  // flood fill: explicit stack, no recursion depth limit
      const int64_t p = stack.back();
      stack.pop_back();
      const int y = static_cast<int>(p / width), x = static_cast<int>(p % width);
      for (int ny = std::max(0, y - 1); ny <= std::min(height - 1, y + 1); ++ny)
        for (int nx = std::max(0, x - 1); nx <= std::min(width - 1, x + 1); ++nx) {
          const int64_t q = static_cast<int64_t>(ny) * width + nx;
          if (mask[q] && !labels[q]) {
            labels[q] = count;
            stack.push_back(q);
          }
        }
    }
  }
  return count;
}

double aupro(const float* maps, const uint8_t* masks, int64_t images, int height, int width, double limit) {
  GANOMALY_CHECK(images >= 0 && height > 0 && width > 0, "aupro: bad map size ", images, " x ", height, " x ", width);
  GANOMALY_CHECK(limit > 0 && limit <= 1, "aupro: the FPR limit must be in (0, 1], got ", limit);
  const int64_t per_image = static_cast<int64_t>(height) * width, total = images * per_image;
  for (int64_t p = 0; p < total; ++p)
    GANOMALY_CHECK(std::isfinite(maps[p]), "aupro: anomaly map value ", p, " is not finite (", maps[p], ")");
  // Each defect pixel's share of the overlap: 1 / (its region's size x the number of
  // regions). Summed over the pixels at or above t it is the overlap at t.
  std::vector<double> weight(total, 0.0);
  std::vector<int32_t> labels(per_image);
  std::vector<int64_t> region_pixels;
  int64_t normal = 0;
  for (int64_t i = 0; i < images; ++i) {
    const int64_t base = i * per_image;
    const int count = label_regions(masks + base, height, width, labels.data());
    const size_t first = region_pixels.size();
    region_pixels.resize(first + count, 0);
    for (int64_t p = 0; p < per_image; ++p)
      if (labels[p]) ++region_pixels[first + labels[p] - 1];
      else ++normal;
    for (int64_t p = 0; p < per_image; ++p)
      if (labels[p]) weight[base + p] = 1.0 / static_cast<double>(region_pixels[first + labels[p] - 1]);
  }
  const double regions = static_cast<double>(region_pixels.size());
  if (regions == 0 || normal == 0) return std::numeric_limits<double>::quiet_NaN();

  std::vector<int64_t> order(total);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [maps](int64_t a, int64_t b) { return maps[a] > maps[b]; });
  double area = 0, fpr = 0, pro = 0;
  int64_t false_positives = 0;
  double overlap_sum = 0;
  for (int64_t k = 0; k < total;) {
    const float t = maps[order[k]];
    for (; k < total && maps[order[k]] == t; ++k) {  // every pixel of this threshold at once
      const int64_t p = order[k];
      if (masks[p]) overlap_sum += weight[p];
      else ++false_positives;
    }
    double next_fpr = static_cast<double>(false_positives) / static_cast<double>(normal);
    double next_pro = overlap_sum / regions;
    if (next_fpr > limit) {  // cut the last segment at the limit
      next_pro = pro + (next_pro - pro) * (limit - fpr) / (next_fpr - fpr);
      next_fpr = limit;
    }
    area += (next_fpr - fpr) * (pro + next_pro) / 2;
    fpr = next_fpr;
    pro = next_pro;
    if (fpr >= limit) break;
  }
  return area / limit;
}

}  // namespace gan
