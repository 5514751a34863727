#pragma once
// Modules own named parameters (trained) and buffers (running statistics), and children.
// Names are dotted paths as in PyTorch ("enc1.3.weight"), so checkpoints and golden files
// line up with PyTorch's state_dict.
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tensor/ops.h"

namespace gan::nn {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// The same tensors with `prefix` put before every name; and the tensors whose names start
// with `prefix`, with it taken off (checkpoints keep several modules in one list).
NamedTensors add_prefix(const std::string& prefix, const NamedTensors& tensors);
NamedTensors take_prefix(const std::string& prefix, const NamedTensors& tensors);

class Module {
 public:
  virtual ~Module() = default;
  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) { return forward(x); }

  NamedTensors named_parameters() const;
  NamedTensors named_buffers() const;
  NamedTensors state() const;  // parameters, then buffers
  std::vector<Tensor> parameters() const;
  std::vector<std::pair<std::string, Module*>> named_modules();  // depth first, self first ("")

  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  void zero_grad();
  // Turns gradients of every parameter on or off; a backward pass then skips the work
  // that only fed gradients to parameters that are off (see Tensor::backward).
  void set_requires_grad(bool on);
  // Moves every parameter and buffer to `device`, in place (handles stay valid).
  void to(Device device);

  // Copies values from `source` by name; every name must be present with its shape.
  void load_state(const NamedTensors& source, const std::string& what);

 protected:
  Tensor& register_parameter(const std::string& name, Tensor t);
  Tensor& register_buffer(const std::string& name, Tensor t);
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    children_.emplace_back(name, m);
    return m;
  }

 private:
  void collect(const std::string& prefix, bool parameters, NamedTensors& out) const;
  // A deque keeps the references that register_* returned valid as more are added.
  std::deque<std::pair<std::string, Tensor>> parameters_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

}  // namespace gan::nn
