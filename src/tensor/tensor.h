#pragma once
// Float32 tensors with reverse-mode autograd.
//
// A Tensor is a cheap handle to shared state. An op that sees an input needing a
// gradient records its inputs and a backward closure on its output; backward() walks
// that graph in reverse topological order. Backward closures *accumulate* into their
// inputs' gradients, so fan-out needs no special case.
#include <functional>
#include <memory>
#include <vector>

#include "tensor/check.h"
#include "tensor/shape.h"
#include "tensor/storage.h"

namespace gan {

class Tensor;
struct TensorImpl;
using BackwardFn = std::function<void(TensorImpl& out)>;

struct TensorImpl {
  Shape shape;
  std::shared_ptr<Storage> storage;  // the values start at the buffer's start
  bool requires_grad = false;
  std::shared_ptr<Storage> grad;  // allocated on first accumulation
  // Autograd record; empty for leaves and after the graph is released.
  std::vector<Tensor> inputs;
  BackwardFn backward_fn;
  const char* op = "leaf";

  float* data() { return storage->data(); }
  Device device() const { return storage->device(); }
  bool is_leaf() const { return !backward_fn; }
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // Factories. empty() leaves values undefined (NaN under pool poisoning).
  static Tensor empty(const Shape& shape, Device device = Device::cpu);
  static Tensor zeros(const Shape& shape, Device device = Device::cpu);
  static Tensor full(const Shape& shape, float value, Device device = Device::cpu);
  static Tensor from_vector(const Shape& shape, const std::vector<float>& values, Device device = Device::cpu);
  static Tensor scalar(float value, Device device = Device::cpu) { return full(Shape{}, value, device); }

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  int ndim() const { return shape().ndim(); }
  int64_t size(int dim) const { return shape()[dim]; }
  int64_t numel() const { return shape().numel(); }
  // The values on the tensor's own device: a CUDA pointer is for kernels only; the host
  // reads CUDA tensors through item(), to_vector() or to(Device::cpu).
  float* data() { return impl().data(); }
  const float* data() const { return impl_->data(); }
  Device device() const { return impl().device(); }
  float item() const;
  std::vector<float> to_vector() const;
  Tensor clone() const;  // a copy of the values on the same device, outside any graph
  // A copy on `device`, outside any graph; the tensor itself when it is there already.
  Tensor to(Device device) const;
  // Moves the values (and any gradient) to `device` in place: every handle to this
  // tensor sees the move, which is how modules and optimizers move their parameters.
  void move_to(Device device);
  void copy_from(const Tensor& other);  // values only, from any device; shapes must match
  void fill(float value);

  // Autograd.
  bool requires_grad() const { return impl().requires_grad; }
  Tensor& set_requires_grad(bool on);
  bool has_grad() const { return impl().grad != nullptr; }
  // The gradient as a tensor sharing its buffer (no history): writing to it changes the
  // gradient. Zeros, not attached to this tensor, when there is none.
  Tensor grad() const;
  // The gradient's buffer for kernels, allocated as zeros when absent.
  float* grad_data();
  void zero_grad();
  void release_grad();  // frees the gradient; the next accumulation starts from zeros
  // Seeds d(self)/d(self) = 1 (self must have one element) and runs the graph. The
  // graph is released afterwards unless retain_graph is set.
  void backward(bool retain_graph = false);
  Tensor detach() const;  // same storage, no history
  const char* op() const { return impl().op; }

  TensorImpl& impl() const {
    GANOMALY_CHECK(impl_, "tensor: use of an undefined tensor");
    return *impl_;
  }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// Gradient recording is on by default; a NoGradGuard turns it off in its scope (per
// thread), for scoring and for optimizer updates.
bool grad_enabled();
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

namespace autograd {
// Records history on `out` when needed. Returns out for chaining.
Tensor& record(Tensor& out, const char* op, std::vector<Tensor> inputs, BackwardFn fn);
// The gradient buffer of `t` to accumulate into, or nullptr when t needs no gradient.
float* grad_sink(const Tensor& t);
}  // namespace autograd

// Throws, naming `op`, unless every defined tensor is on the same device.
void check_same_device(const char* op, std::initializer_list<const Tensor*> tensors);

}  // namespace gan
