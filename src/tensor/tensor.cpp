#include "tensor/tensor.h"

#include <algorithm>
#include <cstring>
#include <unordered_set>

namespace gan {
namespace {
thread_local bool t_grad_enabled = true;

std::shared_ptr<TensorImpl> new_impl(const Shape& shape) {
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  impl->storage = std::make_shared<Storage>(static_cast<size_t>(shape.numel()));
  return impl;
}
}  // namespace

Tensor Tensor::empty(const Shape& shape) { return Tensor(new_impl(shape)); }

Tensor Tensor::zeros(const Shape& shape) { return full(shape, 0.0f); }

Tensor Tensor::full(const Shape& shape, float value) {
  Tensor t = empty(shape);
  t.fill(value);
  return t;
}

Tensor Tensor::from_vector(const Shape& shape, const std::vector<float>& values) {
  GANOMALY_CHECK(static_cast<int64_t>(values.size()) == shape.numel(), "from_vector: ", values.size(),
                 " values for shape ", shape);
  Tensor t = empty(shape);
  std::copy(values.begin(), values.end(), t.data());
  return t;
}

float Tensor::item() const {
  GANOMALY_CHECK(numel() == 1, "item: tensor of shape ", shape(), " has more than one element");
  return data()[0];
}

std::vector<float> Tensor::to_vector() const { return std::vector<float>(data(), data() + numel()); }

Tensor Tensor::clone() const {
  Tensor t = empty(shape());
  std::memcpy(t.data(), data(), sizeof(float) * numel());
  return t;
}

void Tensor::copy_from(const Tensor& other) {
  GANOMALY_CHECK(shape() == other.shape(), "copy_from: shape ", shape(), " vs ", other.shape());
  std::memcpy(data(), other.data(), sizeof(float) * numel());
}

void Tensor::fill(float value) { std::fill(data(), data() + numel(), value); }

Tensor& Tensor::set_requires_grad(bool on) {
  impl().requires_grad = on;
  return *this;
}

float* Tensor::grad_data() {
  TensorImpl& t = impl();
  if (!t.grad) {
    t.grad = std::make_shared<Storage>(static_cast<size_t>(numel()));
    std::fill(t.grad->data(), t.grad->data() + numel(), 0.0f);
  }
  return t.grad->data();
}

Tensor Tensor::grad() const {
  Tensor g = zeros(shape());
  if (impl().grad) std::memcpy(g.data(), impl().grad->data(), sizeof(float) * numel());
  return g;
}

void Tensor::zero_grad() {
  if (impl().grad) std::fill(impl().grad->data(), impl().grad->data() + numel(), 0.0f);
}

void Tensor::set_grad(const std::vector<float>& values) {
  GANOMALY_CHECK(static_cast<int64_t>(values.size()) == numel(), "set_grad: ", values.size(),
                 " values for shape ", shape());
  std::copy(values.begin(), values.end(), grad_data());
}

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape();
  impl->storage = impl_->storage;
  impl->offset = impl_->offset;
  impl->op = "detach";
  return Tensor(impl);
}

void Tensor::backward(bool retain_graph) {
  GANOMALY_CHECK(numel() == 1, "backward: needs a tensor with one element, got shape ", shape());
  GANOMALY_CHECK(requires_grad(), "backward: the tensor does not require a gradient");
  // Reverse topological order by iterative depth-first search. `order` holds strong
  // references so that releasing a node's inputs below never frees a node still to come.
  std::vector<std::shared_ptr<TensorImpl>> order;
  std::unordered_set<TensorImpl*> seen;
  std::vector<std::pair<std::shared_ptr<TensorImpl>, size_t>> stack{{impl_, 0}};
  seen.insert(impl_.get());
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->inputs.size()) {
      const std::shared_ptr<TensorImpl>& child = node->inputs[next++].impl_ptr();
      if (child->requires_grad && !seen.count(child.get())) {
        seen.insert(child.get());
        stack.push_back({child, 0});
      }
    } else {
      order.push_back(std::move(node));
      stack.pop_back();
    }
  }
  grad_data()[0] += 1.0f;
  NoGradGuard no_grad;  // backward closures never record history
  // Every consumer of a node comes before it, so once its closure has run, its gradient
  // is complete and no longer needed: free it at once (and, unless the graph is kept,
  // the closure with the activations it saved), as PyTorch does. Peak memory is then the
  // saved activations plus a few gradients in flight, not every gradient at once.
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    TensorImpl* node = it->get();
    if (node->is_leaf()) continue;  // leaves keep their gradients
    if (node->grad) node->backward_fn(*node);
    node->grad.reset();
    if (!retain_graph) {
      node->backward_fn = nullptr;
      node->inputs.clear();
    }
    it->reset();
  }
}

bool grad_enabled() { return t_grad_enabled; }
NoGradGuard::NoGradGuard() : previous_(t_grad_enabled) { t_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { t_grad_enabled = previous_; }

namespace autograd {

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!t_grad_enabled) return false;
  for (const Tensor* t : inputs)
    if (t && t->defined() && t->requires_grad()) return true;
  return false;
}

Tensor& record(Tensor& out, const char* op, std::vector<Tensor> inputs, BackwardFn fn) {
  TensorImpl& impl = out.impl();
  impl.op = op;
  bool any = false;
  if (t_grad_enabled)
    for (const Tensor& t : inputs) any = any || (t.defined() && t.requires_grad());
  if (!any) return out;
  impl.requires_grad = true;
  inputs.erase(std::remove_if(inputs.begin(), inputs.end(), [](const Tensor& t) { return !t.defined(); }),
               inputs.end());
  impl.inputs = std::move(inputs);
  impl.backward_fn = std::move(fn);
  return out;
}

float* grad_sink(const Tensor& t) {
  if (!t.defined() || !t.requires_grad()) return nullptr;
  return const_cast<Tensor&>(t).grad_data();
}

}  // namespace autograd

}  // namespace gan
