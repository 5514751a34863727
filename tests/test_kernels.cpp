// conv2d, conv_transpose2d, batch_norm2d and im2col against naive loops on many shapes.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "support/gradcheck.h"
#include "support/set_grad.h"
#include "tensor/check.h"
#include "tensor/cpu/kernels.h"
#include "nn/adam.h"
#include "tensor/random.h"

using namespace gan;
using gan::testing::compare;
using gan::testing::random_tensor;

namespace {

Tensor naive_conv2d(const Tensor& x, const Tensor& w, int stride, int pad) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), wd = x.size(3), oc = w.size(0), k = w.size(2);
  const int64_t oh = (h + 2 * pad - k) / stride + 1, ow = (wd + 2 * pad - k) / stride + 1;
  Tensor out = Tensor::zeros(Shape{n, oc, oh, ow});
  for (int64_t i = 0; i < n; ++i)
    for (int64_t o = 0; o < oc; ++o)
      for (int64_t y = 0; y < oh; ++y)
        for (int64_t xx = 0; xx < ow; ++xx) {
          double acc = 0;
          for (int64_t ch = 0; ch < c; ++ch)
            for (int64_t ky = 0; ky < k; ++ky)
              for (int64_t kx = 0; kx < k; ++kx) {
                const int64_t iy = y * stride - pad + ky, ix = xx * stride - pad + kx;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                acc += x.data()[((i * c + ch) * h + iy) * wd + ix] * w.data()[((o * c + ch) * k + ky) * k + kx];
              }
          out.data()[((i * oc + o) * oh + y) * ow + xx] = static_cast<float>(acc);
        }
  return out;
}

// Scatter form: every input pixel adds weight * value into the output window.
Tensor naive_conv_transpose2d(const Tensor& x, const Tensor& w, int stride, int pad) {
  const int64_t n = x.size(0), ic = x.size(1), h = x.size(2), wd = x.size(3), oc = w.size(1), k = w.size(2);
  const int64_t oh = (h - 1) * stride - 2 * pad + k, ow = (wd - 1) * stride - 2 * pad + k;
  std::vector<double> acc(n * oc * oh * ow, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t ci = 0; ci < ic; ++ci)
      for (int64_t y = 0; y < h; ++y)
        for (int64_t xx = 0; xx < wd; ++xx)
          for (int64_t o = 0; o < oc; ++o)
            for (int64_t ky = 0; ky < k; ++ky)
              for (int64_t kx = 0; kx < k; ++kx) {
                const int64_t oy = y * stride - pad + ky, ox = xx * stride - pad + kx;
                if (oy < 0 || oy >= oh || ox < 0 || ox >= ow) continue;
                acc[((i * oc + o) * oh + oy) * ow + ox] +=
                    x.data()[((i * ic + ci) * h + y) * wd + xx] * w.data()[((ci * oc + o) * k + ky) * k + kx];
              }
  Tensor out = Tensor::empty(Shape{n, oc, oh, ow});
  for (size_t j = 0; j < acc.size(); ++j) out.data()[j] = static_cast<float>(acc[j]);
  return out;
}

// The gradients of loss = sum(conv2d(x, w) * dy) by direct loops: each product
// x[i, c, iy, ix] * w[o, c, ky, kx] of the forward sum sends dy * w to dx and dy * x to dw.
// A transposed convolution is the same sum with the roles of its input and output swapped.
void naive_conv_grads(const Tensor& x, const Tensor& w, const Tensor& dy, int stride, int pad, bool transposed,
                      Tensor& dx, Tensor& dw) {
  const int64_t n = x.size(0), k = w.size(2);
  // Name the forward convolution's image `big` and its output grid `small`.
  const Tensor& big = transposed ? dy : x;
  const Tensor& small = transposed ? x : dy;
  const int64_t bc = big.size(1), h = big.size(2), wd = big.size(3);
  const int64_t sc = small.size(1), oh = small.size(2), ow = small.size(3);
  std::vector<double> gbig(big.numel(), 0.0), gw(w.numel(), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t o = 0; o < sc; ++o)
      for (int64_t y = 0; y < oh; ++y)
        for (int64_t xx = 0; xx < ow; ++xx) {
          const double s = small.data()[((i * sc + o) * oh + y) * ow + xx];
          for (int64_t ch = 0; ch < bc; ++ch)
            for (int64_t ky = 0; ky < k; ++ky)
              for (int64_t kx = 0; kx < k; ++kx) {
                const int64_t iy = y * stride - pad + ky, ix = xx * stride - pad + kx;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                const int64_t at = ((i * bc + ch) * h + iy) * wd + ix;
                const int64_t wat = ((o * bc + ch) * k + ky) * k + kx;  // w is [small, big, k, k] either way
                gw[wat] += s * big.data()[at];
                gbig[at] += s * w.data()[wat];
              }
        }
  // Not transposed: gbig is dx (sum over dy * w); transposed: the "small" side is x.
  dw = Tensor::empty(w.shape());
  for (size_t j = 0; j < gw.size(); ++j) dw.data()[j] = static_cast<float>(gw[j]);
  if (!transposed) {
    dx = Tensor::empty(x.shape());
    for (size_t j = 0; j < gbig.size(); ++j) dx.data()[j] = static_cast<float>(gbig[j]);
    return;
  }
  // dx of a transposed convolution is the forward convolution of dy with the same w.
  dx = naive_conv2d(big, w, stride, pad);
}

// g with its output size filled in from its input, kernel, stride and padding.
cpu::ConvGeometry with_output_size(cpu::ConvGeometry g) {
  g.out_height = (g.height + 2 * g.padding - g.kernel) / g.stride + 1;
  g.out_width = (g.width + 2 * g.padding - g.kernel) / g.stride + 1;
  return g;
}

std::string describe(const cpu::ConvGeometry& g) {
  return str(g.channels, " channels of ", g.height, " x ", g.width, ", kernel ", g.kernel, ", stride ", g.stride,
             ", padding ", g.padding);
}

struct ConvCase { bool transposed; int n, c, h, w, oc, k, stride, pad; };

// The convolution's output and its gradients (accumulated over two backward passes)
// against the naive loops; returns the output and the two gradients.
std::vector<Tensor> check_conv_against_naive(const ConvCase& cs) {
  CAPTURE(cs.transposed);
  CAPTURE(cs.n);
  CAPTURE(cs.h);
  Tensor x = random_tensor(Shape{cs.n, cs.c, cs.h, cs.w}, 7).set_requires_grad(true);
  Tensor w = random_tensor(cs.transposed ? Shape{cs.c, cs.oc, cs.k, cs.k} : Shape{cs.oc, cs.c, cs.k, cs.k}, 8)
                 .set_requires_grad(true);
  auto op = [&] {
    return cs.transposed ? conv_transpose2d(x, w, Tensor(), cs.stride, cs.pad) : conv2d(x, w, Tensor(), cs.stride, cs.pad);
  };
  Tensor y = op();
  CHECK(compare(y, cs.transposed ? naive_conv_transpose2d(x, w, cs.stride, cs.pad) : naive_conv2d(x, w, cs.stride, cs.pad),
                1e-5, 1e-4) == "");
  Tensor dy = random_tensor(y.shape(), 9);
  sum(mul(op(), dy)).backward();
  sum(mul(op(), dy)).backward();  // gradients accumulate
  Tensor dx, dw;
  naive_conv_grads(x, w, dy, cs.stride, cs.pad, cs.transposed, dx, dw);
  CHECK(compare(x.grad(), mul_scalar(dx, 2.0f), 1e-4, 1e-4) == "");
  CHECK(compare(w.grad(), mul_scalar(dw, 2.0f), 1e-4, 1e-4) == "");
  return {y, x.grad(), w.grad()};
}

}  // namespace

TEST_CASE("conv2d and conv_transpose2d gradients match naive loops, large images a block of rows at a time") {
  // Images with 1024 or more output pixels go a block of output rows at a time (conv.cpp);
  // these have ragged last blocks, a first layer's padding, and batches of one and more.
  for (ConvCase cs : {ConvCase{false, 3, 40, 66, 64, 3, 4, 2, 1}, ConvCase{false, 2, 3, 64, 64, 5, 4, 2, 4},
                      ConvCase{false, 1, 2, 33, 40, 3, 3, 1, 1}, ConvCase{true, 3, 3, 40, 34, 40, 4, 2, 1},
                      ConvCase{true, 2, 4, 32, 35, 3, 4, 2, 1}, ConvCase{true, 1, 3, 33, 32, 2, 3, 1, 1}})
    check_conv_against_naive(cs);
}

TEST_CASE("small images split the batch over the threads: results and gradients match naive loops at 1 to 3 threads") {
  // With two or more images per thread each thread takes a share of the batch (conv.cpp,
  // for_batch_shards): uneven shares (7 images on 2 and 3 threads), a batch too small to
  // split (3 images on 2 threads), and the same output bit for bit on a second run.
#ifdef _OPENMP
  const int threads_before = omp_get_max_threads();
  for (int threads : {1, 2, 3}) {
    omp_set_num_threads(threads);
#else
  for (int threads : {1}) {
#endif
    CAPTURE(threads);
    for (ConvCase cs : {ConvCase{false, 7, 5, 8, 8, 6, 4, 2, 1}, ConvCase{false, 3, 4, 9, 7, 3, 4, 2, 1},
                        ConvCase{true, 7, 6, 4, 4, 5, 4, 2, 1}, ConvCase{true, 5, 3, 5, 3, 4, 3, 1, 1}}) {
      const std::vector<Tensor> first = check_conv_against_naive(cs), second = check_conv_against_naive(cs);
      for (size_t i = 0; i < first.size(); ++i) CHECK(compare(second[i], first[i], 0.0, 0.0) == "");
    }
  }
#ifdef _OPENMP
  omp_set_num_threads(threads_before);
#endif
}

TEST_CASE("conv2d matches naive loops") {
  struct Case { int n, c, h, w, oc, k, stride, pad; };
  for (Case cs : {Case{1, 3, 16, 16, 8, 4, 2, 4}, Case{3, 3, 9, 7, 5, 4, 2, 1}, Case{2, 16, 4, 4, 7, 4, 1, 0},
                  Case{1, 1, 5, 5, 1, 3, 1, 1}, Case{2, 5, 11, 13, 6, 3, 2, 0}, Case{1, 8, 35, 35, 16, 4, 2, 1},
                  Case{40, 4, 6, 6, 3, 4, 2, 1}}) {
    CAPTURE(cs.h);
    CAPTURE(cs.pad);
    Tensor x = random_tensor(Shape{cs.n, cs.c, cs.h, cs.w}, 1);
    Tensor w = random_tensor(Shape{cs.oc, cs.c, cs.k, cs.k}, 2);
    CHECK(compare(conv2d(x, w, Tensor(), cs.stride, cs.pad), naive_conv2d(x, w, cs.stride, cs.pad), 1e-5, 1e-4) ==
          "");
  }
}

TEST_CASE("conv_transpose2d matches naive loops") {
  struct Case { int n, c, h, w, oc, k, stride, pad; };
  for (Case cs : {Case{2, 8, 1, 1, 16, 4, 1, 0}, Case{1, 4, 4, 4, 3, 4, 2, 1}, Case{3, 3, 5, 7, 2, 4, 2, 1},
                  Case{1, 2, 6, 6, 3, 3, 1, 1}, Case{2, 3, 3, 3, 2, 4, 2, 2}, Case{1, 16, 8, 8, 8, 4, 2, 1}}) {
    CAPTURE(cs.h);
    CAPTURE(cs.stride);
    Tensor x = random_tensor(Shape{cs.n, cs.c, cs.h, cs.w}, 3);
    Tensor w = random_tensor(Shape{cs.c, cs.oc, cs.k, cs.k}, 4);
    CHECK(compare(conv_transpose2d(x, w, Tensor(), cs.stride, cs.pad), naive_conv_transpose2d(x, w, cs.stride, cs.pad),
                  1e-5, 1e-4) == "");
  }
}

TEST_CASE("im2col and col2im match their naive twins") {
  // Rows of 32 floats and more take the vector path of stride 2 (first and last layers).
  std::vector<cpu::ConvGeometry> geometries = {{3, 9, 7, 4, 2, 4, 0, 0},   {2, 5, 5, 3, 1, 1, 0, 0},
                                               {4, 4, 4, 4, 1, 0, 0, 0},   {2, 5, 70, 4, 2, 1, 0, 0},
                                               {1, 3, 131, 4, 2, 4, 0, 0}, {2, 4, 64, 4, 2, 1, 0, 0},
                                               {1, 2, 97, 3, 3, 1, 0, 0}};
  // Random geometries with ragged edges: strides 1 to 3, padding up to past the kernel,
  // images narrower than the kernel plus padding on one side.
  Rng rng(11);
  auto pick = [&](int lo, int hi) { return static_cast<int64_t>(lo + rng.next_u64() % (hi - lo + 1)); };
  while (geometries.size() < 60) {
    cpu::ConvGeometry g{pick(1, 3), pick(1, 13), pick(1, 13), pick(1, 5), pick(1, 3), pick(0, 5), 0, 0};
    if (g.height + 2 * g.padding >= g.kernel && g.width + 2 * g.padding >= g.kernel) geometries.push_back(g);
  }
  for (const cpu::ConvGeometry& input : geometries) {
    const cpu::ConvGeometry g = with_output_size(input);
    INFO(describe(g));
    const int64_t ld = g.cols() + 3;  // columns of neighbouring images sit beside these
    Tensor image = random_tensor(Shape{g.channels * g.height * g.width}, 5);
    Tensor fast = Tensor::full(Shape{g.rows() * ld}, 7.0f), naive = Tensor::full(Shape{g.rows() * ld}, 7.0f);
    cpu::im2col(g, image.data(), fast.data(), ld);
    cpu::im2col_naive(g, image.data(), naive.data(), ld);
    CHECK(compare(fast, naive, 0, 0) == "");
    Tensor back_fast = random_tensor(image.shape(), 6), back_naive = back_fast.clone();
    cpu::col2im_add(g, fast.data(), ld, back_fast.data());
    cpu::col2im_add_naive(g, naive.data(), ld, back_naive.data());
    CHECK(compare(back_fast, back_naive, 1e-6, 1e-6) == "");
    // Through offset tables, as small images in groups are done (im2col_gather.cpp).
    Tensor gathered = Tensor::full(Shape{g.rows() * ld}, 7.0f);
    cpu::im2col_gather(g, image.data(), gathered.data(), ld);
    CHECK(compare(gathered, naive, 0, 0) == "");
    Tensor back_gathered = random_tensor(image.shape(), 6), back_reference = back_gathered.clone();
    cpu::col2im_gather_add(g, naive.data(), ld, back_gathered.data());
    cpu::col2im_add_naive(g, naive.data(), ld, back_reference.data());
    CHECK(compare(back_gathered, back_reference, 1e-6, 1e-6) == "");
    // A block of output rows, as large images are done.
    const int64_t oy0 = pick(0, static_cast<int>(g.out_height - 1)), oy1 = pick(static_cast<int>(oy0 + 1), static_cast<int>(g.out_height));
    const int64_t block_ld = (oy1 - oy0) * g.out_width + 2;
    Tensor block_fast = Tensor::full(Shape{g.rows() * block_ld}, 7.0f), block_naive = block_fast.clone();
    cpu::im2col_rows(g, image.data(), oy0, oy1, block_fast.data(), block_ld);
    cpu::im2col_rows_naive(g, image.data(), oy0, oy1, block_naive.data(), block_ld);
    CHECK(compare(block_fast, block_naive, 0, 0) == "");
    cpu::col2im_add_rows(g, block_fast.data(), oy0, oy1, block_ld, back_fast.data());
    cpu::col2im_add_rows_naive(g, block_naive.data(), oy0, oy1, block_ld, back_naive.data());
    CHECK(compare(back_fast, back_naive, 1e-6, 1e-6) == "");
  }
}

TEST_CASE("the forward product packed straight from the images matches the column matrix's") {
  // conv2d_product_panels (im2col_panels.cpp) against naive im2col then a naive GEMM, and
  // bit for bit against im2col_group then gemm() where gemm() takes the packed path (the
  // same panels in the same loop nest). Random geometries with ragged edges, a group that
  // starts past the first image, K above the GEMM's K block (256) and output channels
  // above one micro-panel, at 1 and 2 GEMM threads.
  Rng rng(12);
  auto pick = [&](int lo, int hi) { return static_cast<int64_t>(lo + rng.next_u64() % (hi - lo + 1)); };
#ifdef _OPENMP
  const int threads_before = omp_get_max_threads();
#endif
  for (int trial = 0; trial < 40; ++trial) {
    const cpu::ConvGeometry input{pick(1, 24), pick(1, 19), pick(1, 19), pick(1, 5), pick(1, 3), pick(0, 4), 0, 0};
    if (input.height + 2 * input.padding < input.kernel || input.width + 2 * input.padding < input.kernel) continue;
    const cpu::ConvGeometry g = with_output_size(input);
    const int64_t images = pick(1, 4), n0 = pick(0, 2), oc = pick(1, 40), k = g.rows(), n = images * g.cols();
    INFO(describe(g));
    CAPTURE(images);
    CAPTURE(oc);
    Tensor x = random_tensor(Shape{(n0 + images) * g.channels * g.height * g.width}, 13);
    Tensor w = random_tensor(Shape{oc * k}, 14);
    Tensor columns = Tensor::full(Shape{k * n}, 7.0f);
    for (int64_t i = 0; i < images; ++i)
      cpu::im2col_naive(g, x.data() + (n0 + i) * g.channels * g.height * g.width, columns.data() + i * g.cols(), n);
    Tensor expected = Tensor::zeros(Shape{oc * n});
    cpu::gemm_naive(false, false, oc, n, k, 1.0f, w.data(), k, columns.data(), n, 0.0f, expected.data(), n);
    for (int threads : {1, 2}) {
      CAPTURE(threads);
#ifdef _OPENMP
      omp_set_num_threads(threads);
#endif
      Tensor panels = Tensor::full(Shape{oc * n}, 7.0f);
      cpu::conv2d_product_panels(g, x.data(), n0, images, oc, w.data(), panels.data());
      CHECK(compare(panels, expected, 1e-5, 1e-4) == "");
      if (oc * n * k < 32 * 32 * 32) continue;  // gemm() sums tiny products its own way
      Tensor grouped = Tensor::full(Shape{k * n}, 7.0f), product = Tensor::full(Shape{oc * n}, 7.0f);
      cpu::im2col_group(g, x.data(), n0, images, grouped.data());
      cpu::gemm(false, false, oc, n, k, 1.0f, w.data(), k, grouped.data(), n, 0.0f, product.data(), n);
      CHECK(compare(panels, product, 0, 0) == "");
    }
  }
#ifdef _OPENMP
  omp_set_num_threads(threads_before);
#endif
}

TEST_CASE("batch_norm2d matches the formula and updates running statistics as PyTorch") {
  Tensor x = random_tensor(Shape{3, 2, 4, 5}, 6, -3, 5);
  Tensor gamma = Tensor::from_vector(Shape{2}, {1.5f, -0.5f}), beta = Tensor::from_vector(Shape{2}, {0.1f, 0.2f});
  Tensor rm = Tensor::from_vector(Shape{2}, {0.5f, -1.0f}), rv = Tensor::from_vector(Shape{2}, {2.0f, 0.5f});
  Tensor y = batch_norm2d(x, gamma, beta, rm, rv, true, 0.1f, 1e-5f);
  for (int ch = 0; ch < 2; ++ch) {
    double s = 0, ss = 0;
    const int count = 3 * 20;
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 20; ++j) s += x.data()[(i * 2 + ch) * 20 + j];
    const double mean = s / count;
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 20; ++j) ss += std::pow(x.data()[(i * 2 + ch) * 20 + j] - mean, 2);
    const double var = ss / count;
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 20; ++j) {
        const int at = (i * 2 + ch) * 20 + j;
        CHECK(y.data()[at] == doctest::Approx((x.data()[at] - mean) / std::sqrt(var + 1e-5) * gamma.data()[ch] +
                                              beta.data()[ch]).epsilon(1e-5));
      }
    const double old_mean = ch == 0 ? 0.5 : -1.0, old_var = ch == 0 ? 2.0 : 0.5;
    CHECK(rm.data()[ch] == doctest::Approx(0.9 * old_mean + 0.1 * mean).epsilon(1e-6));
    CHECK(rv.data()[ch] == doctest::Approx(0.9 * old_var + 0.1 * ss / (count - 1)).epsilon(1e-6));
  }
  // Eval mode uses the running statistics and leaves them alone.
  Tensor rm_before = rm.clone(), rv_before = rv.clone();
  Tensor e = batch_norm2d(x, gamma, beta, rm, rv, false);
  CHECK(compare(rm, rm_before, 0, 0) == "");
  CHECK(e.data()[0] == doctest::Approx((x.data()[0] - rm.data()[0]) / std::sqrt(rv.data()[0] + 1e-5) * 1.5 + 0.1));
}

TEST_CASE("batch norm's vector kernels match their naive twins") {
  // Planes shorter than a vector, with tails, and longer than a lane's chunk (256 vectors).
  for (int64_t hw : {int64_t{1}, int64_t{7}, int64_t{64}, int64_t{1000}, int64_t{5000}})
    for (bool training : {true, false}) {
      CAPTURE(hw);
      CAPTURE(training);
      const int64_t n = 3, c = 4, size = n * c * hw;
      const Tensor x = random_tensor(Shape{size}, 40), dy = random_tensor(Shape{size}, 41);
      const Tensor gamma = random_tensor(Shape{c}, 42), beta = random_tensor(Shape{c}, 43);
      Tensor stats[2][4], out[2], dx[2], dgamma[2], dbeta[2];
      for (int naive = 0; naive < 2; ++naive) {
        Tensor* s = stats[naive];
        s[0] = Tensor::full(Shape{c}, 0.5f), s[1] = Tensor::full(Shape{c}, 2.0f);  // running mean, var
        s[2] = Tensor::empty(Shape{c}), s[3] = Tensor::empty(Shape{c});            // mean, inv_std
        out[naive] = Tensor::empty(Shape{size});
        dx[naive] = Tensor::full(Shape{size}, 0.25f), dgamma[naive] = Tensor::full(Shape{c}, 1.0f),
        dbeta[naive] = Tensor::full(Shape{c}, -1.0f);
        auto forward = naive ? cpu::batch_norm_forward_naive : cpu::batch_norm_forward;
        auto backward = naive ? cpu::batch_norm_backward_naive : cpu::batch_norm_backward;
        forward(training, n, c, hw, x.data(), gamma.data(), beta.data(), s[0].data(), s[1].data(), 0.1f, 1e-5f,
                s[2].data(), s[3].data(), out[naive].data());
        backward(training, n, c, hw, x.data(), gamma.data(), s[2].data(), s[3].data(), dy.data(), dx[naive].data(),
                 dgamma[naive].data(), dbeta[naive].data());
      }
      for (int i = 0; i < 4; ++i) CHECK(compare(stats[0][i], stats[1][i], 1e-5, 1e-6) == "");
      CHECK(compare(out[0], out[1], 1e-5, 1e-5) == "");
      CHECK(compare(dx[0], dx[1], 1e-5, 1e-5) == "");
      CHECK(compare(dgamma[0], dgamma[1], 1e-4, 1e-5) == "");
      CHECK(compare(dbeta[0], dbeta[1], 1e-4, 1e-5) == "");
    }
}

TEST_CASE("results are bitwise repeatable") {
  Tensor x = random_tensor(Shape{4, 3, 32, 32}, 7);
  Tensor w = random_tensor(Shape{16, 3, 4, 4}, 8);
  Tensor a = conv2d(x, w, Tensor(), 2, 4), b = conv2d(x, w, Tensor(), 2, 4);
  CHECK(compare(a, b, 0, 0) == "");
}

TEST_CASE("Adam's vector update matches the scalar formula, tails and threads included") {
  nn::AdamOptions o;
  for (int64_t n : {int64_t{1}, int64_t{37}, int64_t{(1 << 16) + 5}}) {
    CAPTURE(n);
    Tensor p = random_tensor(Shape{n}, 21).set_requires_grad(true);
    std::vector<float> w = p.to_vector(), m(n, 0.0f), v(n, 0.0f);
    nn::Adam adam({p}, o);
    for (int step = 1; step <= 3; ++step) {
      const Tensor g = random_tensor(Shape{n}, 30 + step);
      gan::testing::set_grad(p, g.to_vector());
      adam.step();
      const float bias1 = 1.0f - static_cast<float>(std::pow(double{o.beta1}, double(step)));
      const float bias2_sqrt = std::sqrt(1.0f - static_cast<float>(std::pow(double{o.beta2}, double(step))));
      for (int64_t j = 0; j < n; ++j) {
        const float gj = g.data()[j];
        m[j] = o.beta1 * m[j] + (1.0f - o.beta1) * gj;
        v[j] = o.beta2 * v[j] + (1.0f - o.beta2) * gj * gj;
        w[j] = w[j] - o.lr / bias1 * m[j] / (std::sqrt(v[j]) / bias2_sqrt + o.eps);
      }
    }
    // Not bitwise: the compiler may contract a * b + c into one FMA differently in the
    // two loops. A wrong term (bias correction, eps, order) is far above 1e-6.
    CHECK(compare(p, Tensor::from_vector(Shape{n}, w), 1e-9, 1e-6) == "");
  }
}
