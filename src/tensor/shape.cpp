#include "tensor/shape.h"

#include "tensor/check.h"

namespace gan {

namespace {
template <typename Dims>
void assign(const Dims& dims, std::array<int64_t, Shape::kMaxDims>& out, int& ndim) {
  GANOMALY_CHECK(dims.size() <= Shape::kMaxDims, "Shape: at most ", Shape::kMaxDims, " dimensions, got ", dims.size());
  for (int64_t d : dims) {
    GANOMALY_CHECK(d >= 0, "Shape: negative dimension ", d);
    out[ndim++] = d;
  }
}
}  // namespace

Shape::Shape(std::initializer_list<int64_t> dims) { assign(dims, dims_, ndim_); }

Shape::Shape(const std::vector<int64_t>& dims) { assign(dims, dims_, ndim_); }

Shape Shape::with(int dim, int64_t size) const {
  GANOMALY_CHECK(dim >= 0 && dim < ndim_ && size >= 0, "Shape: cannot set dimension ", dim, " of ", str(), " to ", size);
  Shape out = *this;
  out.dims_[dim] = size;
  return out;
}

int64_t Shape::operator[](int i) const {
  if (i < 0) i += ndim_;
  GANOMALY_CHECK(i >= 0 && i < ndim_, "Shape: dimension ", i, " out of range for ", str());
  return dims_[i];
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < ndim_; ++i) n *= dims_[i];
  return n;
}

bool Shape::operator==(const Shape& other) const {
  if (ndim_ != other.ndim_) return false;
  for (int i = 0; i < ndim_; ++i)
    if (dims_[i] != other.dims_[i]) return false;
  return true;
}

std::string Shape::str() const {
  std::string s = "[";
  for (int i = 0; i < ndim_; ++i) s += (i ? ", " : "") + std::to_string(dims_[i]);
  return s + "]";
}

std::ostream& operator<<(std::ostream& out, const Shape& shape) { return out << shape.str(); }

}  // namespace gan
