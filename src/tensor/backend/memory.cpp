// Devices, memory, copies, fills and the GEMM: what apps may ask about devices
// (tensor/device.h), and the dispatch of memory, fill (cpu/ and cuda/elementwise) and gemm.
#include <cstring>

#include "tensor/backend/dispatch.h"
#include "tensor/check.h"
#include "tensor/cpu/kernel_sets.h"
#include "tensor/profile.h"

namespace gan {

const char* device_name(Device device) { return device == Device::cpu ? "cpu" : "cuda"; }

Device parse_device(const std::string& name, const std::string& option) {
  if (name == "cpu") return Device::cpu;
  if (name == "cuda") return Device::cuda;
  throw Error(str(option, ": expected cpu or cuda, got '", name, "'"));
}

bool cuda_built() { return GANOMALY_CUDA_BUILT; }

bool device_available(Device device, std::string* why) {
  if (device == Device::cpu) return true;
  if (!cuda_built()) {
    if (why) *why = "built without CUDA: rebuild with -DGANOMALY_CUDA=ON (make cuda)";
    return false;
  }
  std::string reason;
  bool ok = false;
  GANOMALY_CUDA_CALL(ok = cuda::available(&reason));
  if (why) *why = reason;
  return ok;
}

void require_device(Device device, const std::string& what) {
  std::string why;
  // Not "<what>: " first: the apps read a message that starts with a flag as a usage
  // error (exit 2); this is the machine's or the build's limit (exit 1).
  GANOMALY_CHECK(device_available(device, &why), "cannot use ", what, " ", device_name(device), ": ", why);
}

std::string gemm_kernel_set() { return cpu::kernel_set_in_use(); }
std::string gemm_kernel_description() { return cpu::kernel_set_description(); }

namespace backend {

void cuda_unavailable() { throw Error("built without CUDA: rebuild with -DGANOMALY_CUDA=ON (make cuda)"); }

void* device_allocate(size_t bytes) {
  void* p = nullptr;
  GANOMALY_CUDA_CALL(p = cuda::allocate(bytes));
  return p;
}

void device_release(void* p) { GANOMALY_CUDA_CALL(cuda::release(p)); }

void copy(Device dst_device, float* dst, Device src_device, const float* src, int64_t count) {
  profile::Scope scope(profile::Op::copy_fill);
  if (count <= 0) return;
  if (dst_device == Device::cpu && src_device == Device::cpu) {
    std::memcpy(dst, src, sizeof(float) * count);
  } else if (dst_device == Device::cuda && src_device == Device::cpu) {
    GANOMALY_CUDA_CALL(cuda::copy_to_device(dst, src, count));
  } else if (dst_device == Device::cpu) {
    GANOMALY_CUDA_CALL(cuda::copy_to_host(dst, src, count));
  } else {
    GANOMALY_CUDA_CALL(cuda::copy_on_device(dst, src, count));
  }
}

void fill(Device device, float* p, int64_t count, float value) {
  if (device == Device::cuda) return GANOMALY_CUDA_CALL(cuda::fill(count, value, p));
  cpu::fill(count, value, p);
}

void gemm(Device device, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (device == Device::cuda)
    return GANOMALY_CUDA_CALL(cuda::gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc));
  cpu::gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace backend
}  // namespace gan
