// im2col and col2im for small images through tables of offsets (cuda/im2col.cu computes
// every element on its own thread instead). With few output pixels per row (8 x 8 and
// fewer: the deep layers), im2col.cpp's row copies move 4 to 8 floats per call and their
// set-up dominates: 2 to 3 GB/s written on the 64 px network's deep layers, where the
// GEMM that reads them runs at 170 GFLOP/s. Here every column-matrix element has its
// source pixel's offset in a table built once per geometry, and a channel is one pass of
// (AVX-512: masked vector) gathers; col2im is turned around into a gather too: each image
// pixel sums the at most ceil(k / stride)^2 column elements that hold it, in the naive
// col2im's order, so no two writes meet and no scatter is needed.
#include <algorithm>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "tensor/cpu/kernels.h"
#include "tensor/profile.h"

namespace gan::cpu {
namespace {

bool same_geometry(const ConvGeometry& a, const ConvGeometry& b) {
  return a.height == b.height && a.width == b.width && a.kernel == b.kernel && a.stride == b.stride &&
         a.padding == b.padding && a.out_height == b.out_height && a.out_width == b.out_width;
}

// offsets[r * cols + p]: the plane offset of the pixel that row r = (ki, kj) of a channel
// reads for output pixel p, or -1 in the padding. Built once per thread and geometry.
const std::vector<int32_t>& gather_offsets(const ConvGeometry& g) {
  thread_local ConvGeometry key{};
  thread_local std::vector<int32_t> offsets;
  if (offsets.empty() || !same_geometry(key, g)) {
    key = g;
    const int64_t k = g.kernel, cols = g.cols();
    offsets.assign(static_cast<size_t>(k * k * cols), -1);
    for (int64_t ki = 0; ki < k; ++ki)
      for (int64_t kj = 0; kj < k; ++kj)
        for (int64_t oy = 0; oy < g.out_height; ++oy)
          for (int64_t ox = 0; ox < g.out_width; ++ox) {
            const int64_t iy = oy * g.stride - g.padding + ki, ix = ox * g.stride - g.padding + kj;
            if (iy >= 0 && iy < g.height && ix >= 0 && ix < g.width)
              offsets[static_cast<size_t>((ki * k + kj) * cols + oy * g.out_width + ox)] =
                  static_cast<int32_t>(iy * g.width + ix);
          }
  }
  return offsets;
}

// The transpose: sources[j * plane + q] is the offset, in one channel's k * k rows of a
// column matrix with leading dimension ld, of the j-th element holding pixel q, or -1;
// `per_pixel` entries per pixel. Depends on ld, so it is keyed on it too.
struct Sources {
  std::vector<int32_t> offsets;
  int64_t per_pixel = 0;
};
const Sources& col2im_sources(const ConvGeometry& g, int64_t ld) {
  thread_local ConvGeometry key{};
  thread_local int64_t key_ld = -1;
  thread_local Sources s;
  if (key_ld != ld || !same_geometry(key, g)) {
    key = g;
    key_ld = ld;
    const int64_t k = g.kernel, plane = g.height * g.width, per_side = (k + g.stride - 1) / g.stride;
    s.per_pixel = per_side * per_side;
    s.offsets.assign(static_cast<size_t>(s.per_pixel * plane), -1);
    std::vector<int64_t> filled(static_cast<size_t>(plane), 0);
    // Rows in the naive col2im's order (ki, kj, then pixels), so each pixel's sum runs in it.
    for (int64_t ki = 0; ki < k; ++ki)
      for (int64_t kj = 0; kj < k; ++kj)
        for (int64_t oy = 0; oy < g.out_height; ++oy)
          for (int64_t ox = 0; ox < g.out_width; ++ox) {
            const int64_t iy = oy * g.stride - g.padding + ki, ix = ox * g.stride - g.padding + kj;
            if (iy < 0 || iy >= g.height || ix < 0 || ix >= g.width) continue;
            const int64_t q = iy * g.width + ix;
            s.offsets[static_cast<size_t>(filled[q]++ * plane + q)] =
                static_cast<int32_t>((ki * k + kj) * ld + oy * g.out_width + ox);
          }
  }
  return s;
}

}  // namespace

void im2col_gather(const ConvGeometry& g, const float* image, float* columns, int64_t ld) {
  profile::Scope scope(profile::Op::im2col);
  const std::vector<int32_t>& offsets = gather_offsets(g);
  const int64_t kk = g.kernel * g.kernel, cols = g.cols(), plane = g.height * g.width;
  for (int64_t c = 0; c < g.channels; ++c) {
    const float* src = image + c * plane;
    for (int64_t r = 0; r < kk; ++r) {
      const int32_t* off = offsets.data() + r * cols;
      float* dst = columns + (c * kk + r) * ld;
      int64_t p = 0;
#if defined(__AVX512F__)
      for (; p < cols; p += 16) {
        const __mmask16 in_row = cols - p >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (cols - p)) - 1);
        const __m512i idx = _mm512_maskz_loadu_epi32(in_row, off + p);
        const __mmask16 inside = _mm512_mask_cmpge_epi32_mask(in_row, idx, _mm512_setzero_si512());
        _mm512_mask_storeu_ps(dst + p, in_row, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), inside, idx, src, 4));
      }
#endif
      for (; p < cols; ++p) dst[p] = off[p] >= 0 ? src[off[p]] : 0.0f;
    }
  }
}

void col2im_gather_add(const ConvGeometry& g, const float* columns, int64_t ld, float* image) {
  profile::Scope scope(profile::Op::im2col);
  const Sources& s = col2im_sources(g, ld);
  const int64_t kk = g.kernel * g.kernel, plane = g.height * g.width;
  for (int64_t c = 0; c < g.channels; ++c) {
    const float* src = columns + c * kk * ld;
    float* dst = image + c * plane;
    int64_t q = 0;
#if defined(__AVX512F__)
    for (; q < plane; q += 16) {
      const __mmask16 in_plane = plane - q >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (plane - q)) - 1);
      __m512 acc = _mm512_maskz_loadu_ps(in_plane, dst + q);
      for (int64_t j = 0; j < s.per_pixel; ++j) {
        const __m512i idx = _mm512_maskz_loadu_epi32(in_plane, s.offsets.data() + j * plane + q);
        const __mmask16 held = _mm512_mask_cmpge_epi32_mask(in_plane, idx, _mm512_setzero_si512());
        acc = _mm512_add_ps(acc, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), held, idx, src, 4));
      }
      _mm512_mask_storeu_ps(dst + q, in_plane, acc);
    }
#endif
    for (; q < plane; ++q) {
      float acc = dst[q];
      for (int64_t j = 0; j < s.per_pixel; ++j) {
        const int32_t at = s.offsets[static_cast<size_t>(j * plane + q)];
        acc += at >= 0 ? src[at] : 0.0f;
      }
      dst[q] = acc;
    }
  }
}

}  // namespace gan::cpu
