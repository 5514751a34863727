// Every differentiable op through the one generic gradient check.
#include <doctest/doctest.h>

#include "support/gradcheck.h"

using namespace gan;
using gan::testing::check_gradients;
using gan::testing::random_tensor;

namespace {
// Values kept away from 0 so kinks (relu, l1) are never straddled by the finite step.
Tensor away_from_zero(const Shape& shape, uint64_t seed) {
  Tensor t = random_tensor(shape, seed, 0.1f, 1.0f);
  for (int64_t i = 0; i < t.numel(); i += 2) t.data()[i] = -t.data()[i];
  return t;
}
}  // namespace

TEST_CASE("gradcheck: elementwise") {
  const Shape s{2, 3, 4, 5};
  CHECK(check_gradients({random_tensor(s, 1), random_tensor(s, 2)}, [](auto& v) { return add(v[0], v[1]); }) == "");
  CHECK(check_gradients({random_tensor(s, 1), random_tensor(s, 2)}, [](auto& v) { return sub(v[0], v[1]); }) == "");
  CHECK(check_gradients({random_tensor(s, 1), random_tensor(s, 2)}, [](auto& v) { return mul(v[0], v[1]); }) == "");
  CHECK(check_gradients({random_tensor(s, 3)}, [](auto& v) { return add_scalar(v[0], 0.7f); }) == "");
  CHECK(check_gradients({random_tensor(s, 3)}, [](auto& v) { return mul_scalar(v[0], -1.5f); }) == "");
}

TEST_CASE("gradcheck: activations") {
  const Shape s{3, 37};  // odd length exercises the SIMD tail
  CHECK(check_gradients({away_from_zero(s, 4)}, [](auto& v) { return relu(v[0]); }) == "");
  CHECK(check_gradients({away_from_zero(s, 5)}, [](auto& v) { return leaky_relu(v[0], 0.2f); }) == "");
  CHECK(check_gradients({random_tensor(s, 6, -2, 2)}, [](auto& v) { return gan::tanh(v[0]); }) == "");
  CHECK(check_gradients({random_tensor(s, 7, -3, 3)}, [](auto& v) { return sigmoid(v[0]); }) == "");
  CHECK(check_gradients({away_from_zero(s, 10)}, [](auto& v) { return gan::abs(v[0]); }) == "");
  // In place: the activation overwrites the buffer of the temporary before it.
  CHECK(check_gradients({away_from_zero(s, 8)}, [](auto& v) { return relu(mul_scalar(v[0], 1.5f), true); }) == "");
  CHECK(check_gradients({away_from_zero(s, 9)}, [](auto& v) { return leaky_relu(mul_scalar(v[0], 1.5f), 0.2f, true); }) ==
        "");
}

TEST_CASE("gradcheck: reductions and shapes") {
  CHECK(check_gradients({random_tensor(Shape{4, 9}, 8)}, [](auto& v) { return sum(v[0]); }) == "");
  CHECK(check_gradients({random_tensor(Shape{4, 9}, 9)}, [](auto& v) { return mean(v[0]); }) == "");
  CHECK(check_gradients({random_tensor(Shape{2, 3, 2, 2}, 10)},
                        [](auto& v) { return mul(flatten(v[0]), flatten(v[0])); }) == "");
  CHECK(check_gradients({random_tensor(Shape{2, 3, 4}, 11)},
                        [](auto& v) { return reshape(v[0], Shape{6, 4}); }) == "");
  CHECK(check_gradients({random_tensor(Shape{2, 2, 3, 5}, 12)}, [](auto& v) { return pad_center(v[0], 8, 8); }) == "");
}

TEST_CASE("gradcheck: losses") {
  const Shape s{2, 3, 5};
  CHECK(check_gradients({random_tensor(s, 13), random_tensor(s, 14)}, [](auto& v) { return l1_loss(v[0], v[1]); }) ==
        "");
  CHECK(check_gradients({random_tensor(s, 15), random_tensor(s, 16)}, [](auto& v) { return mse_loss(v[0], v[1]); }) ==
        "");
  // Differences on both sides of beta = 1.
  CHECK(check_gradients({random_tensor(s, 17, -2, 2), random_tensor(s, 18, -1, 1)},
                        [](auto& v) { return smooth_l1_loss(v[0], v[1]); }) == "");
  Tensor target = random_tensor(s, 19, 0, 1);
  CHECK(check_gradients({random_tensor(s, 20, 0.05f, 0.95f)}, [target](auto& v) { return bce_loss(v[0], target); },
                        {1e-4, 1e-2, 1e-3}) == "");
}

TEST_CASE("gradcheck: conv2d") {
  struct Case { int n, c, h, w, oc, k, stride, pad; bool bias; };
  for (Case cs : {Case{2, 3, 8, 8, 4, 4, 2, 1, false}, Case{1, 2, 7, 5, 3, 4, 2, 4, true},
                  Case{2, 4, 4, 4, 3, 4, 1, 0, false}, Case{1, 3, 5, 6, 2, 3, 1, 1, true}}) {
    CAPTURE(cs.k);
    CAPTURE(cs.pad);
    std::vector<Tensor> in{random_tensor(Shape{cs.n, cs.c, cs.h, cs.w}, 21),
                           random_tensor(Shape{cs.oc, cs.c, cs.k, cs.k}, 22)};
    if (cs.bias) in.push_back(random_tensor(Shape{cs.oc}, 23));
    CHECK(check_gradients(in, [cs](auto& v) {
            return conv2d(v[0], v[1], cs.bias ? v[2] : Tensor(), cs.stride, cs.pad);
          }) == "");
  }
}

TEST_CASE("gradcheck: conv_transpose2d") {
  struct Case { int n, c, h, w, oc, k, stride, pad; bool bias; };
  for (Case cs : {Case{2, 3, 1, 1, 4, 4, 1, 0, false}, Case{1, 2, 3, 5, 3, 4, 2, 1, true},
                  Case{2, 3, 4, 4, 2, 3, 1, 1, false}}) {
    CAPTURE(cs.k);
    CAPTURE(cs.stride);
    std::vector<Tensor> in{random_tensor(Shape{cs.n, cs.c, cs.h, cs.w}, 24),
                           random_tensor(Shape{cs.c, cs.oc, cs.k, cs.k}, 25)};
    if (cs.bias) in.push_back(random_tensor(Shape{cs.oc}, 26));
    CHECK(check_gradients(in, [cs](auto& v) {
            return conv_transpose2d(v[0], v[1], cs.bias ? v[2] : Tensor(), cs.stride, cs.pad);
          }) == "");
  }
}

TEST_CASE("gradcheck: batch_norm2d in training and eval") {
  for (bool training : {true, false}) {
    CAPTURE(training);
    Tensor running_mean = random_tensor(Shape{3}, 27, -0.5f, 0.5f);
    Tensor running_var = random_tensor(Shape{3}, 28, 0.5f, 2.0f);
    std::vector<Tensor> in{random_tensor(Shape{4, 3, 3, 2}, 29, -2, 2), random_tensor(Shape{3}, 30, 0.5f, 1.5f),
                           random_tensor(Shape{3}, 31)};
    CHECK(check_gradients(in, [&](auto& v) {
            return batch_norm2d(v[0], v[1], v[2], running_mean, running_var, training);
          }, {1e-3, 2e-2, 1e-3}) == "");
  }
}

TEST_CASE("gradcheck: spectral_normalize with the estimate held fixed") {
  // u and v fixed (no power iteration), as in the backward pass: the op is then a smooth
  // function of the weight alone. The starting estimate comes from a first call.
  Tensor w = random_tensor(Shape{4, 3, 2, 2}, 11);
  Tensor u = Tensor::zeros(Shape{4}), v = Tensor::zeros(Shape{12});
  spectral_normalize(w, u, v, /*power_iteration=*/true);
  CHECK(check_gradients({w}, [&](auto& in) { return spectral_normalize(in[0], u, v, false); }) == "");
  Tensor matrix = random_tensor(Shape{3, 5}, 12);  // a plain 2-d weight, rows < cols
  Tensor u2 = Tensor::zeros(Shape{3}), v2 = Tensor::zeros(Shape{5});
  spectral_normalize(matrix, u2, v2, true);
  CHECK(check_gradients({matrix}, [&](auto& in) { return spectral_normalize(in[0], u2, v2, false); }) == "");
}

TEST_CASE("gradcheck: sum and mean over dimensions") {
  const Shape s{3, 4, 2, 5};
  for (bool keepdim : {false, true}) {
    CAPTURE(keepdim);
    const std::vector<std::vector<int>> cases{{0}, {1}, {0, 2, 3}, {1, 2, 3}, {-1}, {2, 0}, {}};
    for (const std::vector<int>& dims : cases) {
      CAPTURE(dims.size());
      CHECK(check_gradients({random_tensor(s, 40)}, [&](auto& v) { return sum(v[0], dims, keepdim); }) == "");
      CHECK(check_gradients({random_tensor(s, 41)}, [&](auto& v) { return mean(v[0], dims, keepdim); }) == "");
    }
  }
  // Dimensions of 1 merge with either neighbour.
  CHECK(check_gradients({random_tensor(Shape{2, 1, 3, 1}, 42)}, [](auto& v) { return sum(v[0], {1, 2}); }) == "");
}

TEST_CASE("sum and mean over dimensions: shapes and values") {
  const Tensor x = Tensor::from_vector(Shape{2, 3}, {1, 2, 3, 4, 5, 6});
  CHECK(sum(x, {0}).shape() == Shape{3});
  CHECK(sum(x, {0}).to_vector() == std::vector<float>{5, 7, 9});
  CHECK(sum(x, {1}, true).shape() == Shape{2, 1});
  CHECK(mean(x, {1}).to_vector() == std::vector<float>{2, 5});
  CHECK(sum(x, {0, 1}).shape() == Shape{});
  CHECK(sum(x, {0, 1}).item() == 21.0f);
  CHECK(sum(x, {}).to_vector() == x.to_vector());
  CHECK_THROWS_AS(sum(x, {2}), Error);
  CHECK_THROWS_AS(sum(x, {0, -2}), Error);  // the same dimension twice
}

TEST_CASE("gradcheck: narrow, index_select and cat along dimension 0") {
  const Shape s{5, 2, 3};
  CHECK(check_gradients({random_tensor(s, 50)}, [](auto& v) { return narrow(v[0], 1, 3); }) == "");
  CHECK(check_gradients({random_tensor(s, 51)}, [](auto& v) { return narrow(v[0], 0, 5); }) == "");
  // A repeated index adds both of its rows' gradients.
  CHECK(check_gradients({random_tensor(s, 52)}, [](auto& v) { return index_select(v[0], {4, 1, 1, 0}); }) == "");
  CHECK(check_gradients({random_tensor(s, 53), random_tensor(Shape{2, 2, 3}, 54)},
                        [](auto& v) { return cat({v[0], v[1], v[0]}); }) == "");
}

TEST_CASE("narrow, index_select and cat: values and refusals") {
  const Tensor x = Tensor::from_vector(Shape{3, 2}, {1, 2, 3, 4, 5, 6});
  CHECK(narrow(x, 1, 2).shape() == Shape{2, 2});
  CHECK(narrow(x, 1, 2).to_vector() == std::vector<float>{3, 4, 5, 6});
  CHECK(narrow(x, 3, 0).numel() == 0);
  CHECK(index_select(x, {2, 0, 2}).to_vector() == std::vector<float>{5, 6, 1, 2, 5, 6});
  CHECK(cat({x, narrow(x, 0, 1)}).to_vector() == std::vector<float>{1, 2, 3, 4, 5, 6, 1, 2});
  CHECK_THROWS_AS(narrow(x, 2, 2), Error);
  CHECK_THROWS_AS(index_select(x, {3}), Error);
  CHECK_THROWS_AS(cat({x, Tensor::zeros(Shape{1, 3})}), Error);
  CHECK_THROWS_AS(cat({}), Error);
}
