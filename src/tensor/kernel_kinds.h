#pragma once
// The kinds of op and the geometries that the facade (tensor/backend.h) and both backends
// (tensor/cpu/kernels.h, tensor/cuda/kernels.h) name. Plain data, no functions to link:
// each backend includes this header and nothing of the other's or the facade's.
#include <cstdint>

namespace gan::kernel {

enum class Binary { add, sub, mul };

// Activations. The backward pass differentiates through `saved`: the output for relu,
// leaky_relu (positive slope: out > 0 exactly where x > 0), tanh and sigmoid; the input
// for abs.
enum class Activation { relu, leaky_relu, tanh, sigmoid, abs };

// Pointwise losses, each with mean reduction.
enum class Loss { l1, mse, smooth_l1, bce };

// A contiguous tensor seen as its dimensions, each kept or summed over; neighbouring
// dimensions of the same kind are merged, so [N, C, H, W] summed over {0, 2, 3} is
// (N summed, C kept, H*W summed).
struct ReduceDims {
  static constexpr int kMax = 4;  // Shape::kMaxDims
  int ndim = 0;
  int64_t size[kMax] = {};
  bool reduced[kMax] = {};
  int64_t kept_count() const {  // output elements
    int64_t count = 1;
    for (int i = 0; i < ndim; ++i)
      if (!reduced[i]) count *= size[i];
    return count;
  }
  int64_t reduced_count() const {  // input elements per output element
    int64_t count = 1;
    for (int i = 0; i < ndim; ++i)
      if (reduced[i]) count *= size[i];
    return count;
  }
};

// One image's convolution geometry: input channels x height x width, square kernel.
struct ConvGeometry {
  int64_t channels, height, width;
  int64_t kernel, stride, padding;
  int64_t out_height, out_width;
  int64_t rows() const { return channels * kernel * kernel; }  // column-matrix rows
  int64_t cols() const { return out_height * out_width; }      // column-matrix cols
};

// Where a convolution's backward pass adds its gradients; a null one is not computed. One
// call computes all three because the data and weight gradients share the column matrices
// (the transposed convolution's im2col of dout): separate calls would build them twice.
struct ConvGradients {
  float* dx = nullptr;
  float* dweight = nullptr;
  float* dbias = nullptr;
};

}  // namespace gan::kernel
