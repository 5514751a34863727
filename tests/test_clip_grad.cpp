// Gradient clipping by global norm against hand-computed values (torch's formula).
#include <doctest/doctest.h>

#include "nn/clip_grad.h"
#include "support/set_grad.h"
#include "tensor/ops.h"

using namespace gan;

TEST_CASE("clip_grad_norm scales every gradient by max / (global norm + 1e-6), only above the max") {
  Tensor a = Tensor::zeros(Shape{2}), b = Tensor::zeros(Shape{1}), untouched = Tensor::zeros(Shape{3});
  for (Tensor* t : {&a, &b, &untouched}) t->set_requires_grad(true);
  gan::testing::set_grad(a, {3, 4});
  gan::testing::set_grad(b, {12});  // global norm sqrt(9 + 16 + 144) = 13
  CHECK(nn::clip_grad_norm({a, b, untouched}, 20.0f) == doctest::Approx(13.0));
  CHECK(a.grad().to_vector() == std::vector<float>{3, 4});  // below the max: bitwise untouched
  CHECK(nn::clip_grad_norm({a, b, untouched}, 6.5f) == doctest::Approx(13.0));
  const double f = 6.5 / (13.0 + 1e-6);
  CHECK(a.grad().to_vector()[0] == doctest::Approx(3 * f));
  CHECK(a.grad().to_vector()[1] == doctest::Approx(4 * f));
  CHECK(b.grad().to_vector()[0] == doctest::Approx(12 * f));
  CHECK_FALSE(untouched.has_grad());  // no gradient: skipped, not allocated
  CHECK(nn::clip_grad_norm({a, b}, 100.0f) == doctest::Approx(6.5).epsilon(1e-5));
  CHECK_THROWS_AS(nn::clip_grad_norm({a}, 0.0f), Error);
  CHECK_THROWS_AS(nn::clip_grad_norm({a}, -1.0f), Error);
}
