#pragma once
// The layers GANomaly uses, with PyTorch's constructor arguments and parameter names.
#include "nn/module.h"

namespace gan::nn {

class Sequential : public Module {
 public:
  Sequential() = default;
  Sequential& add(std::shared_ptr<Module> m);
  Tensor forward(const Tensor& x) override;
  // Runs layers [begin, end) only: the discriminator splits one stack into features and
  // classifier this way.
  Tensor forward_range(const Tensor& x, size_t begin, size_t end);
  size_t size() const { return layers_.size(); }
  Module& operator[](size_t i) { return *layers_.at(i); }

 private:
  std::vector<std::shared_ptr<Module>> layers_;
};

class Conv2d : public Module {
 public:
  Conv2d(int in_channels, int out_channels, int kernel, int stride, int padding, bool bias);
  Tensor forward(const Tensor& x) override;
  Tensor& weight() { return *weight_; }
  int stride, padding;
  // Convolves with the weight divided by its largest singular value (spectral_normalize;
  // power iteration while training), keeping the estimate in buffers weight_u, weight_v.
  void use_spectral_norm();
  bool spectral_norm() const { return spectral_u_ != nullptr; }

 private:
  Tensor* weight_;
  Tensor* bias_ = nullptr;
  Tensor *spectral_u_ = nullptr, *spectral_v_ = nullptr;
};

class ConvTranspose2d : public Module {
 public:
  ConvTranspose2d(int in_channels, int out_channels, int kernel, int stride, int padding, bool bias);
  Tensor forward(const Tensor& x) override;
  Tensor& weight() { return *weight_; }
  int stride, padding;

 private:
  Tensor* weight_;
  Tensor* bias_ = nullptr;
};

class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(int channels, float eps = 1e-5f, float momentum = 0.1f);
  Tensor forward(const Tensor& x) override;
  float eps, momentum;

 private:
  Tensor *weight_, *bias_, *running_mean_, *running_var_;
};

class LeakyReLU : public Module {
 public:
  // in_place as PyTorch's inplace=True: reuses the input's buffer when it is safe.
  explicit LeakyReLU(float slope = 0.01f, bool in_place = false) : slope(slope), in_place(in_place) {}
  Tensor forward(const Tensor& x) override { return leaky_relu(x, slope, in_place); }
  float slope;
  bool in_place;
};
class ReLU : public Module {
 public:
  explicit ReLU(bool in_place = false) : in_place(in_place) {}
  Tensor forward(const Tensor& x) override { return relu(x, in_place); }
  bool in_place;
};
class Tanh : public Module {
 public:
  Tensor forward(const Tensor& x) override { return gan::tanh(x); }
};
class Sigmoid : public Module {
 public:
  Tensor forward(const Tensor& x) override { return sigmoid(x); }
};

}  // namespace gan::nn
