#pragma once
#include <array>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>
#include <vector>

namespace gan {

// Up to 4 dimensions, NCHW order. A scalar has ndim 0 and one element.
class Shape {
 public:
  static constexpr int kMaxDims = 4;
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  explicit Shape(const std::vector<int64_t>& dims);  // for shapes computed at run time

  int ndim() const { return ndim_; }
  int64_t operator[](int i) const;
  int64_t numel() const;
  bool operator==(const Shape& other) const;
  bool operator!=(const Shape& other) const { return !(*this == other); }
  std::string str() const;
  // The same shape with dimension `dim` of `size` (ops along dim 0 use it).
  Shape with(int dim, int64_t size) const;

 private:
  std::array<int64_t, kMaxDims> dims_{};
  int ndim_ = 0;
};

std::ostream& operator<<(std::ostream& out, const Shape& shape);

}  // namespace gan
