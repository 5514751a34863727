#pragma once
// For src/tensor/backend/*.cpp only: both backends' kernels (cpu::, cuda::) and the one
// switch on whether CUDA was built in. Without it, a CUDA call is never compiled and throws "built without CUDA"
// instead (no CUDA tensor can exist then, so only device_available and Storage reach it).
#include "tensor/backend.h"
#include "tensor/cpu/kernels.h"
#include "tensor/cuda/kernels.h"

#ifdef GANOMALY_CUDA
#define GANOMALY_CUDA_BUILT true
#define GANOMALY_CUDA_CALL(call) (call)
#else
#define GANOMALY_CUDA_BUILT false
// The call is named in an unevaluated operand only: its arguments count as used and
// nothing links against the missing kernels.
#define GANOMALY_CUDA_CALL(call) (static_cast<void>(sizeof(((call), 0))), ::gan::backend::cuda_unavailable())
#endif

namespace gan::backend {
inline bool on_cuda(Device device) { return device == Device::cuda; }
// Throws "built without CUDA: rebuild with -DGANOMALY_CUDA=ON (make cuda)".
[[noreturn]] void cuda_unavailable();
}  // namespace gan::backend
