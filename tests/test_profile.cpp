// The per-op profiler (tensor/profile.h) behind ganomaly_bench --profile: it records only
// while on, charges nested kernels to themselves, and its parts add up to no more than the
// CPU time that passed.
#include <doctest/doctest.h>

#include <ctime>
#include <string>

#include "support/gradcheck.h"
#include "tensor/ops.h"
#include "tensor/profile.h"

using namespace gan;
using gan::testing::random_tensor;

namespace {
double process_cpu() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}
int64_t calls(const profile::Totals& t, profile::Op op) { return t.calls[static_cast<int>(op)]; }
double seconds(const profile::Totals& t, profile::Op op) { return t.cpu_seconds[static_cast<int>(op)]; }
}  // namespace

TEST_CASE("the profile records convolutions' kernels while on, and nothing while off") {
  const Tensor x = random_tensor(Shape{4, 8, 16, 16}, 1), w = random_tensor(Shape{16, 8, 4, 4}, 2);
  profile::set_enabled(false);
  profile::reset();
  conv2d(x, w, Tensor(), 2, 1);
  for (int i = 0; i < profile::kOps; ++i) CHECK(profile::totals().calls[i] == 0);

  profile::set_enabled(true);
  profile::reset();
  const double cpu0 = process_cpu();
  for (int r = 0; r < 3; ++r) relu(conv2d(x, w, Tensor(), 2, 1));
  const double cpu = process_cpu() - cpu0;
  const profile::Totals t = profile::totals();
  profile::set_enabled(false);
  CHECK(calls(t, profile::Op::gemm) >= 3);
  CHECK(calls(t, profile::Op::im2col) >= 3);
  CHECK(calls(t, profile::Op::activation) == 3);
  CHECK(calls(t, profile::Op::conv_other) == 3);
  CHECK(calls(t, profile::Op::batch_norm) == 0);
  CHECK(seconds(t, profile::Op::gemm) > 0);
  double parts = 0;
  for (double s : t.cpu_seconds) {
    CHECK(s >= 0);
    parts += s;
  }
  CHECK(parts <= cpu + 1e-6);
  for (int i = 0; i < profile::kOps; ++i) CHECK(std::string(profile::name(static_cast<profile::Op>(i))) != "?");
}
