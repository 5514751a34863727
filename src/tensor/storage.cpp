#include "tensor/storage.h"

#include <cstdlib>
#include <limits>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#include "tensor/backend.h"

namespace gan {
namespace {

constexpr size_t kAlignment = 64;
constexpr int kDevices = 2;

struct Pool {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<float*>> free_by_count[kDevices];
  size_t in_use[kDevices] = {};
  size_t cached[kDevices] = {};
  bool poison = false;
};

Pool& the_pool() {
  static Pool* p = new Pool;  // never destroyed: buffers may be freed during static teardown
  return *p;
}

size_t padded_bytes(size_t count) {
  size_t bytes = (count ? count : 1) * sizeof(float);
  return (bytes + kAlignment - 1) / kAlignment * kAlignment;
}

int slot(Device device) { return device == Device::cpu ? 0 : 1; }

float* allocate(Device device, size_t bytes) {
  if (device == Device::cuda) return static_cast<float*>(backend::device_allocate(bytes));
  auto* p = static_cast<float*>(std::aligned_alloc(kAlignment, bytes));
  if (!p) throw std::bad_alloc();
  return p;
}

void release(Device device, float* p) {
  if (device == Device::cuda)
    backend::device_release(p);
  else
    std::free(p);
}

}  // namespace

Storage::Storage(size_t count, Device device) : data_(nullptr), count_(count), device_(device) {
  Pool& p = the_pool();
  const size_t bytes = padded_bytes(count);
  const int d = slot(device);
  bool poison;
  {
    std::lock_guard<std::mutex> lock(p.mutex);
    poison = p.poison;
    auto it = p.free_by_count[d].find(count);
    if (it != p.free_by_count[d].end() && !it->second.empty()) {
      data_ = it->second.back();
      it->second.pop_back();
      p.cached[d] -= bytes;
    }
  }
  if (!data_) data_ = allocate(device, bytes);
  {
    std::lock_guard<std::mutex> lock(p.mutex);
    p.in_use[d] += bytes;
  }
  if (!poison) return;
  if (device == Device::cpu)
    for (size_t i = 0; i < count; ++i) data_[i] = std::numeric_limits<float>::quiet_NaN();
  else
    backend::fill(device, data_, static_cast<int64_t>(count), std::numeric_limits<float>::quiet_NaN());
}

Storage::~Storage() {
  Pool& p = the_pool();
  const size_t bytes = padded_bytes(count_);
  const int d = slot(device_);
  std::lock_guard<std::mutex> lock(p.mutex);
  p.in_use[d] -= bytes;
  p.cached[d] += bytes;
  p.free_by_count[d][count_].push_back(data_);
}

namespace pool {
void set_poison(bool on) {
  std::lock_guard<std::mutex> lock(the_pool().mutex);
  the_pool().poison = on;
}
bool poison() {
  std::lock_guard<std::mutex> lock(the_pool().mutex);
  return the_pool().poison;
}
size_t bytes_in_use(Device device) {
  std::lock_guard<std::mutex> lock(the_pool().mutex);
  return the_pool().in_use[slot(device)];
}
size_t bytes_cached(Device device) {
  std::lock_guard<std::mutex> lock(the_pool().mutex);
  return the_pool().cached[slot(device)];
}
void release_cached() {
  Pool& p = the_pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  for (Device device : {Device::cpu, Device::cuda}) {
    const int d = slot(device);
    for (auto& entry : p.free_by_count[d])
      for (float* ptr : entry.second) release(device, ptr);
    p.free_by_count[d].clear();
    p.cached[d] = 0;
  }
}
}  // namespace pool

}  // namespace gan
