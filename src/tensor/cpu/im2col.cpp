#include <cstring>

#include "tensor/cpu/kernels.h"

namespace gan::cpu {

// Row r = (c, ki, kj) of the column matrix holds, for every output pixel (oy, ox), the
// input pixel (oy*stride - padding + ki, ox*stride - padding + kj) of channel c, or 0.
void im2col(const ConvGeometry& g, const float* image, float* columns, int64_t ld) {
  const int64_t kk = g.kernel * g.kernel;
  for (int64_t r = 0; r < g.rows(); ++r) {
    const int64_t c = r / kk, ki = (r % kk) / g.kernel, kj = r % g.kernel;
    const float* plane = image + c * g.height * g.width;
    float* out = columns + r * ld;
    for (int64_t oy = 0; oy < g.out_height; ++oy) {
      const int64_t iy = oy * g.stride - g.padding + ki;
      float* dst = out + oy * g.out_width;
      if (iy < 0 || iy >= g.height) {
        std::memset(dst, 0, sizeof(float) * g.out_width);
        continue;
      }
      const float* src = plane + iy * g.width;
      if (g.stride == 1) {
        // Contiguous run: the valid output range maps to a contiguous input span.
        for (int64_t ox = 0; ox < g.out_width; ++ox) {
          const int64_t ix = ox - g.padding + kj;
          dst[ox] = (ix >= 0 && ix < g.width) ? src[ix] : 0.0f;
        }
      } else {
        for (int64_t ox = 0; ox < g.out_width; ++ox) {
          const int64_t ix = ox * g.stride - g.padding + kj;
          dst[ox] = (ix >= 0 && ix < g.width) ? src[ix] : 0.0f;
        }
      }
    }
  }
}

void col2im_add(const ConvGeometry& g, const float* columns, int64_t ld, float* image) {
  const int64_t kk = g.kernel * g.kernel;
  // Rows of one channel all write that channel's plane, so channels run in order here
  // and callers parallelise across images.
  for (int64_t r = 0; r < g.rows(); ++r) {
    const int64_t c = r / kk, ki = (r % kk) / g.kernel, kj = r % g.kernel;
    float* plane = image + c * g.height * g.width;
    const float* in = columns + r * ld;
    for (int64_t oy = 0; oy < g.out_height; ++oy) {
      const int64_t iy = oy * g.stride - g.padding + ki;
      if (iy < 0 || iy >= g.height) continue;
      float* dst = plane + iy * g.width;
      const float* src = in + oy * g.out_width;
      for (int64_t ox = 0; ox < g.out_width; ++ox) {
        const int64_t ix = ox * g.stride - g.padding + kj;
        if (ix >= 0 && ix < g.width) dst[ix] += src[ox];
      }
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
