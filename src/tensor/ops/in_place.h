#pragma once
// PyTorch's inplace=True, made safe, for ops whose output may take over their input's
// buffer when the caller asks (the caller promises not to read its handle afterwards).
#include "tensor/tensor.h"

namespace gan {

// x may be overwritten only when the caller's handle is the only reference to it and to
// its buffer (so no saved tensor, view or detached alias can observe the change) and it
// is not a leaf that needs a gradient.
inline bool can_overwrite(const Tensor& x) {
  const TensorImpl& t = *x.impl_ptr();
  return x.impl_ptr().use_count() == 1 && t.storage.use_count() == 1 &&
         !(t.is_leaf() && t.requires_grad);
}

// The output tensor of such an op: x's own buffer when asked and safe, else a new one.
inline Tensor output_for(const Tensor& x, bool in_place) {
  if (!in_place || !can_overwrite(x)) return Tensor::empty(x.shape(), x.device());
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = x.shape();
  impl->storage = x.impl_ptr()->storage;
  return Tensor(impl);
}

}  // namespace gan
