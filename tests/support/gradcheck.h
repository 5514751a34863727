#pragma once
// One gradient check for every op (the dlib test_layer idea):
//  - the output is reduced to a scalar by a dot product with a fixed random tensor;
//  - analytic gradients come from backward() with every new buffer poisoned with NaN,
//    so a kernel that reads memory it never wrote fails loudly;
//  - input gradients are pre-filled with random values first, and the check subtracts
//    them, so a backward that overwrites instead of accumulating fails;
//  - numeric gradients are central differences with the loss summed in double.
#include <functional>
#include <string>
#include <vector>

#include "tensor/ops.h"
#include "tensor/storage.h"

namespace gan::testing {

struct GradCheckOptions {
  double step = 1e-3;   // finite-difference step
  double rtol = 1e-2;   // relative to the largest numeric gradient of that input
  double atol = 1e-4;
};

using OpUnderTest = std::function<Tensor(const std::vector<Tensor>&)>;

// Returns an empty string when every gradient matches, else a description of the worst
// mismatch (input index, element, analytic and numeric values).
std::string check_gradients(std::vector<Tensor> inputs, const OpUnderTest& op, GradCheckOptions options = {});

// A tensor of the given shape with values uniform in [lo, hi), fixed by seed.
Tensor random_tensor(const Shape& shape, uint64_t seed, float lo = -1.0f, float hi = 1.0f);

// While one lives, every new buffer, host or device, starts as NaN, so a kernel that
// reads memory it never wrote fails loudly.
struct PoisonScope {
  PoisonScope() { pool::set_poison(true); }
  ~PoisonScope() { pool::set_poison(false); }
  PoisonScope(const PoisonScope&) = delete;
  PoisonScope& operator=(const PoisonScope&) = delete;
};


// |a - b| <= atol + rtol * |b| elementwise; returns "" or the first mismatch.
std::string compare(const Tensor& actual, const Tensor& expected, double atol, double rtol);

}  // namespace gan::testing
