// The GEMM kernel sets (tensor/cpu/kernel_sets.h): the set in use is one this build has
// and this CPU runs, the best one unless GANOMALY_KERNELS forces another, --version names
// it, and a bad GANOMALY_KERNELS is one clear line, not a crash. That each set computes
// the right products is checked by running test_gemm and the other kernel-sensitive tests
// once per set (ctest entries test_gemm:sse2, test_gemm:avx2 ... in a portable build).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "support/run_app.h"
#include "tensor/cpu/kernel_sets.h"

using namespace gan;

namespace {

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Sets GANOMALY_KERNELS for the apps this test starts, and restores it. This process has
// chosen its own set already (main prints it), so the change does not reach it.
struct ForcedKernels {
  std::string before;
  bool had;
  explicit ForcedKernels(const std::string& name) {
    const char* old = std::getenv("GANOMALY_KERNELS");
    had = old != nullptr;
    if (had) before = old;
    setenv("GANOMALY_KERNELS", name.c_str(), 1);
  }
  ~ForcedKernels() {
    if (had)
      setenv("GANOMALY_KERNELS", before.c_str(), 1);
    else
      unsetenv("GANOMALY_KERNELS");
  }
};

size_t lines(const std::string& s) { return std::count(s.begin(), s.end(), '\n'); }

}  // namespace

TEST_CASE("the set in use is compiled and runs here; unforced, it is the best that runs") {
  const auto compiled = cpu::compiled_kernel_sets();
  const auto supported = cpu::supported_kernel_sets();
  const std::string in_use = cpu::kernel_set_in_use();
  REQUIRE(!compiled.empty());
  CHECK(contains(supported, compiled.front()));  // the baseline runs wherever the library does
  for (const std::string& name : supported) CHECK(contains(compiled, name));
  CHECK(contains(supported, in_use));
  const char* forced = std::getenv("GANOMALY_KERNELS");
  if (forced && *forced)
    CHECK(in_use == forced);
  else
    CHECK(in_use == supported.back());
  CHECK(cpu::kernel_set_description().rfind(in_use + " (", 0) == 0);
}

TEST_CASE("--version names the kernel set that runs, and each set that runs here can be forced") {
  const auto r = testing::run_app("ganomaly_train", "--version");
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("gemm kernels: " + cpu::kernel_set_in_use() + " (") != std::string::npos);
  CHECK(r.output.find("options: openmp ") != std::string::npos);
  for (const std::string& name : cpu::supported_kernel_sets()) {
    ForcedKernels force(name);
    const auto forced = testing::run_app("ganomaly_train", "--version");
    INFO(forced.output);
    CHECK(forced.exit_code == 0);
    CHECK(forced.output.find("gemm kernels: " + name + " (") != std::string::npos);
  }
}

TEST_CASE("a kernel set the build lacks is one line naming GANOMALY_KERNELS and the choices, exit 2") {
  ForcedKernels force("avx1024");
  const auto r = testing::run_app("ganomaly_train", "--version");
  INFO(r.output);
  CHECK(r.exit_code == 2);
  CHECK(lines(r.output) == 1);
  CHECK(r.output.find("ganomaly_train: GANOMALY_KERNELS=avx1024: not a kernel set of this build (expected one of " +
                      cpu::compiled_kernel_sets().front()) == 0);
}

TEST_CASE("through the C API, ganomaly_load reports a bad GANOMALY_KERNELS as an error code and message") {
  ForcedKernels force("avx1024");
  const auto r = testing::run_app("score_image", "no-such-model.gnm no-such-image.png");
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("score_image: ganomaly_load: GANOMALY_KERNELS=avx1024: not a kernel set") == 0);
}

TEST_CASE("a compiled set this CPU cannot run is refused in one line") {
  std::string missing;
  for (const std::string& name : cpu::compiled_kernel_sets())
    if (!contains(cpu::supported_kernel_sets(), name)) missing = name;
  if (missing.empty()) {
    MESSAGE("this CPU runs every compiled kernel set; nothing to refuse");
    return;
  }
  ForcedKernels force(missing);
  const auto r = testing::run_app("ganomaly_infer", "--version");
  CHECK(r.exit_code == 2);
  CHECK(lines(r.output) == 1);
  CHECK(r.output.find("this CPU cannot run that kernel set") != std::string::npos);
}
