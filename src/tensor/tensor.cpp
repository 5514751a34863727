#include "tensor/tensor.h"

#include <algorithm>
#include <cstring>
#include <unordered_set>

#include "tensor/backend.h"

namespace gan {
namespace {
thread_local bool t_grad_enabled = true;

std::shared_ptr<TensorImpl> new_impl(const Shape& shape, Device device) {
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  impl->storage = std::make_shared<Storage>(static_cast<size_t>(shape.numel()), device);
  return impl;
}

// A new buffer on `device` holding the `count` floats at `src` (on `from`).
std::shared_ptr<Storage> copy_storage(Device device, Device from, const float* src, int64_t count) {
  auto s = std::make_shared<Storage>(static_cast<size_t>(count), device);
  backend::copy(device, s->data(), from, src, count);
  return s;
}

// d(self)/d(self) = 1, added to whatever gradient is there.
void add_one_to_grad(Tensor& t) {
  float* g = t.grad_data();
  backend::affine(t.device(), 1, g, 1.0f, 1.0f, g);
}
}  // namespace

Tensor Tensor::empty(const Shape& shape, Device device) { return Tensor(new_impl(shape, device)); }

Tensor Tensor::zeros(const Shape& shape, Device device) { return full(shape, 0.0f, device); }

Tensor Tensor::full(const Shape& shape, float value, Device device) {
  Tensor t = empty(shape, device);
  t.fill(value);
  return t;
}

Tensor Tensor::from_vector(const Shape& shape, const std::vector<float>& values, Device device) {
  GANOMALY_CHECK(static_cast<int64_t>(values.size()) == shape.numel(), "from_vector: ", values.size(),
                 " values for shape ", shape);
  Tensor t = empty(shape, device);
  backend::copy(device, t.data(), Device::cpu, values.data(), shape.numel());
  return t;
}

float Tensor::item() const {
  GANOMALY_CHECK(numel() == 1, "item: tensor of shape ", shape(), " has more than one element");
  if (device() == Device::cpu) return data()[0];
  float value;
  backend::copy(Device::cpu, &value, device(), data(), 1);
  return value;
}

std::vector<float> Tensor::to_vector() const {
  std::vector<float> values(numel());
  backend::copy(Device::cpu, values.data(), device(), data(), numel());
  return values;
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape(), device());
  backend::copy(device(), t.data(), device(), data(), numel());
  return t;
}

Tensor Tensor::to(Device target) const {
  if (device() == target) return *this;
  Tensor t = empty(shape(), target);
  backend::copy(target, t.data(), device(), data(), numel());
  return t;
}

void Tensor::move_to(Device target) {
  TensorImpl& t = impl();
  if (t.device() == target) return;
  t.storage = copy_storage(target, t.device(), t.data(), numel());
  if (t.grad) t.grad = copy_storage(target, t.grad->device(), t.grad->data(), numel());
}

void Tensor::copy_from(const Tensor& other) {
  GANOMALY_CHECK(shape() == other.shape(), "copy_from: shape ", shape(), " vs ", other.shape());
  backend::copy(device(), data(), other.device(), other.data(), numel());
}

void Tensor::fill(float value) { backend::fill(device(), data(), numel(), value); }

Tensor& Tensor::set_requires_grad(bool on) {
  impl().requires_grad = on;
  return *this;
}

float* Tensor::grad_data() {
  TensorImpl& t = impl();
  if (!t.grad) {
    t.grad = std::make_shared<Storage>(static_cast<size_t>(numel()), t.device());
    backend::fill(t.device(), t.grad->data(), numel(), 0.0f);
  }
  return t.grad->data();
}

Tensor Tensor::grad() const {
  if (!impl().grad) return zeros(shape(), device());
  auto g = std::make_shared<TensorImpl>();
  g->shape = shape();
  g->storage = impl().grad;
  g->op = "grad";
  return Tensor(g);
}

void Tensor::zero_grad() {
  if (impl().grad) backend::fill(device(), impl().grad->data(), numel(), 0.0f);
}

void Tensor::release_grad() { impl().grad.reset(); }

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape();
  impl->storage = impl_->storage;
  impl->op = "detach";
  return Tensor(impl);
}

void Tensor::backward(bool retain_graph) {
  GANOMALY_CHECK(numel() == 1, "backward: needs a tensor with one element, got shape ", shape());
  GANOMALY_CHECK(requires_grad(), "backward: the tensor does not require a gradient");
  // Reverse topological order by iterative depth-first search. `order` holds strong
  // references so that releasing a node's inputs below never frees a node still to come.
  //
  // A node none of whose paths reaches a leaf that needs a gradient *now* is pruned: its
  // requires_grad is cleared for the walk, so no closure computes a gradient for it, and
  // restored afterwards. Leaves may have stopped needing gradients since the forward pass
  // (GANomaly's generator step freezes D, whose D(x) branch then costs nothing).
  if (impl_->is_leaf()) {  // d(self)/d(self) and nothing to walk
    add_one_to_grad(*this);
    return;
  }
  std::vector<std::shared_ptr<TensorImpl>> order, pruned;
  std::unordered_set<TensorImpl*> seen;
  std::vector<std::pair<std::shared_ptr<TensorImpl>, size_t>> stack{{impl_, 0}};
  seen.insert(impl_.get());
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->inputs.size()) {
      const std::shared_ptr<TensorImpl>& child = node->inputs[next++].impl_ptr();
      if (child->requires_grad && !child->is_leaf() && !seen.count(child.get())) {
        seen.insert(child.get());
        stack.push_back({child, 0});
      }
    } else {
      // Children are finished (a graph has no cycles), so their flags are final.
      bool useful = false;
      for (const Tensor& input : node->inputs) useful = useful || input.impl_ptr()->requires_grad;
      if (useful) {
        order.push_back(std::move(node));
      } else {
        node->requires_grad = false;
        pruned.push_back(std::move(node));
      }
      stack.pop_back();
    }
  }
  struct Restore {
    std::vector<std::shared_ptr<TensorImpl>>& nodes;
    ~Restore() {
      for (auto& n : nodes) n->requires_grad = true;
    }
  } restore{pruned};
  if (order.empty()) return;  // nothing upstream needs a gradient
  add_one_to_grad(*this);
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

void check_same_device(const char* op, std::initializer_list<const Tensor*> tensors) {
  const Tensor* first = nullptr;
  for (const Tensor* t : tensors) {
    if (!t || !t->defined()) continue;
    if (!first) first = t;
    GANOMALY_CHECK(t->device() == first->device(), op, ": tensors on different devices (",
                   device_name(first->device()), " and ", device_name(t->device()), ")");
  }
}

namespace autograd {

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
