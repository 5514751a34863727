#include "nn/layers.h"

namespace gan::nn {

Sequential& Sequential::add(std::shared_ptr<Module> m) {
  register_module(std::to_string(layers_.size()), m);
  layers_.push_back(std::move(m));
  return *this;
}

Tensor Sequential::forward(const Tensor& x) { return forward_range(x, 0, layers_.size()); }

Tensor Sequential::forward_range(const Tensor& x, size_t begin, size_t end) {
  GANOMALY_CHECK(begin <= end && end <= layers_.size(), "Sequential: range [", begin, ", ", end, ") outside ",
                 layers_.size(), " layers");
  Tensor h = x;
  for (size_t i = begin; i < end; ++i) h = layers_[i]->forward(h);
  return h;
}

Conv2d::Conv2d(int in_channels, int out_channels, int kernel, int stride, int padding, bool bias)
    : stride(stride), padding(padding) {
  weight_ = &register_parameter("weight", Tensor::zeros(Shape{out_channels, in_channels, kernel, kernel}));
  if (bias) bias_ = &register_parameter("bias", Tensor::zeros(Shape{out_channels}));
}

void Conv2d::use_spectral_norm() {
  if (spectral_norm()) return;
  const int64_t rows = weight_->size(0), cols = weight_->numel() / rows;
  // Zeros: spectral_normalize starts the estimate on first use (and after a reset).
  spectral_u_ = &register_buffer("weight_u", Tensor::zeros(Shape{rows}, weight_->device()));
  spectral_v_ = &register_buffer("weight_v", Tensor::zeros(Shape{cols}, weight_->device()));
}

Tensor Conv2d::forward(const Tensor& x) {
  const Tensor w =
      spectral_norm() ? spectral_normalize(*weight_, *spectral_u_, *spectral_v_, is_training()) : *weight_;
  return conv2d(x, w, bias_ ? *bias_ : Tensor(), stride, padding);
}

ConvTranspose2d::ConvTranspose2d(int in_channels, int out_channels, int kernel, int stride, int padding, bool bias)
    : stride(stride), padding(padding) {
  weight_ = &register_parameter("weight", Tensor::zeros(Shape{in_channels, out_channels, kernel, kernel}));
  if (bias) bias_ = &register_parameter("bias", Tensor::zeros(Shape{out_channels}));
}

Tensor ConvTranspose2d::forward(const Tensor& x) {
  return conv_transpose2d(x, *weight_, bias_ ? *bias_ : Tensor(), stride, padding);
}

BatchNorm2d::BatchNorm2d(int channels, float eps, float momentum) : eps(eps), momentum(momentum) {
  weight_ = &register_parameter("weight", Tensor::full(Shape{channels}, 1.0f));
  bias_ = &register_parameter("bias", Tensor::zeros(Shape{channels}));
  running_mean_ = &register_buffer("running_mean", Tensor::zeros(Shape{channels}));
  running_var_ = &register_buffer("running_var", Tensor::full(Shape{channels}, 1.0f));
}

Tensor BatchNorm2d::forward(const Tensor& x) {
  return batch_norm2d(x, *weight_, *bias_, *running_mean_, *running_var_, is_training(), momentum, eps);
}

}  // namespace gan::nn
