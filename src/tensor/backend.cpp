// The CPU/CUDA switch of the facade (see backend.h) and the device-generic memory helpers.
#include "tensor/backend.h"

#include <algorithm>
#include <cstring>

#include "tensor/check.h"

namespace gan {

const char* device_name(Device device) { return device == Device::cpu ? "cpu" : "cuda"; }

Device parse_device(const std::string& name, const std::string& option) {
  if (name == "cpu") return Device::cpu;
  if (name == "cuda") return Device::cuda;
  throw Error(str(option, ": expected cpu or cuda, got '", name, "'"));
}

namespace backend {

#ifdef GANOMALY_CUDA
bool cuda_built() { return true; }
#else
bool cuda_built() { return false; }
#endif

void cuda_unavailable() { throw Error("built without CUDA: rebuild with -DGANOMALY_CUDA=ON (make cuda)"); }

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
  // Not "--device ...: " first: the apps read that as a usage error (exit 2); this is
  // the machine's or the build's limit (exit 1).
  GANOMALY_CHECK(device_available(device, &why), "cannot use ", what, " ", device_name(device), ": ", why);
}

void* device_allocate(size_t bytes) {
  void* p = nullptr;
  GANOMALY_CUDA_CALL(p = cuda::allocate(bytes));
  return p;
}

void device_release(void* p) { GANOMALY_CUDA_CALL(cuda::release(p)); }

void copy(Device dst_device, float* dst, Device src_device, const float* src, int64_t count) {
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
  if (device == Device::cpu) {
    // Zeroing a fresh gradient or transposed-convolution output is a large share of the
    // memory traffic of a step: both cores take part.
    constexpr int64_t kChunk = 1 << 15;
#pragma omp parallel for schedule(static) if (count >= 2 * kChunk)
    for (int64_t begin = 0; begin < count; begin += kChunk) std::fill(p + begin, p + std::min(count, begin + kChunk), value);
  } else
    GANOMALY_CUDA_CALL(cuda::fill(count, value, p));
}

void add_value(Device device, float* p, int64_t count, float value) {
  if (device == Device::cpu) {
    for (int64_t i = 0; i < count; ++i) p[i] += value;
  } else {
    GANOMALY_CUDA_CALL(cuda::affine(count, p, 1.0f, value, p));
  }
}

}  // namespace backend
}  // namespace gan
