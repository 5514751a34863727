// The tape: accumulation, fan-out, graph release and retention, detach, no-grad.
#include <doctest/doctest.h>

#include "tensor/ops.h"
#include "tensor/storage.h"

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

TEST_CASE("backward skips branches whose leaves stopped needing gradients, and keeps them") {
  // GANomaly's generator step: a loss over G's output and a frozen D's features of x.
  Tensor g = Tensor::from_vector(Shape{2}, {1.0f, 2.0f}).set_requires_grad(true);
  Tensor d = Tensor::from_vector(Shape{2}, {3.0f, -1.0f}).set_requires_grad(true);
  Tensor dx = mul(d, Tensor::from_vector(Shape{2}, {0.5f, 0.25f}));  // "D(x)": only d upstream
  Tensor dg = mul(d, g);                                             // "D(G(x))"
  Tensor loss = sum(add(dx, dg));
  d.set_requires_grad(false);
  loss.backward(/*retain_graph=*/true);
  d.set_requires_grad(true);
  CHECK(g.grad().to_vector() == std::vector<float>{3.0f, -1.0f});
  CHECK_FALSE(d.has_grad());
  CHECK(dx.requires_grad());  // restored: the retained branch serves the next loss
  sum(dx).backward();
  CHECK(d.grad().to_vector() == std::vector<float>{0.5f, 0.25f});
  // A loss with nothing upstream that needs a gradient any more is a no-op.
  Tensor h = mul(d, d);
  d.set_requires_grad(false);
  sum(h).backward();
  d.set_requires_grad(true);
  CHECK(d.grad().to_vector() == std::vector<float>{0.5f, 0.25f});
  // A leaf's own backward seeds its gradient.
  Tensor s = Tensor::scalar(2.0f).set_requires_grad(true);
  s.backward();
  CHECK(s.grad().item() == 1.0f);
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

TEST_CASE("backward frees each intermediate gradient once it has been used") {
  // A chain of 8 ops on 1M floats: keeping every intermediate gradient until the end
  // would hold 8 gradients at once; freeing each after use holds about two.
  const int64_t n = 1 << 20, bytes = n * sizeof(float);
  Tensor x = Tensor::full(Shape{n}, 1.0f).set_requires_grad(true);
  Tensor h = x;
  for (int i = 0; i < 8; ++i) h = mul_scalar(h, 1.0f + 0.01f * i);
  Tensor loss = sum(h);
  pool::release_cached();
  const size_t before = pool::bytes_in_use();
  pool::reset_peak_bytes_in_use();
  loss.backward();
  CHECK(pool::peak_bytes_in_use() - before <= 3 * static_cast<size_t>(bytes));
  CHECK(x.grad().data()[0] == doctest::Approx(1.0 * 1.01 * 1.02 * 1.03 * 1.04 * 1.05 * 1.06 * 1.07));
}

TEST_CASE("in-place activations reuse a temporary's buffer and never a shared one") {
  Tensor x = Tensor::from_vector(Shape{4}, {-2.0f, -1.0f, 1.0f, 2.0f}).set_requires_grad(true);
  SUBCASE("a temporary is overwritten, with the same values and gradients as out of place") {
    Tensor h = mul_scalar(x, 2.0f);
    const float* buffer = h.data();
    Tensor y = leaky_relu(std::move(h), 0.2f, /*in_place=*/true);
    CHECK(y.data() == buffer);
    CHECK(y.to_vector() == std::vector<float>{-0.8f, -0.4f, 2.0f, 4.0f});
    sum(y).backward();
    CHECK(x.grad().to_vector() == std::vector<float>{0.4f, 0.4f, 2.0f, 2.0f});
  }
  SUBCASE("a tensor someone else still holds is left alone") {
    Tensor h = mul_scalar(x, 2.0f);
    Tensor kept = h;  // a second handle: overwriting would change what it sees
    Tensor y = relu(h, /*in_place=*/true);
    CHECK(y.data() != h.data());
    CHECK(kept.to_vector() == std::vector<float>{-4.0f, -2.0f, 2.0f, 4.0f});
  }
  SUBCASE("a leaf that needs a gradient, and a buffer another tensor aliases, are left alone") {
    Tensor y = relu(x, /*in_place=*/true);
    CHECK(y.data() != x.data());
    Tensor t = sigmoid(mul_scalar(x, 1.0f));  // sigmoid saves an alias of its output
    const std::vector<float> before = t.to_vector();
    Tensor z = relu(std::move(t), /*in_place=*/true);
    CHECK(z.data() != nullptr);
    sum(z).backward();  // sigmoid's backward still reads its own, unmodified output
    CHECK(x.grad().to_vector()[0] == doctest::Approx(before[0] * (1 - before[0])));
  }
}
