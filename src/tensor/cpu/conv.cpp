// conv2d and conv_transpose2d on the CPU through im2col / col2im and GEMM, forward and
// backward (cuda/conv.cu on the GPU; backend/conv.cpp dispatches).
//
// Images are processed in groups whose column matrices sit side by side, so one GEMM
// covers the whole group: C channels x (group * OH * OW) columns. A convolution is
//   Y[OC, cols] = W[OC, C K K] x col[C K K, cols]
// and a transposed convolution is its adjoint:
//   col[OC K K, cols] = W^T x X[IC, cols],  out = col2im(col).
#include <algorithm>
#include <cstring>
#include <optional>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "tensor/cpu/kernels.h"
#include "tensor/profile.h"
#include "tensor/storage.h"

namespace gan::cpu {
namespace {

// Column matrices are capped at this many floats (4 MiB) by shrinking the group, so the
// GEMM packs them while they are still in the last-level cache (measured: 1 << 20 took 8%
// less CPU time than 16 << 20 in a training step at 64 px; 1 << 18 and 1 << 19 no less).
// The budget grows to the weight matrix's size where that is larger: every group packs
// the whole weight matrix again (and the dW GEMM reads and writes it again), so the deep
// layers (2048 x 16384 weights, 16 output pixels per image) would stream their weights
// from memory several times per batch; columns no larger than the weights cost at most
// one weight read more (measured at 256 px: the 1024 -> 2048 conv 145 -> 180 GFLOP/s).
constexpr int64_t kColumnBudget = 1 << 20;

int64_t group_size(int64_t batch, int64_t floats_per_image, int64_t weight_floats) {
  const int64_t budget = std::max(kColumnBudget, weight_floats);
  return std::max<int64_t>(1, std::min<int64_t>(batch, budget / std::max<int64_t>(1, floats_per_image)));
}

// ---- Large images: each thread takes whole images, a block of rows at a time ----------
// With many output pixels per image (4225 to 17161 per channel at 256 px) a column matrix
// is up to 17 MiB per image: im2col would write it to memory and the GEMM's packing read
// it back. Here the column block of a few output rows stays in cache between the two, and
// the GEMMs read and write the image's own [channels, pixels] planes in place (ld = all
// its pixels), so the gather and scatter copies go too. Each GEMM runs on its own thread
// (gemm() does not nest threads). Weight gradients go to one buffer per thread, added in
// thread order afterwards: the result depends only on the thread count, as elsewhere.
constexpr int64_t kMinPixelsPerImage = 1024;  // below this, grouped images make wider GEMMs
constexpr int64_t kBlockFloats = 1 << 18;     // a column block of 1 MiB ...
constexpr int64_t kMinBlockColumns = 512;     // ... but no narrower (the GEMM pads its last panel)

int thread_count() {
#ifdef _OPENMP
  return omp_in_parallel() ? 1 : omp_get_max_threads();
#else
  return 1;
#endif
}

int thread_index() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

// Whether a batch of n images goes a block of rows at a time: large images, and at least
// one image per thread.
bool by_row_blocks(const ConvGeometry& geo, int64_t n) {
  return geo.cols() >= kMinPixelsPerImage && n >= thread_count();
}

int64_t rows_per_block(const ConvGeometry& geo) {
  const int64_t columns = std::max(kMinBlockColumns, kBlockFloats / geo.rows());
  return std::max<int64_t>(1, std::min(geo.out_height, columns / geo.out_width));
}

// Calls body(image, oy0, oy1, columns_block) for every block of output rows of every
// image, images split over the threads; columns_block is the thread's own buffer.
template <typename Body>
void for_row_blocks(const ConvGeometry& geo, int64_t n, Body body) {
  const int64_t rpb = rows_per_block(geo), block_floats = geo.rows() * rpb * geo.out_width;
  Storage buffers(static_cast<size_t>(thread_count() * block_floats));
  float* base = buffers.data();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    float* columns = base + thread_index() * block_floats;
    for (int64_t oy0 = 0; oy0 < geo.out_height; oy0 += rpb) body(i, oy0, std::min(geo.out_height, oy0 + rpb), columns);
  }
}

// Per-thread weight-gradient buffers of `size` floats, zeroed, and their sum into dw.
struct ThreadGrads {
  int64_t threads, size;
  Storage buffers;
  explicit ThreadGrads(int64_t size)
      : threads(thread_count()), size(size), buffers(static_cast<size_t>(threads * size)) {
    fill(threads * size, 0.0f, buffers.data());
  }
  float* mine() { return buffers.data() + thread_index() * size; }
  void add_to(float* dw) {
    const float* b = buffers.data();
#pragma omp parallel for schedule(static)
    for (int64_t j = 0; j < size; ++j) {
      float acc = dw[j];
      for (int64_t t = 0; t < threads; ++t) acc += b[t * size + j];
      dw[j] = acc;
    }
  }
};

// ---- Small images: the batch split over the threads ---------------------------------
// Below kMinPixelsPerImage the images of a group sit side by side in one column matrix.
// Splitting each of those GEMMs and im2col calls over the threads cost about 30 % more
// CPU time at 2 threads than at 1 (a scoring pass at 64 px: GEMM 114 -> 140 ms, im2col
// 33 -> 52 ms): the threads pack the same panels and read columns the other one wrote,
// while two 1-thread processes side by side each ran as fast as one alone. So with at
// least kMinImagesPerShard images per thread, each thread takes its own share of the
// batch through the grouped path alone (its own buffers; gemm() and the layout helpers
// do not nest threads), as the large-image path does per image. Shards follow the thread
// count only, so the result depends on the thread count alone, as elsewhere. Not for
// large weight matrices (the deep layers at 256 px: up to 2048 x 16384): every shard packs
// the weights again, and reading them from memory twice made training at 256 px, batch
// 4, 2 threads, slower (2.3 -> 1.9 img/s); those keep one GEMM split over the threads.
constexpr int64_t kMinImagesPerShard = 2;

// Calls body(n0, n1, dw_part) for disjoint ranges of images covering [0, n), in
// parallel. A backward pass's weight gradients (dw, weight_floats; null in a forward
// pass) go to one zeroed buffer per shard, added into dw in shard order afterwards; a
// single shard adds into dw itself.
template <typename Body>
void for_batch_shards(int64_t n, int64_t weight_floats, float* dw, Body body) {
  const int64_t shards =
      weight_floats > kColumnBudget ? 1 : std::min<int64_t>(thread_count(), n / kMinImagesPerShard);
  if (shards <= 1) return body(0, n, dw);
  std::optional<ThreadGrads> dw_parts;  // a forward pass has no gradients to gather
  if (dw) dw_parts.emplace(weight_floats);
#pragma omp parallel for num_threads(static_cast<int>(shards)) schedule(static, 1)
  for (int64_t s = 0; s < shards; ++s) body(n * s / shards, n * (s + 1) / shards, dw_parts ? dw_parts->mine() : nullptr);
  if (dw_parts) dw_parts->add_to(dw);
}

// Whether a forward convolution packs its GEMM panels straight from the images
// (im2col_panels.cpp) instead of through a column matrix: rows of output pixels long
// enough that a panel's runs are not mostly overhead. At 64 px, batch 32, one thread, it
// takes a quarter off im2col's CPU time (30 -> 23 ms a scoring pass) and adds most of that
// to the GEMM's packing (112 -> 114 ms), which reads short runs from the copy instead of
// long rows from the column matrix: 0 to 4% less CPU time in all. Rows of 8 pixels gained
// 2-3% over 16 and up; 4 no more.
constexpr int64_t kMinPanelRun = 8;
bool by_panels(const ConvGeometry& geo) { return geo.out_width >= kMinPanelRun; }

void conv2d_forward_rows(const ConvGeometry& geo, const float* x, const float* w, int64_t n, int64_t oc, float* out) {
  const int64_t pixels = geo.cols(), ow = geo.out_width, k = geo.rows();
  for_row_blocks(geo, n, [&](int64_t i, int64_t oy0, int64_t oy1, float* columns) {
    const int64_t cols = (oy1 - oy0) * ow;
    im2col_rows(geo, x + i * geo.channels * geo.height * geo.width, oy0, oy1, columns, cols);
    gemm(false, false, oc, cols, k, 1.0f, w, k, columns, cols, 0.0f, out + i * oc * pixels + oy0 * ow, pixels);
  });
}

void conv2d_backward_rows(const ConvGeometry& geo, const float* x, const float* w, const float* dout, int64_t n,
                          int64_t oc, float* dx, float* dw) {
  const int64_t pixels = geo.cols(), ow = geo.out_width, k = geo.rows(), plane = geo.channels * geo.height * geo.width;
  ThreadGrads dw_parts(dw ? oc * k : 1);
  for_row_blocks(geo, n, [&](int64_t i, int64_t oy0, int64_t oy1, float* columns) {
    const int64_t cols = (oy1 - oy0) * ow;
    const float* dy = dout + i * oc * pixels + oy0 * ow;
    if (dw) {  // dW += dY col^T
      im2col_rows(geo, x + i * plane, oy0, oy1, columns, cols);
      gemm(false, true, oc, k, cols, 1.0f, dy, pixels, columns, cols, 1.0f, dw_parts.mine(), k);
    }
    if (dx) {  // dcol = W^T dY, then dx += col2im(dcol)
      gemm(true, false, k, cols, oc, 1.0f, w, k, dy, pixels, 0.0f, columns, cols);
      col2im_add_rows(geo, columns, oy0, oy1, cols, dx + i * plane);
    }
  });
  if (dw) dw_parts.add_to(dw);
}

// The transposed convolution's blocks are rows of its input grid (geo.out_height).
void conv_transpose2d_forward_rows(const ConvGeometry& geo, const float* x, const float* w, int64_t n, int64_t ic,
                                   float* out) {
  const int64_t pixels = geo.cols(), wd = geo.out_width, k = geo.rows(), plane = geo.channels * geo.height * geo.width;
  for_row_blocks(geo, n, [&](int64_t i, int64_t r0, int64_t r1, float* columns) {
    const int64_t cols = (r1 - r0) * wd;
    gemm(true, false, k, cols, ic, 1.0f, w, k, x + i * ic * pixels + r0 * wd, pixels, 0.0f, columns, cols);
    col2im_add_rows(geo, columns, r0, r1, cols, out + i * plane);
  });
}

void conv_transpose2d_backward_rows(const ConvGeometry& geo, const float* x, const float* w, const float* dout,
                                    int64_t n, int64_t ic, float* dx, float* dw) {
  const int64_t pixels = geo.cols(), wd = geo.out_width, k = geo.rows(), plane = geo.channels * geo.height * geo.width;
  ThreadGrads dw_parts(dw ? ic * k : 1);
  for_row_blocks(geo, n, [&](int64_t i, int64_t r0, int64_t r1, float* columns) {
    const int64_t cols = (r1 - r0) * wd;
    im2col_rows(geo, dout + i * plane, r0, r1, columns, cols);  // dcol = im2col(dout)
    if (dw)  // dW[IC, OC K K] += X dcol^T
      gemm(false, true, ic, k, cols, 1.0f, x + i * ic * pixels + r0 * wd, pixels, columns, cols, 1.0f,
                dw_parts.mine(), k);
    if (dx)  // dX += W dcol
      gemm(false, false, ic, cols, k, 1.0f, w, k, columns, cols, 1.0f, dx + i * ic * pixels + r0 * wd, pixels);
  });
  if (dw) dw_parts.add_to(dw);
}

}  // namespace

// ---- Groups of images side by side -------------------------------------------------------

void conv2d_forward(const ConvGeometry& geo, int64_t n, int64_t oc, const float* x, const float* w, const float* bias,
                    float* out) {
  profile::Scope scope(profile::Op::conv_other);
  if (by_row_blocks(geo, n)) {
    conv2d_forward_rows(geo, x, w, n, oc, out);
  } else {
    for_batch_shards(n, oc * geo.rows(), nullptr, [&](int64_t lo, int64_t hi, float*) {
      const int64_t group = group_size(hi - lo, geo.rows() * geo.cols(), oc * geo.rows());
      Storage columns(by_panels(geo) ? 0 : static_cast<size_t>(geo.rows() * group * geo.cols()));
      Storage product(static_cast<size_t>(oc * group * geo.cols()));
      for (int64_t n0 = lo; n0 < hi; n0 += group) {
        const int64_t g = std::min(group, hi - n0), cols = g * geo.cols();
        if (by_panels(geo)) {
          conv2d_product_panels(geo, x, n0, g, oc, w, product.data());
        } else {
          im2col_group(geo, x, n0, g, columns.data());
          gemm(false, false, oc, cols, geo.rows(), 1.0f, w, geo.rows(), columns.data(), cols, 0.0f, product.data(),
               cols);
        }
        scatter_channels(product.data(), n0, g, oc, geo.cols(), out, false);
      }
    });
  }
  if (bias) add_bias(out, bias, n, oc, geo.cols());
}

void conv2d_backward(const ConvGeometry& geo, int64_t n, int64_t oc, const float* x, const float* w,
                     const float* dout, const ConvGradients& grads) {
  profile::Scope scope(profile::Op::conv_other);
  float *dx = grads.dx, *dw = grads.dweight;
  if (grads.dbias) bias_backward(grads.dbias, dout, n, oc, geo.cols());
  if (!dx && !dw) return;
  if (by_row_blocks(geo, n)) return conv2d_backward_rows(geo, x, w, dout, n, oc, dx, dw);
  for_batch_shards(n, oc * geo.rows(), dw, [&](int64_t lo, int64_t hi, float* dw_part) {
    const int64_t group = group_size(hi - lo, geo.rows() * geo.cols(), oc * geo.rows());
    Storage columns(static_cast<size_t>(geo.rows() * group * geo.cols()));
    Storage dy(static_cast<size_t>(oc * group * geo.cols()));
    for (int64_t n0 = lo; n0 < hi; n0 += group) {
      const int64_t g = std::min(group, hi - n0), cols = g * geo.cols();
      gather_channels(dout, n0, g, oc, geo.cols(), dy.data());
      if (dw_part) {  // dW += dY col^T
        im2col_group(geo, x, n0, g, columns.data());
        gemm(false, true, oc, geo.rows(), cols, 1.0f, dy.data(), cols, columns.data(), cols, 1.0f, dw_part,
             geo.rows());
      }
      if (dx) {  // dcol = W^T dY, then dx += col2im(dcol)
        gemm(true, false, geo.rows(), cols, oc, 1.0f, w, geo.rows(), dy.data(), cols, 0.0f, columns.data(), cols);
        col2im_group_add(geo, columns.data(), n0, g, dx);
      }
    }
  });
}

void conv_transpose2d_forward(const ConvGeometry& geo, int64_t n, int64_t ic, const float* x, const float* w,
                              const float* bias, float* out) {
  profile::Scope scope(profile::Op::conv_other);
  const int64_t oc = geo.channels;
  fill(n * oc * geo.height * geo.width, 0.0f, out);  // col2im adds into it
  if (by_row_blocks(geo, n)) {
    conv_transpose2d_forward_rows(geo, x, w, n, ic, out);
  } else {
    for_batch_shards(n, ic * geo.rows(), nullptr, [&](int64_t lo, int64_t hi, float*) {
      const int64_t group = group_size(hi - lo, geo.rows() * geo.cols(), ic * geo.rows());
      Storage columns(static_cast<size_t>(geo.rows() * group * geo.cols()));
      Storage xs(static_cast<size_t>(ic * group * geo.cols()));
      for (int64_t n0 = lo; n0 < hi; n0 += group) {
        const int64_t g = std::min(group, hi - n0), cols = g * geo.cols();
        gather_channels(x, n0, g, ic, geo.cols(), xs.data());
        gemm(true, false, geo.rows(), cols, ic, 1.0f, w, geo.rows(), xs.data(), cols, 0.0f, columns.data(), cols);
        col2im_group_add(geo, columns.data(), n0, g, out);
      }
    });
  }
  if (bias) add_bias(out, bias, n, oc, geo.height * geo.width);
}

void conv_transpose2d_backward(const ConvGeometry& geo, int64_t n, int64_t ic, const float* x, const float* w,
                               const float* dout, const ConvGradients& grads) {
  profile::Scope scope(profile::Op::conv_other);
  float *dx = grads.dx, *dw = grads.dweight;
  if (grads.dbias) bias_backward(grads.dbias, dout, n, geo.channels, geo.height * geo.width);
  if (!dx && !dw) return;
  if (by_row_blocks(geo, n)) return conv_transpose2d_backward_rows(geo, x, w, dout, n, ic, dx, dw);
  for_batch_shards(n, ic * geo.rows(), dw, [&](int64_t lo, int64_t hi, float* dw_part) {
    const int64_t group = group_size(hi - lo, geo.rows() * geo.cols(), ic * geo.rows());
    Storage columns(static_cast<size_t>(geo.rows() * group * geo.cols()));
    Storage xs(static_cast<size_t>(ic * group * geo.cols()));
    for (int64_t n0 = lo; n0 < hi; n0 += group) {
      const int64_t g = std::min(group, hi - n0), cols = g * geo.cols();
      im2col_group(geo, dout, n0, g, columns.data());  // dcol = im2col(dout)
      if (dw_part) {  // dW[IC, OC K K] += X dcol^T
        gather_channels(x, n0, g, ic, geo.cols(), xs.data());
        gemm(false, true, ic, geo.rows(), cols, 1.0f, xs.data(), cols, columns.data(), cols, 1.0f, dw_part,
             geo.rows());
      }
      if (dx) {  // dX += W dcol
        gemm(false, false, ic, cols, geo.rows(), 1.0f, w, geo.rows(), columns.data(), cols, 0.0f, xs.data(), cols);
        scatter_channels(xs.data(), n0, g, ic, geo.cols(), dx, true);
      }
    }
  });
}

}  // namespace gan::cpu
