#pragma once
// Adam with PyTorch's semantics (torch.optim.Adam, no weight decay, no amsgrad):
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
#include <vector>

#include "nn/module.h"

namespace gan::nn {

struct AdamOptions {
  float lr = 2e-4f;
  float beta1 = 0.5f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
};

class Adam {
 public:
  Adam(std::vector<Tensor> params, AdamOptions options);
  void step();       // parameters without a gradient are skipped, as PyTorch
  // Frees the gradients (PyTorch's set_to_none): the next backward allocates them as it
  // frees activations, instead of their memory adding to the activations' peak.
  void zero_grad();
  AdamOptions options;
  // State for checkpoints: per parameter its first and second moments, plus the steps.
  NamedTensors state() const;
  void load_state(const NamedTensors& state);
  int64_t steps() const { return steps_; }
  // Moves the parameters (when they are not there yet) and the moments to `device`.
  void to(Device device);

 private:
  std::vector<Tensor> params_, m_, v_;
  int64_t steps_ = 0;
};

}  // namespace gan::nn
