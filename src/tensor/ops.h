#pragma once
// Differentiable ops on tensors. Each family lives in ops/<family>.cpp with its forward
// and backward side by side; the kernels they call live behind the facade (backend.h).
#include "tensor/tensor.h"

namespace gan {

// Elementwise (ops/elementwise.cpp). Binary ops need equal shapes.
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor add_scalar(const Tensor& a, float s);
Tensor mul_scalar(const Tensor& a, float s);
inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator*(const Tensor& a, float s) { return mul_scalar(a, s); }
inline Tensor operator*(float s, const Tensor& a) { return mul_scalar(a, s); }
inline Tensor operator+(const Tensor& a, float s) { return add_scalar(a, s); }

// Activations (ops/activation.cpp).
// in_place: overwrite x's buffer when nothing else can see it (see activation.cpp), as
// PyTorch's inplace=True; otherwise, and by default, a new tensor.
Tensor relu(const Tensor& x, bool in_place = false);
Tensor leaky_relu(const Tensor& x, float negative_slope, bool in_place = false);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor abs(const Tensor& x);  // the gradient at 0 is 0

// Reductions (ops/reduce.cpp): over all elements to a scalar, or over the given
// dimensions (each at most once; negative ones count from the end), which keepdim keeps
// as dimensions of 1. Sums run in double, in an order fixed by the shape.
Tensor sum(const Tensor& x);
Tensor mean(const Tensor& x);
Tensor sum(const Tensor& x, const std::vector<int>& dims, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int>& dims, bool keepdim = false);

// Shapes (ops/shape.cpp). reshape shares storage; pad_center zero-pads the last two
// dimensions to (height, width), the extra split as anomalib's pad_nextpow2 does
// (ceil of half the difference before, floor after).
Tensor reshape(const Tensor& x, const Shape& shape);
Tensor flatten(const Tensor& x);  // [N, ...] -> [N, rest]
Tensor pad_center(const Tensor& x, int64_t height, int64_t width);
// Along dimension 0, as copies: rows [begin, begin + count); the rows `indices` (in that
// order, repeats allowed); the tensors one after another (equal in the other dimensions).
Tensor narrow(const Tensor& x, int64_t begin, int64_t count);
Tensor index_select(const Tensor& x, const std::vector<int64_t>& indices);
Tensor cat(const std::vector<Tensor>& tensors);

// Convolutions (ops/conv.cpp), NCHW, square kernels. conv2d weight [OC, IC, K, K];
// conv_transpose2d weight [IC, OC, K, K] as PyTorch. bias may be undefined.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int stride, int padding);
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int stride, int padding);

// Batch norm over N, H, W per channel (ops/norm.cpp). In training it normalises with the
// batch statistics (biased variance) and updates the running estimates with the
// unbiased variance, as PyTorch; in eval it uses the running estimates.
Tensor batch_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                    Tensor& running_var, bool training, float momentum = 0.1f, float eps = 1e-5f);

// Spectral normalisation (ops/spectral.cpp), as torch.nn.utils.spectral_norm: the weight,
// seen as a [rows = size(0), cols = the rest] matrix W, divided by sigma = u' W v, its
// largest singular value as estimated by power iteration. u [rows] and v [cols] are the
// estimate's unit vectors, kept between calls; with power_iteration they first take one
// step (v = W'u / |W'u|, u = W v / |W v|) in place. A u of zeros (fresh, or reset after a
// re-initialisation) starts from ones and takes 15 steps, as PyTorch's parametrization
// does at creation. The gradient flows through sigma with u and v held fixed, as PyTorch's.
Tensor spectral_normalize(const Tensor& weight, Tensor& u, Tensor& v, bool power_iteration, float eps = 1e-12f);

// Losses with mean reduction, as PyTorch (ops/loss.cpp). The target of bce_loss gets no
// gradient; its log is clamped at -100.
Tensor l1_loss(const Tensor& input, const Tensor& target);
Tensor mse_loss(const Tensor& input, const Tensor& target);
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, float beta = 1.0f);
Tensor bce_loss(const Tensor& probability, const Tensor& target);

// Optimizer updates (ops/optim.cpp): in place, outside autograd, on the tensors' device.
// adam_step: one Adam update of weight from grad and the moments m and v, in PyTorch's
// order of operations (nn/adam.h derives step_size and bias2_sqrt from the step count).
struct AdamStep {
  float beta1, beta2, eps;
  float step_size;   // lr / (1 - beta1^t)
  float bias2_sqrt;  // sqrt(1 - beta2^t)
};
void adam_step(Tensor& weight, const Tensor& grad, Tensor& m, Tensor& v, const AdamStep& step);
// average = decay * average + (1 - decay) * live, elementwise.
void ema_update(Tensor& average, const Tensor& live, float decay);

}  // namespace gan
