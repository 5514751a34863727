// The convolution helpers of conv.cu (as cpu/im2col.cpp): im2col / col2im over a group of images,
// channel gathers and scatters, bias add and its gradient.
#include "tensor/cuda/common.cuh"

namespace gan::cuda {

// columns[r, i * cols + pixel]: row r = (c, ki, kj) holds, for output pixel (oy, ox) of
// image n0 + i, input pixel (oy*stride - padding + ki, ox*stride - padding + kj) of
// channel c, or 0 outside the image (as cpu::im2col).
void im2col_group(const ConvGeometry& geo, const float* images, int64_t n0, int64_t g, float* columns) {
  const ConvGeometry q = geo;
  const int64_t cols = q.cols(), ld = g * cols, image_size = q.channels * q.height * q.width;
  const int64_t kk = q.kernel * q.kernel;
  for_each(
      q.rows() * ld,
      [=] __device__(int64_t at) {
        const int64_t r = at / ld, rest = at % ld, i = rest / cols, pixel = rest % cols;
        const int64_t oy = pixel / q.out_width, ox = pixel % q.out_width;
        const int64_t c = r / kk, ki = (r % kk) / q.kernel, kj = r % q.kernel;
        const int64_t iy = oy * q.stride - q.padding + ki, ix = ox * q.stride - q.padding + kj;
        const bool inside = iy >= 0 && iy < q.height && ix >= 0 && ix < q.width;
        columns[at] = inside ? images[(n0 + i) * image_size + (c * q.height + iy) * q.width + ix] : 0.0f;
      },
      "im2col_group");
}

// The adjoint, gathered per image pixel so no two threads write one value: each pixel
// adds the column entries that im2col took from it, in cpu::col2im_add's order (rows
// ascending), so the sums round as on the CPU.
void col2im_group_add(const ConvGeometry& geo, const float* columns, int64_t n0, int64_t g, float* images) {
  const ConvGeometry q = geo;
  const int64_t cols = q.cols(), ld = g * cols, image_size = q.channels * q.height * q.width;
  for_each(
      g * image_size,
      [=] __device__(int64_t at) {
        const int64_t i = at / image_size, rest = at % image_size;
        const int64_t c = rest / (q.height * q.width), iy = (rest / q.width) % q.height, ix = rest % q.width;
        float* target = images + (n0 + i) * image_size + rest;
        float value = *target;
        for (int64_t ki = 0; ki < q.kernel; ++ki) {
          const int64_t ty = iy + q.padding - ki;  // = oy * stride
          if (ty < 0 || ty % q.stride != 0 || ty / q.stride >= q.out_height) continue;
          const int64_t oy = ty / q.stride;
          for (int64_t kj = 0; kj < q.kernel; ++kj) {
            const int64_t tx = ix + q.padding - kj;
            if (tx < 0 || tx % q.stride != 0 || tx / q.stride >= q.out_width) continue;
            const int64_t ox = tx / q.stride;
            const int64_t r = (c * q.kernel + ki) * q.kernel + kj;
            value += columns[r * ld + i * cols + oy * q.out_width + ox];
          }
        }
        *target = value;
      },
      "col2im_group_add");
}

// dst[ch, i * hw + j] = src[n0 + i, ch, j].
void gather_channels(const float* src, int64_t n0, int64_t g, int64_t c, int64_t hw, float* dst) {
  for_each(
      c * g * hw,
      [=] __device__(int64_t at) {
        const int64_t ch = at / (g * hw), i = (at / hw) % g, j = at % hw;
        dst[at] = src[((n0 + i) * c + ch) * hw + j];
      },
      "gather_channels");
}

void scatter_channels(const float* src, int64_t n0, int64_t g, int64_t c, int64_t hw, float* dst, bool add) {
  for_each(
      g * c * hw,
      [=] __device__(int64_t at) {
        const int64_t i = at / (c * hw), ch = (at / hw) % c, j = at % hw;
        const float value = src[ch * g * hw + i * hw + j];
        float* d = dst + ((n0 + i) * c + ch) * hw + j;
        *d = add ? *d + value : value;
      },
      "scatter_channels");
}

void add_bias(float* out, const float* bias, int64_t n, int64_t c, int64_t hw) {
  for_each(n * c * hw, [=] __device__(int64_t at) { out[at] += bias[(at / hw) % c]; }, "add_bias");
}

// One block per channel: dbias[ch] += sum over images and pixels, in double.
__global__ void bias_backward_kernel(float* dbias, const float* dout, int64_t n, int64_t c, int64_t hw) {
  __shared__ double shared[kThreads];
  const int64_t ch = blockIdx.x;
  double acc = 0.0;
  for (int64_t k = threadIdx.x; k < n * hw; k += blockDim.x) acc += dout[((k / hw) * c + ch) * hw + k % hw];
  const double total = block_sum(acc, shared);
  if (threadIdx.x == 0) dbias[ch] += static_cast<float>(total);
}

void bias_backward(float* dbias, const float* dout, int64_t n, int64_t c, int64_t hw) {
  if (c <= 0) return;
  bias_backward_kernel<<<static_cast<unsigned>(c), kThreads>>>(dbias, dout, n, c, hw);
  GANOMALY_CUDA_CHECK_LAUNCH("bias_backward");
}

}  // namespace gan::cuda
