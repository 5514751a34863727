#pragma once
// Where a tensor's values live, and what apps may ask about devices. Every tensor is on
// the CPU unless it was moved. This is the public face of the backend: the kernels
// themselves stay behind tensor/backend.h, which only src/tensor includes.
#include <string>

namespace gan {

enum class Device { cpu, cuda };

const char* device_name(Device device);
// "cpu" or "cuda"; anything else throws "<option>: expected cpu or cuda, ...", `option`
// being the caller's name for the setting.
Device parse_device(const std::string& name, const std::string& option);

// Whether this build has the CUDA backend.
bool cuda_built();
// Whether `device` can hold tensors now; `why` (when given) says why not.
bool device_available(Device device, std::string* why = nullptr);
// Throws "cannot use <what> <device>: <why>" when `device` cannot be used.
void require_device(Device device, const std::string& what);
// The CPU GEMM kernel set in use (tensor/cpu/kernel_sets.h): it throws, one line, when
// GANOMALY_KERNELS names a set this build lacks or this CPU cannot run; the description
// says how it was chosen, for --version.
std::string gemm_kernel_set();
std::string gemm_kernel_description();

}  // namespace gan
