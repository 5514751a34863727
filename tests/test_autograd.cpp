// The tape: accumulation, fan-out, graph release and retention, detach, no-grad.
#include <doctest/doctest.h>

#include "tensor/ops.h"

using namespace gan;

TEST_CASE("fan-out accumulates: d(x*x + x)/dx = 2x + 1") {
  Tensor x = Tensor::from_vector(Shape{3}, {1.0f, -2.0f, 0.5f}).set_requires_grad(true);
  Tensor y = sum(add(mul(x, x), x));
  y.backward();
  CHECK(x.grad().to_vector() == std::vector<float>{3.0f, -3.0f, 2.0f});
}

TEST_CASE("leaf gradients accumulate across backward calls until zero_grad") {
  Tensor x = Tensor::from_vector(Shape{2}, {1.0f, 2.0f}).set_requires_grad(true);
  sum(mul_scalar(x, 3.0f)).backward();
  sum(mul_scalar(x, 3.0f)).backward();
  CHECK(x.grad().to_vector() == std::vector<float>{6.0f, 6.0f});
  x.zero_grad();
  CHECK(x.grad().to_vector() == std::vector<float>{0.0f, 0.0f});
}

TEST_CASE("the graph is released after backward unless retained") {
  Tensor x = Tensor::from_vector(Shape{2}, {1.0f, 2.0f}).set_requires_grad(true);
  Tensor h = mul(x, x);
  Tensor a = sum(h);
  a.backward(/*retain_graph=*/true);
  CHECK(h.impl().backward_fn);
  // A second loss through the retained part of the graph, as GANomaly's D step reuses D(x).
  Tensor b = mean(h);
  b.backward();
  CHECK(x.grad().to_vector() == std::vector<float>{2.0f + 1.0f, 4.0f + 2.0f});
  CHECK_FALSE(h.impl().backward_fn);
  CHECK(h.impl().inputs.empty());
  CHECK_FALSE(h.has_grad());  // intermediate gradients are not kept
}

TEST_CASE("detach and the no-grad guard stop history") {
  Tensor x = Tensor::from_vector(Shape{2}, {1.0f, 2.0f}).set_requires_grad(true);
  Tensor d = x.detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.data() == x.data());
  {
    NoGradGuard guard;
    CHECK_FALSE(grad_enabled());
    Tensor y = mul(x, x);
    CHECK_FALSE(y.requires_grad());
  }
  CHECK(grad_enabled());
  Tensor y = mul(x, d);
  y = sum(y);
  y.backward();
  CHECK(x.grad().to_vector() == std::vector<float>{1.0f, 2.0f});
}

TEST_CASE("shape errors name the op and both shapes") {
  Tensor a = Tensor::zeros(Shape{2, 3});
  Tensor b = Tensor::zeros(Shape{3, 2});
  CHECK_THROWS_WITH_AS(add(a, b), "add: shapes differ: [2, 3] vs [3, 2]", Error);
  Tensor x = Tensor::zeros(Shape{1, 3, 8, 8});
  Tensor w = Tensor::zeros(Shape{4, 2, 3, 3});
  CHECK_THROWS_WITH_AS(conv2d(x, w, Tensor(), 1, 1),
                       "conv2d: input [1, 3, 8, 8] has 3 channels but weight [4, 2, 3, 3] expects 2", Error);
  CHECK_THROWS_AS(reshape(a, Shape{5}), Error);
  CHECK_THROWS_AS(Tensor::scalar(1.0f).backward(), Error);
}

TEST_CASE("storage is 64-byte aligned and reused from the pool") {
  const float* first;
  {
    Tensor t = Tensor::empty(Shape{12345});
    first = t.data();
    CHECK(reinterpret_cast<uintptr_t>(first) % 64 == 0);
  }
  Tensor again = Tensor::empty(Shape{12345});
  CHECK(again.data() == first);
}
