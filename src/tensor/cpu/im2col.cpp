// im2col and col2im, fast and naive, for one image, a block of its output rows, or a group
// of images side by side; the channel gathers and bias terms around them (cuda/im2col.cu).
#include <algorithm>
#include <cstring>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "tensor/cpu/kernels.h"
#include "tensor/profile.h"

namespace gan::cpu {

namespace {

// Kernel column kj reads input column ix = ox * stride + (kj - padding) for output column
// ox. Writing kj - padding = shift * stride + phase (0 <= phase < stride), that is element
// ox + shift of the row's phase-th subsequence (every stride-th pixel from `phase`). So a
// row is split into its `stride` subsequences once, and every kernel column becomes a
// contiguous copy (or add) of one of them: no strided access per kernel column and no
// branch per pixel. valid is the range of ox whose ix lies inside the image.
struct KernelColumn {
  int64_t phase, shift, lo, hi;
};

// Fills `columns` (reused per thread: this runs once per image and channel).
void kernel_columns(const ConvGeometry& g, std::vector<KernelColumn>& columns) {
  columns.resize(g.kernel);
  for (int64_t kj = 0; kj < g.kernel; ++kj) {
    const int64_t t = kj - g.padding;
    const int64_t phase = ((t % g.stride) + g.stride) % g.stride, shift = (t - phase) / g.stride;
    const int64_t first = -t;  // ox * stride >= first
    const int64_t lo = first <= 0 ? 0 : (first + g.stride - 1) / g.stride;
    const int64_t last = g.width - 1 - t;  // ox * stride <= last
    const int64_t hi = last < 0 ? 0 : std::min(g.out_width, last / g.stride + 1);
    columns[kj] = {phase, shift, std::min(lo, hi), hi};
  }
}

// What both kernels set up per call, in buffers reused per thread (a call covers one
// image and a block of channels): the kernel columns, and room for the stride
// subsequences of one input row, each `span` long: phases[q * span + j] = row[j * stride + q].
struct RowPlan {
  const std::vector<KernelColumn>& kcols;
  std::vector<float>& phases;
  int64_t span;
};

RowPlan plan_rows(const ConvGeometry& g) {
  thread_local std::vector<KernelColumn> kcols;
  thread_local std::vector<float> phases;
  kernel_columns(g, kcols);
  const int64_t span = (g.width + g.stride - 1) / g.stride;
  phases.resize(g.stride > 1 ? g.stride * span : 0);
  return {kcols, phases, span};
}

// phases[q * span + j] = row[j * stride + q]: a row split into its stride subsequences.
// Stride 2 (every strided layer here) deinterleaves 32 floats per two AVX-512 permutes;
// a scalar gather costs about a cycle per float and was most of im2col's time.
void split_phases(const float* row, int64_t width, int64_t stride, int64_t span, float* phases) {
  int64_t done = 0;  // pixels [0, done) handled
#if defined(__AVX512F__)
  if (stride == 2) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    for (; done + 32 <= width; done += 32) {
      const __m512 a = _mm512_loadu_ps(row + done), b = _mm512_loadu_ps(row + done + 16);
      _mm512_storeu_ps(phases + done / 2, _mm512_permutex2var_ps(a, even, b));
      _mm512_storeu_ps(phases + span + done / 2, _mm512_permutex2var_ps(a, odd, b));
    }
  }
#endif
  // The rest (all of a narrow row) a phase at a time: no division per pixel. `done` is a
  // multiple of the stride (0, or of 32 with stride 2).
  for (int64_t q = 0; q < stride; ++q)
    for (int64_t j = done / stride, x = done + q; x < width; ++j, x += stride) phases[q * span + j] = row[x];
}

// The inverse, adding: row[j * stride + q] += phases[q * span + j].
void merge_phases_add(const float* phases, int64_t width, int64_t stride, int64_t span, float* row) {
  int64_t done = 0;
#if defined(__AVX512F__)
  if (stride == 2) {
    const __m512i low = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i high = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    for (; done + 32 <= width; done += 32) {
      const __m512 e = _mm512_loadu_ps(phases + done / 2), o = _mm512_loadu_ps(phases + span + done / 2);
      _mm512_storeu_ps(row + done, _mm512_add_ps(_mm512_loadu_ps(row + done), _mm512_permutex2var_ps(e, low, o)));
      _mm512_storeu_ps(row + done + 16,
                       _mm512_add_ps(_mm512_loadu_ps(row + done + 16), _mm512_permutex2var_ps(e, high, o)));
    }
  }
#endif
  for (int64_t q = 0; q < stride; ++q)
    for (int64_t j = done / stride, x = done + q; x < width; ++j, x += stride) row[x] += phases[q * span + j];
}

}  // namespace

// Row r = (c, ki, kj) of the column matrix holds, for every output pixel (oy, ox), the
// input pixel (oy*stride - padding + ki, ox*stride - padding + kj) of channel c, or 0.
void im2col(const ConvGeometry& g, const float* image, float* columns, int64_t ld) {
  profile::Scope scope(profile::Op::im2col);
  im2col_rows(g, image, 0, g.out_height, columns, ld);
}

void im2col_rows(const ConvGeometry& g, const float* image, int64_t oy0, int64_t oy1, float* columns, int64_t ld) {
  profile::Scope scope(profile::Op::im2col);
  const int64_t k = g.kernel, stride = g.stride, ow = g.out_width;
  const RowPlan plan = plan_rows(g);
  for (int64_t c = 0; c < g.channels; ++c)
    for (int64_t ki = 0; ki < k; ++ki)
      for (int64_t oy = oy0; oy < oy1; ++oy) {
        float* rows = columns + (c * k + ki) * k * ld + (oy - oy0) * ow;  // kernel column kj at rows + kj * ld
        const int64_t iy = oy * stride - g.padding + ki;
        if (iy < 0 || iy >= g.height) {
          for (int64_t kj = 0; kj < k; ++kj) std::fill(rows + kj * ld, rows + kj * ld + ow, 0.0f);
          continue;
        }
        const float* row = image + (c * g.height + iy) * g.width;
        if (stride > 1) split_phases(row, g.width, stride, plan.span, plan.phases.data());
        for (int64_t kj = 0; kj < k; ++kj) {
          const KernelColumn& kc = plan.kcols[kj];
          // lo + shift >= 0: the first valid output column reads a pixel inside the row.
          const float* src = (stride > 1 ? plan.phases.data() + kc.phase * plan.span : row) + (kc.lo + kc.shift);
          float* dst = rows + kj * ld;
          std::fill(dst, dst + kc.lo, 0.0f);
          for (int64_t i = 0; i < kc.hi - kc.lo; ++i) dst[kc.lo + i] = src[i];  // short rows: no memmove call
          std::fill(dst + kc.hi, dst + ow, 0.0f);
        }
      }
}

void col2im_add(const ConvGeometry& g, const float* columns, int64_t ld, float* image) {
  profile::Scope scope(profile::Op::im2col);
  col2im_add_rows(g, columns, 0, g.out_height, ld, image);
}

void col2im_add_rows(const ConvGeometry& g, const float* columns, int64_t oy0, int64_t oy1, int64_t ld, float* image) {
  profile::Scope scope(profile::Op::im2col);
  const int64_t k = g.kernel, stride = g.stride, ow = g.out_width;
  const RowPlan plan = plan_rows(g);
  for (int64_t c = 0; c < g.channels; ++c)
    for (int64_t ki = 0; ki < k; ++ki)
      for (int64_t oy = oy0; oy < oy1; ++oy) {
        const int64_t iy = oy * stride - g.padding + ki;
        if (iy < 0 || iy >= g.height) continue;
        const float* rows = columns + (c * k + ki) * k * ld + (oy - oy0) * ow;
        float* row = image + (c * g.height + iy) * g.width;
        if (stride > 1) std::fill(plan.phases.begin(), plan.phases.end(), 0.0f);
        for (int64_t kj = 0; kj < k; ++kj) {
          const KernelColumn& kc = plan.kcols[kj];
          float* dst = (stride > 1 ? plan.phases.data() + kc.phase * plan.span : row) + (kc.lo + kc.shift);
          const float* src = rows + kj * ld + kc.lo;
          for (int64_t i = 0; i < kc.hi - kc.lo; ++i) dst[i] += src[i];
        }
        if (stride > 1) merge_phases_add(plan.phases.data(), g.width, stride, plan.span, row);
      }
}

void im2col_rows_naive(const ConvGeometry& g, const float* image, int64_t oy0, int64_t oy1, float* columns,
                       int64_t ld) {
  for (int64_t c = 0; c < g.channels; ++c)
    for (int64_t ki = 0; ki < g.kernel; ++ki)
      for (int64_t kj = 0; kj < g.kernel; ++kj)
        for (int64_t oy = oy0; oy < oy1; ++oy)
          for (int64_t ox = 0; ox < g.out_width; ++ox) {
            const int64_t iy = oy * g.stride - g.padding + ki, ix = ox * g.stride - g.padding + kj;
            const int64_t r = (c * g.kernel + ki) * g.kernel + kj;
            const bool inside = iy >= 0 && iy < g.height && ix >= 0 && ix < g.width;
            columns[r * ld + (oy - oy0) * g.out_width + ox] =
                inside ? image[(c * g.height + iy) * g.width + ix] : 0.0f;
          }
}

void col2im_add_rows_naive(const ConvGeometry& g, const float* columns, int64_t oy0, int64_t oy1, int64_t ld,
                           float* image) {
  for (int64_t c = 0; c < g.channels; ++c)
    for (int64_t ki = 0; ki < g.kernel; ++ki)
      for (int64_t kj = 0; kj < g.kernel; ++kj)
        for (int64_t oy = oy0; oy < oy1; ++oy)
          for (int64_t ox = 0; ox < g.out_width; ++ox) {
            const int64_t iy = oy * g.stride - g.padding + ki, ix = ox * g.stride - g.padding + kj;
            if (iy < 0 || iy >= g.height || ix < 0 || ix >= g.width) continue;
            const int64_t r = (c * g.kernel + ki) * g.kernel + kj;
            image[(c * g.height + iy) * g.width + ix] += columns[r * ld + (oy - oy0) * g.out_width + ox];
          }
}

void im2col_naive(const ConvGeometry& g, const float* image, float* columns, int64_t ld) {
  im2col_rows_naive(g, image, 0, g.out_height, columns, ld);
}

void col2im_add_naive(const ConvGeometry& g, const float* columns, int64_t ld, float* image) {
  col2im_add_rows_naive(g, columns, 0, g.out_height, ld, image);
}

// ---- Groups of images (the CPU convolutions, conv.cpp) ---------------------------------

// [n0 .. n0+g) images of NCHW `src` -> channel-major [C, g*HW] in `dst`.
void gather_channels(const float* src, int64_t n0, int64_t g, int64_t c, int64_t hw, float* dst) {
  profile::Scope scope(profile::Op::conv_layout);
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t i = 0; i < g; ++i)
      std::memcpy(dst + ch * g * hw + i * hw, src + ((n0 + i) * c + ch) * hw, sizeof(float) * hw);
}

// The inverse of gather_channels, adding into `dst` when `add` is set.
void scatter_channels(const float* src, int64_t n0, int64_t g, int64_t c, int64_t hw, float* dst, bool add) {
  profile::Scope scope(profile::Op::conv_layout);
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t i = 0; i < g; ++i)
    for (int64_t ch = 0; ch < c; ++ch) {
      const float* s = src + ch * g * hw + i * hw;
      float* d = dst + ((n0 + i) * c + ch) * hw;
      if (add)
        for (int64_t j = 0; j < hw; ++j) d[j] += s[j];
      else
        std::memcpy(d, s, sizeof(float) * hw);
    }
}

namespace {
// Tasks are (image, block of channels): a group may hold a single large image, and
// channels are independent in both directions (a channel's rows only read or write its
// plane). About 64 tasks per call keep both threads busy without a call per channel.
int64_t channels_per_task(const ConvGeometry& geo, int64_t g) {
  constexpr int64_t kTasks = 64;
  return std::max<int64_t>(1, std::min<int64_t>(geo.channels, geo.channels * g / kTasks));
}

// Calls task(part, image_offset, column_offset) for every (image, channel block) of the
// group in parallel: `part` is geo narrowed to the block's channels, the offsets are
// where the block starts in the images and in the columns (leading dimension g * cols).
template <typename Task>
void for_each_channel_block(const ConvGeometry& geo, int64_t n0, int64_t g, Task task) {
  const int64_t block = channels_per_task(geo, g), blocks = (geo.channels + block - 1) / block;
  const int64_t plane_size = geo.height * geo.width, ld = g * geo.cols(), rows_per_channel = geo.kernel * geo.kernel;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t i = 0; i < g; ++i)
    for (int64_t b = 0; b < blocks; ++b) {
      ConvGeometry part = geo;
      const int64_t c0 = b * block;
      part.channels = std::min(block, geo.channels - c0);
      task(part, ((n0 + i) * geo.channels + c0) * plane_size, c0 * rows_per_channel * ld + i * geo.cols());
    }
}

// Images of at most 8 x 8 output pixels go through the offset tables (im2col_gather.cpp):
// measured on one core at batch 32, im2col 5.0 -> 2.5 ms and col2im 7.8 -> 5.4 ms for
// 128 channels of 16 x 16, 2.5 -> 1.0 and 5.5 -> 0.9 ms for 256 of 8 x 8; at 16 x 16
// output pixels and more the row copies were as fast or faster (the writes bound both).
constexpr int64_t kMaxGatherPixels = 64;
bool by_gather(const ConvGeometry& geo) { return geo.cols() <= kMaxGatherPixels; }
}  // namespace

void im2col_group(const ConvGeometry& geo, const float* images, int64_t n0, int64_t g, float* columns) {
  profile::Scope scope(profile::Op::im2col);
  const int64_t ld = g * geo.cols();
  const bool gather = by_gather(geo);
  for_each_channel_block(geo, n0, g, [&](const ConvGeometry& part, int64_t image_at, int64_t column_at) {
    if (gather)
      im2col_gather(part, images + image_at, columns + column_at, ld);
    else
      im2col(part, images + image_at, columns + column_at, ld);
  });
}

void col2im_group_add(const ConvGeometry& geo, const float* columns, int64_t n0, int64_t g, float* images) {
  profile::Scope scope(profile::Op::im2col);
  const int64_t ld = g * geo.cols();
  const bool gather = by_gather(geo);
  for_each_channel_block(geo, n0, g, [&](const ConvGeometry& part, int64_t image_at, int64_t column_at) {
    if (gather)
      col2im_gather_add(part, columns + column_at, ld, images + image_at);
    else
      col2im_add(part, columns + column_at, ld, images + image_at);
  });
}

void add_bias(float* out, const float* bias, int64_t n, int64_t c, int64_t hw) {
  profile::Scope scope(profile::Op::conv_layout);
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t i = 0; i < n; ++i)
    for (int64_t ch = 0; ch < c; ++ch) {
      float* p = out + (i * c + ch) * hw;
      for (int64_t j = 0; j < hw; ++j) p[j] += bias[ch];
    }
}

void bias_backward(float* dbias, const float* dout, int64_t n, int64_t c, int64_t hw) {
  profile::Scope scope(profile::Op::conv_layout);
#pragma omp parallel for schedule(static)
  for (int64_t ch = 0; ch < c; ++ch) {
    double acc = 0.0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < hw; ++j) acc += dout[(i * c + ch) * hw + j];
    dbias[ch] += static_cast<float>(acc);
  }
}

}  // namespace gan::cpu
