#include <algorithm>
#include <cstring>

#include "tensor/cpu/kernels.h"

namespace gan::cpu {

namespace {

// The output columns ox whose input column ox*stride - padding + kj lies inside the
// image: [lo, hi). Computed once per kernel column, so the inner loops have no branches.
struct ValidRange {
  int64_t lo, hi;
};
ValidRange valid_columns(const ConvGeometry& g, int64_t kj) {
  const int64_t first = g.padding - kj;  // ox * stride >= first
  const int64_t lo = first <= 0 ? 0 : (first + g.stride - 1) / g.stride;
  const int64_t last = g.width - 1 + g.padding - kj;  // ox * stride <= last
  const int64_t hi = last < 0 ? 0 : std::min(g.out_width, last / g.stride + 1);
  return {std::min(lo, hi), hi};
}

}  // namespace

// Row r = (c, ki, kj) of the column matrix holds, for every output pixel (oy, ox), the
// input pixel (oy*stride - padding + ki, ox*stride - padding + kj) of channel c, or 0.
void im2col(const ConvGeometry& g, const float* image, float* columns, int64_t ld) {
  const int64_t kk = g.kernel * g.kernel, stride = g.stride;
  for (int64_t r = 0; r < g.rows(); ++r) {
    const int64_t c = r / kk, ki = (r % kk) / g.kernel, kj = r % g.kernel;
    const ValidRange v = valid_columns(g, kj);
    const float* plane = image + c * g.height * g.width;
    float* out = columns + r * ld;
    for (int64_t oy = 0; oy < g.out_height; ++oy) {
      const int64_t iy = oy * stride - g.padding + ki;
      float* dst = out + oy * g.out_width;
      if (iy < 0 || iy >= g.height) {
        std::fill(dst, dst + g.out_width, 0.0f);
        continue;
      }
      std::fill(dst, dst + v.lo, 0.0f);
      const int64_t base = iy * g.width - g.padding + kj;  // plane[base + ox * stride] is the input pixel
      if (stride == 1)
        std::copy(plane + base + v.lo, plane + base + v.hi, dst + v.lo);
      else
        for (int64_t ox = v.lo; ox < v.hi; ++ox) dst[ox] = plane[base + ox * stride];
      std::fill(dst + v.hi, dst + g.out_width, 0.0f);
    }
  }
}

void col2im_add(const ConvGeometry& g, const float* columns, int64_t ld, float* image) {
  const int64_t kk = g.kernel * g.kernel, stride = g.stride;
  // Rows of one channel all write that channel's plane, so channels run in order here
  // and callers parallelise across images.
  for (int64_t r = 0; r < g.rows(); ++r) {
    const int64_t c = r / kk, ki = (r % kk) / g.kernel, kj = r % g.kernel;
    const ValidRange v = valid_columns(g, kj);
    float* plane = image + c * g.height * g.width;
    const float* in = columns + r * ld;
    for (int64_t oy = 0; oy < g.out_height; ++oy) {
      const int64_t iy = oy * stride - g.padding + ki;
      if (iy < 0 || iy >= g.height) continue;
      const int64_t base = iy * g.width - g.padding + kj;  // plane[base + ox * stride] is the input pixel
      const float* src = in + oy * g.out_width;
      for (int64_t ox = v.lo; ox < v.hi; ++ox) plane[base + ox * stride] += src[ox];
    }
  }
}

void im2col_naive(const ConvGeometry& g, const float* image, float* columns, int64_t ld) {
  for (int64_t c = 0; c < g.channels; ++c)
    for (int64_t ki = 0; ki < g.kernel; ++ki)
      for (int64_t kj = 0; kj < g.kernel; ++kj)
        for (int64_t oy = 0; oy < g.out_height; ++oy)
          for (int64_t ox = 0; ox < g.out_width; ++ox) {
            const int64_t iy = oy * g.stride - g.padding + ki, ix = ox * g.stride - g.padding + kj;
            const int64_t r = (c * g.kernel + ki) * g.kernel + kj;
            const bool inside = iy >= 0 && iy < g.height && ix >= 0 && ix < g.width;
            columns[r * ld + oy * g.out_width + ox] = inside ? image[(c * g.height + iy) * g.width + ix] : 0.0f;
          }
}

void col2im_add_naive(const ConvGeometry& g, const float* columns, int64_t ld, float* image) {
  for (int64_t c = 0; c < g.channels; ++c)
    for (int64_t ki = 0; ki < g.kernel; ++ki)
      for (int64_t kj = 0; kj < g.kernel; ++kj)
        for (int64_t oy = 0; oy < g.out_height; ++oy)
          for (int64_t ox = 0; ox < g.out_width; ++ox) {
            const int64_t iy = oy * g.stride - g.padding + ki, ix = ox * g.stride - g.padding + kj;
            if (iy < 0 || iy >= g.height || ix < 0 || ix >= g.width) continue;
            const int64_t r = (c * g.kernel + ki) * g.kernel + kj;
            image[(c * g.height + iy) * g.width + ix] += columns[r * ld + oy * g.out_width + ox];
          }
}

}  // namespace gan::cpu
