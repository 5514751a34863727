#pragma once
// The GEMM kernel sets: which ones this build compiled, which ones this CPU can run, and
// the one in use. A portable build (GANOMALY_NATIVE=OFF) on x86-64 compiles sse2, avx2
// (AVX2 + FMA) and avx512 (AVX-512F) where the compiler can, and picks the best one the
// CPU supports, once, at the first product. On aarch64 the only set is NEON; a native
// build has one set, -march=native's. The environment variable GANOMALY_KERNELS=<name>
// forces another compiled set, e.g. a lower one for testing.
#include <string>
#include <vector>

namespace gan::cpu {

std::vector<std::string> compiled_kernel_sets();   // best last
std::vector<std::string> supported_kernel_sets();  // compiled and runnable on this CPU
// The set in use. Throws gan::Error, one line, when GANOMALY_KERNELS names a set this
// build lacks or this CPU cannot run.
std::string kernel_set_in_use();
// "sse2 | avx2 | avx512 (chosen at run time ...)": the set in use and how it was chosen,
// for --version.
std::string kernel_set_description();

}  // namespace gan::cpu
