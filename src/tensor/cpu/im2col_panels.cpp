// A convolution's forward product without its column matrix: the GEMM packs its B panels
// straight from the images (a PanelSource, gemm_sets.h) instead of reading a column matrix
// that im2col wrote (rows() x cols(): 4 times the input for a 4 x 4 kernel at stride 2).
// Measured at 64 px: im2col's CPU time falls by a quarter, but most of it reappears in the
// packing, which reads short runs from the copy below where it streamed the matrix's rows:
// about 3% of a scoring pass in all (README, "Where the time goes").
//
// The images are first copied once into a padded, phase-split layout, where every kernel
// row of the column matrix is a run of contiguous floats with no edge to test:
//   phased[i][c][y][q][j] = x[n0 + i][c][y - padding][j * stride + q - padding] (0 outside)
// for padded rows y < (out_height - 1) * stride + kernel and phases q < stride. Column
// matrix element (row (c, ki, kj), column (i, oy, ox)) is then
//   phased[i][c][oy * stride + ki][kj % stride][ox + kj / stride],
// the sum of a row offset (c, ki, kj) and a column offset (i, oy, ox), and a micro-panel's
// columns are runs along ox of at most out_width floats. The copy is the size of the input
// (a quarter of the column matrix at stride 2), and the packed panels hold the same floats
// as packing the column matrix would: the product is the same to the bit.
#include <algorithm>
#include <cstring>
#include <vector>

#include "tensor/cpu/gemm_sets.h"
#include "tensor/cpu/kernels.h"
#include "tensor/profile.h"
#include "tensor/storage.h"

namespace gan::cpu {
namespace {

// The padded rows and the floats of one padded row's phases, per image channel.
struct PhasedShape {
  int64_t rows, span;  // y < rows, j < span
  explicit PhasedShape(const ConvGeometry& geo)
      : rows((geo.out_height - 1) * geo.stride + geo.kernel), span(geo.out_width + (geo.kernel - 1) / geo.stride) {}
  int64_t plane(const ConvGeometry& geo) const { return rows * geo.stride * span; }
};

struct PhasedImages {
  const float* data = nullptr;         // [g][channels][rows][stride][span]
  std::vector<int64_t> row_offset;     // per column-matrix row (c, ki, kj)
  std::vector<int64_t> column_offset;  // per column (i, oy, ox)
  std::vector<int64_t> run_length;     // per column: columns left in its output row
};

// Fills `base` (g * channels * plane floats) and the offsets of `out`.
void build_phased(const ConvGeometry& geo, const float* images, int64_t n0, int64_t g, float* base,
                  PhasedImages& out) {
  profile::Scope scope(profile::Op::im2col);
  const int64_t s = geo.stride, k = geo.kernel, pad = geo.padding, ow = geo.out_width;
  const PhasedShape shape(geo);
  const int64_t rows = shape.rows, span = shape.span, row_floats = s * span, plane = shape.plane(geo);
  out.data = base;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t i = 0; i < g; ++i)
    for (int64_t c = 0; c < geo.channels; ++c) {
      const float* src = images + ((n0 + i) * geo.channels + c) * geo.height * geo.width;
      float* dst = base + (i * geo.channels + c) * plane;
      for (int64_t y = 0; y < rows; ++y) {
        const int64_t iy = y - pad;
        float* d = dst + y * row_floats;
        if (iy < 0 || iy >= geo.height) {
          std::fill(d, d + row_floats, 0.0f);
          continue;
        }
        const float* row = src + iy * geo.width;
        for (int64_t q = 0; q < s; ++q) {
          // j * s + q - pad inside [0, width): j in [lo, hi).
          const int64_t first = pad - q, last = geo.width - 1 + pad - q;
          const int64_t lo = std::min(span, first <= 0 ? 0 : (first + s - 1) / s);
          const int64_t hi = std::max(lo, std::min(span, last < 0 ? 0 : last / s + 1));
          float* dq = d + q * span;
          std::fill(dq, dq + lo, 0.0f);
          for (int64_t j = lo; j < hi; ++j) dq[j] = row[j * s + q - pad];
          std::fill(dq + hi, dq + span, 0.0f);
        }
      }
    }

  out.row_offset.resize(static_cast<size_t>(geo.rows()));
  for (int64_t c = 0; c < geo.channels; ++c)
    for (int64_t ki = 0; ki < k; ++ki)
      for (int64_t kj = 0; kj < k; ++kj)
        out.row_offset[(c * k + ki) * k + kj] = c * plane + ki * row_floats + (kj % s) * span + kj / s;
  out.column_offset.resize(static_cast<size_t>(g * geo.cols()));
  out.run_length.resize(out.column_offset.size());
  for (int64_t i = 0; i < g; ++i)
    for (int64_t oy = 0; oy < geo.out_height; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox) {
        const int64_t j = (i * geo.out_height + oy) * ow + ox;
        out.column_offset[j] = i * geo.channels * plane + oy * s * row_floats + ox;
        out.run_length[j] = ow - ox;
      }
}

// PanelSource::pack for a PhasedImages: micro-panel by micro-panel, each a list of runs
// (at most width / out_width + 2) copied for every row of the K slice.
void pack_phased(const void* self, int64_t p0, int64_t kc, int64_t j0, int64_t nc, int width, float* dst) {
  const PhasedImages& ph = *static_cast<const PhasedImages*>(self);
  const float* base = ph.data;
  const int64_t* row_offset = ph.row_offset.data() + p0;
  struct Run {
    int64_t at, length, source;
  };
  thread_local std::vector<Run> runs;  // at most `width`: reused, no allocation per call
  for (int64_t q0 = 0; q0 < nc; q0 += width) {
    const int64_t filled = std::min<int64_t>(width, nc - q0);
    runs.clear();
    for (int64_t r = 0; r < filled;) {
      const int64_t j = j0 + q0 + r, length = std::min(ph.run_length[j], filled - r);
      runs.push_back({r, length, ph.column_offset[j]});
      r += length;
    }
    float* panel = dst + q0 * kc;
    for (int64_t p = 0; p < kc; ++p) {
      const float* src = base + row_offset[p];
      float* d = panel + p * width;
      for (const Run& run : runs) {
        const float* __restrict s = src + run.source;
        float* __restrict o = d + run.at;
        // Eight floats a move: the runs are multiples of 8 long wherever the output rows
        // and the panel width are (every layer at 64 px with AVX2 or AVX-512 panels).
        int64_t t = 0;
        for (; t + 8 <= run.length; t += 8) std::memcpy(o + t, s + t, 8 * sizeof(float));
        for (; t < run.length; ++t) o[t] = s[t];
      }
      std::fill(d + filled, d + width, 0.0f);
    }
  }
}

}  // namespace

void conv2d_product_panels(const ConvGeometry& geo, const float* images, int64_t n0, int64_t g, int64_t oc,
                           const float* weight, float* product) {
  PhasedImages phased;
  Storage buffer(static_cast<size_t>(g * geo.channels * PhasedShape(geo).plane(geo)));
  build_phased(geo, images, n0, g, buffer.data(), phased);
  const PanelSource source{pack_phased, &phased};
  const int64_t k = geo.rows(), n = g * geo.cols();
  gemm_panels(false, oc, n, k, 1.0f, weight, k, source, 0.0f, product, n);
}

}  // namespace gan::cpu
