// The tests' main: says which GEMM kernel set runs, then runs doctest.
//
// ctest runs the kernel-sensitive tests once per compiled kernel set (GANOMALY_KERNELS,
// see CMakeLists.txt); on a CPU that cannot run the forced set the binary exits 77, which
// ctest reports as skipped. A set this build lacks, or any other error, fails.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "tensor/cpu/kernel_sets.h"

int main(int argc, char** argv) {
  const char* forced = std::getenv("GANOMALY_KERNELS");
  if (forced && *forced) {
    const auto compiled = gan::cpu::compiled_kernel_sets();
    const auto supported = gan::cpu::supported_kernel_sets();
    const bool built = std::find(compiled.begin(), compiled.end(), forced) != compiled.end();
    const bool runs = std::find(supported.begin(), supported.end(), forced) != supported.end();
    if (built && !runs) {
      std::printf("skipped: this CPU cannot run the kernel set GANOMALY_KERNELS=%s\n", forced);
      return 77;
    }
  }
  try {
    std::printf("gemm kernels: %s\n", gan::cpu::kernel_set_description().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
