// gan::cpu::gemm (packed, blocked, threaded) against gemm_naive (double accumulation).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "tensor/cpu/kernels.h"

namespace {

struct Case {
  int64_t m, n, k;
};

// Operands for one product, stored with leading dimensions `pad` floats wider than needed
// so that kernels which assume ld == width fail.
struct Problem {
  bool ta, tb;
  int64_t m, n, k, lda, ldb, ldc;
  std::vector<float> a, b, c;

  Problem(bool ta_, bool tb_, int64_t m_, int64_t n_, int64_t k_, int64_t pad, uint32_t seed)
      : ta(ta_), tb(tb_), m(m_), n(n_), k(k_) {
    lda = (ta ? m : k) + pad;
    ldb = (tb ? k : n) + pad;
    ldc = n + pad;
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    a.resize((ta ? k : m) * lda + 1);
    b.resize((tb ? n : k) * ldb + 1);
    c.resize(m * ldc + 1);
    for (float& x : a) x = dist(rng);
    for (float& x : b) x = dist(rng);
    for (float& x : c) x = dist(rng);
  }
};

std::string describe(const Problem& p, float alpha, float beta) {
  std::ostringstream s;
  s << (p.ta ? "T" : "N") << (p.tb ? "T" : "N") << " m=" << p.m << " n=" << p.n << " k=" << p.k << " lda=" << p.lda
    << " ldb=" << p.ldb << " ldc=" << p.ldc << " alpha=" << alpha << " beta=" << beta;
  return s.str();
}

// Runs fast and naive on copies of C and compares |fast - ref| <= atol + rtol * |ref|.
// Inputs lie in [-1, 1]; a float sum of k such products is off by about eps * k / 4 in
// the typical case, so atol grows with k (with a safety factor), rtol covers beta * C.
// Padding between rows of C must stay untouched. beta == 0 starts from a NaN-filled C.
void check(Problem& p, float alpha, float beta) {
  std::vector<float> c_fast = p.c, c_ref = p.c;
  if (beta == 0.0f) {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    for (int64_t i = 0; i < p.m; ++i)
      for (int64_t j = 0; j < p.n; ++j) c_fast[i * p.ldc + j] = c_ref[i * p.ldc + j] = nan;
  }
  gan::cpu::gemm(p.ta, p.tb, p.m, p.n, p.k, alpha, p.a.data(), p.lda, p.b.data(), p.ldb, beta, c_fast.data(), p.ldc);
  gan::cpu::gemm_naive(p.ta, p.tb, p.m, p.n, p.k, alpha, p.a.data(), p.lda, p.b.data(), p.ldb, beta, c_ref.data(),
                       p.ldc);
  const double atol = 1e-6 + 2.5e-7 * static_cast<double>(p.k) * std::fabs(alpha);
  const double rtol = 1e-5;
  int64_t bad = 0, first_i = -1, first_j = -1;
  for (int64_t i = 0; i < p.m; ++i)
    for (int64_t j = 0; j < p.ldc && i * p.ldc + j < static_cast<int64_t>(c_ref.size()); ++j) {
      const double got = c_fast[i * p.ldc + j], ref = c_ref[i * p.ldc + j];
      const bool ok = j < p.n ? std::isfinite(got) && std::fabs(got - ref) <= atol + rtol * std::fabs(ref)
                              : got == ref;  // padding: bit-identical, never written
      if (!ok && bad++ == 0) first_i = i, first_j = j;
    }
  INFO(describe(p, alpha, beta));
  INFO("first mismatch at (" << first_i << ", " << first_j << ")");
  CHECK(bad == 0);
}

// Small, prime and block-boundary shapes: micro-tile edges (MR up to 12, NR up to 32),
// K past one KC slice (256), M past one MC block (192), N past one NC panel (2048), and
// products large enough to take the threaded path.
const std::vector<Case> kCases = {
    {1, 1, 1},     {1, 7, 3},     {5, 1, 9},      {2, 3, 1},      {37, 53, 29},   {13, 17, 19},  {12, 32, 64},
    {6, 16, 8},    {11, 31, 257}, {25, 33, 300},  {64, 64, 64},   {100, 32, 300}, {1, 100, 700}, {100, 1, 700},
    {197, 70, 45}, {31, 2100, 7}, {129, 250, 513}, {3, 4099, 20}, {61, 67, 71},   {250, 250, 40}};

}  // namespace

TEST_CASE("gemm matches gemm_naive: all transposition cases, padded leading dimensions") {
  uint32_t seed = 1;
  for (const Case& s : kCases)
    for (int t = 0; t < 4; ++t) {
      Problem p(t & 1, t & 2, s.m, s.n, s.k, /*pad=*/3, seed++);
      check(p, 1.0f, 0.0f);
    }
}

TEST_CASE("gemm alpha and beta: overwrite (NaN in C), accumulate, scale") {
  const float alphas[] = {1.0f, -1.5f, 0.25f};
  const float betas[] = {0.0f, 1.0f, 0.5f};
  uint32_t seed = 100;
  for (const Case& s : {Case{1, 1, 1}, Case{37, 53, 29}, Case{129, 250, 513}, Case{197, 70, 45}})
    for (int t = 0; t < 4; ++t)
      for (float alpha : alphas)
        for (float beta : betas) {
          Problem p(t & 1, t & 2, s.m, s.n, s.k, /*pad=*/5, seed++);
          check(p, alpha, beta);
        }
}

TEST_CASE("gemm degenerate: k == 0 and alpha == 0 give beta * C") {
  for (float beta : {0.0f, 1.0f, 0.5f}) {
    Problem p(false, false, 7, 9, 0, 2, 7);
    check(p, 1.0f, beta);
    Problem q(true, true, 40, 50, 60, 2, 8);
    check(q, 0.0f, beta);
  }
  // m == 0 or n == 0: nothing to do, nothing touched.
  float c = 42.0f;
  const float a = 1.0f, b = 1.0f;
  gan::cpu::gemm(false, false, 0, 1, 1, 1.0f, &a, 1, &b, 1, 0.0f, &c, 1);
  gan::cpu::gemm(false, false, 1, 0, 1, 1.0f, &a, 1, &b, 1, 0.0f, &c, 1);
  CHECK(c == 42.0f);
}

#ifdef _OPENMP
TEST_CASE("gemm with 1, 2 and 3 threads, and called from inside a parallel region") {
  const int saved = omp_get_max_threads();
  uint32_t seed = 500;
  for (int threads : {1, 2, 3}) {
    omp_set_num_threads(threads);
    INFO("threads " << threads);
    for (const Case& s : {Case{129, 250, 513}, Case{250, 250, 40}, Case{100, 32, 300}, Case{31, 2100, 7}})
      for (int t = 0; t < 4; ++t) {
        Problem p(t & 1, t & 2, s.m, s.n, s.k, 1, seed++);
        check(p, 1.0f, 0.5f);
      }
  }
  omp_set_num_threads(saved);

  // Nested use (e.g. a caller parallel over images): each call runs single-threaded.
  Problem p(false, true, 96, 80, 300, 0, 9);
  std::vector<float> ref(p.m * p.ldc);
  gan::cpu::gemm_naive(false, true, p.m, p.n, p.k, 1.0f, p.a.data(), p.lda, p.b.data(), p.ldb, 0.0f, ref.data(), p.ldc);
  std::vector<std::vector<float>> outs(4, std::vector<float>(p.m * p.ldc));
#pragma omp parallel for num_threads(2)
  for (int r = 0; r < 4; ++r)
    gan::cpu::gemm(false, true, p.m, p.n, p.k, 1.0f, p.a.data(), p.lda, p.b.data(), p.ldb, 0.0f, outs[r].data(),
                   p.ldc);
  int64_t bad = 0;
  for (const auto& out : outs)
    for (size_t i = 0; i < ref.size(); ++i) bad += !(std::fabs(out[i] - ref[i]) <= 1e-6 + 2.5e-7 * p.k);
  CHECK(bad == 0);
}
#endif

TEST_CASE("gemm is deterministic: repeated calls give bit-identical results") {
  for (int t = 0; t < 4; ++t) {
    Problem p(t & 1, t & 2, 150, 300, 700, 0, 42 + t);
    std::vector<float> c1(p.m * p.ldc), c2(p.m * p.ldc);
    gan::cpu::gemm(p.ta, p.tb, p.m, p.n, p.k, 1.0f, p.a.data(), p.lda, p.b.data(), p.ldb, 0.0f, c1.data(), p.ldc);
    gan::cpu::gemm(p.ta, p.tb, p.m, p.n, p.k, 1.0f, p.a.data(), p.lda, p.b.data(), p.ldb, 0.0f, c2.data(), p.ldc);
    CHECK(c1 == c2);
  }
}
