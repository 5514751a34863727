// Which compiled GEMM kernel set runs: the best one the CPU supports, or the one named by
// GANOMALY_KERNELS. Chosen once, at the first product, and kept for the process.
//
// Only the GEMM is dispatched. The elementwise maps (cpu/vec.h, used by ops/*) stay at the
// baseline of the build: they stream each operand once, a few flops per float moved, so
// memory bandwidth bounds them, not the vector width, and they are a small share of a
// training step next to the convolutions' GEMMs.
#include "tensor/cpu/kernel_sets.h"

#include <xsimd/xsimd.hpp>

#include <cstdlib>

#include "tensor/check.h"
#include "tensor/cpu/gemm_sets.h"

namespace gan::cpu {
namespace {

struct KernelSet {
  std::string name;
  PackedGemm run;
  PanelGemm run_panels;
  bool runs_here;  // the CPU (and the OS, which must save the wider registers) supports it
};

#if defined(GANOMALY_GEMM_AVX2) || defined(GANOMALY_GEMM_AVX512)
// xsimd reads CPUID; GCC's check also asks the OS (XGETBV) whether it saves the AVX and
// AVX-512 registers across context switches, without which the instructions fault.
#if defined(__GNUC__)
#define GANOMALY_OS_SUPPORTS(feature) __builtin_cpu_supports(feature)
#else
#define GANOMALY_OS_SUPPORTS(feature) true
#endif
#endif

std::vector<KernelSet> kernel_sets() {
  std::vector<KernelSet> sets{{gemm_baseline_name(), gemm_packed_baseline, gemm_panels_baseline, true}};
#if defined(GANOMALY_GEMM_AVX2) || defined(GANOMALY_GEMM_AVX512)
  const auto cpu = xsimd::available_architectures();
#endif
#ifdef GANOMALY_GEMM_AVX2
  sets.push_back({"avx2", gemm_packed_avx2, gemm_panels_avx2,
                  cpu.fma3_avx2 && GANOMALY_OS_SUPPORTS("avx2") && GANOMALY_OS_SUPPORTS("fma")});
#endif
#ifdef GANOMALY_GEMM_AVX512
  sets.push_back({"avx512", gemm_packed_avx512, gemm_panels_avx512,
                  cpu.avx512f && cpu.fma3_avx2 && GANOMALY_OS_SUPPORTS("avx512f")});
#endif
  return sets;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

const char* forced_set() {
  const char* name = std::getenv("GANOMALY_KERNELS");
  return name && *name ? name : nullptr;
}

struct Choice {
  std::string name;
  PackedGemm run;
  PanelGemm run_panels;
};

Choice choose() {
  const std::vector<KernelSet> sets = kernel_sets();
  const char* forced = forced_set();
  if (!forced) {
    for (auto it = sets.rbegin(); it != sets.rend(); ++it)
      if (it->runs_here) return {it->name, it->run, it->run_panels};
  }
  for (const KernelSet& set : sets) {
    if (set.name != forced) continue;
    if (!set.runs_here)
      throw Error(str("GANOMALY_KERNELS=", forced, ": this CPU cannot run that kernel set (it can run ",
                      joined(supported_kernel_sets()), ")"));
    return {set.name, set.run, set.run_panels};
  }
  throw Error(str("GANOMALY_KERNELS=", forced, ": not a kernel set of this build (expected one of ",
                  joined(compiled_kernel_sets()), ")"));
}

// A static local: chosen once, thread-safely; a failed choice throws and is retried.
const Choice& choice() {
  static const Choice chosen = choose();
  return chosen;
}

}  // namespace

std::vector<std::string> compiled_kernel_sets() {
  std::vector<std::string> names;
  for (const KernelSet& set : kernel_sets()) names.push_back(set.name);
  return names;
}

std::vector<std::string> supported_kernel_sets() {
  std::vector<std::string> names;
  for (const KernelSet& set : kernel_sets())
    if (set.runs_here) names.push_back(set.name);
  return names;
}

std::string kernel_set_in_use() { return choice().name; }

std::string kernel_set_description() {
  const std::string name = kernel_set_in_use();
#ifdef GANOMALY_GEMM_NATIVE
  return str(name, " (native build: the one set, for -march=native)");
#else
  return str(name, forced_set() ? " (forced by GANOMALY_KERNELS" : " (chosen at run time",
             "; this CPU runs: ", joined(supported_kernel_sets()), "; built: ", joined(compiled_kernel_sets()), ")");
#endif
}

PackedGemm selected_packed_gemm() { return choice().run; }
PanelGemm selected_panel_gemm() { return choice().run_panels; }

}  // namespace gan::cpu
