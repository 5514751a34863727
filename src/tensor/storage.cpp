#include "tensor/storage.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <new>
#include <map>
#include <vector>

#include "tensor/backend.h"
#include "tensor/profile.h"

namespace gan {
namespace {

constexpr size_t kAlignment = 64;
constexpr int kDevices = 2;

// Free buffers by capacity in bytes. A request takes the smallest free buffer that holds
// it, if that wastes at most a quarter of it: a training step frees and requests tensors
// of many sizes, and letting a freed activation serve a slightly smaller request keeps
// peak memory near the peak of live tensors (exact sizes only left 7% more idle at 128 px).
constexpr size_t kMaxWasteDivisor = 4;

struct Pool {
  std::mutex mutex;
  std::multimap<size_t, float*> free_by_capacity[kDevices];
  size_t in_use[kDevices] = {};
  size_t cached[kDevices] = {};
  size_t peak_in_use[kDevices] = {};
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

Storage::Storage(size_t count, Device device)
    : data_(nullptr), capacity_bytes_(padded_bytes(count)), device_(device) {
  profile::Scope scope(profile::Op::allocation);
  Pool& p = the_pool();
  const int d = slot(device);
  bool poison;
  {
    std::lock_guard<std::mutex> lock(p.mutex);
    poison = p.poison;
    auto it = p.free_by_capacity[d].lower_bound(capacity_bytes_);
    if (it != p.free_by_capacity[d].end() && it->first - capacity_bytes_ <= it->first / kMaxWasteDivisor) {
      capacity_bytes_ = it->first;
      data_ = it->second;
      p.free_by_capacity[d].erase(it);
      p.cached[d] -= capacity_bytes_;
    }
  }
  if (!data_) data_ = allocate(device, capacity_bytes_);
  {
    std::lock_guard<std::mutex> lock(p.mutex);
    p.in_use[d] += capacity_bytes_;
    p.peak_in_use[d] = std::max(p.peak_in_use[d], p.in_use[d]);
  }
  if (!poison) return;
  if (device == Device::cpu)
    for (size_t i = 0; i < count; ++i) data_[i] = std::numeric_limits<float>::quiet_NaN();
  else
    backend::fill(device, data_, static_cast<int64_t>(count), std::numeric_limits<float>::quiet_NaN());
}

Storage::~Storage() {
  profile::Scope scope(profile::Op::allocation);
  Pool& p = the_pool();
  const int d = slot(device_);
  std::lock_guard<std::mutex> lock(p.mutex);
  p.in_use[d] -= capacity_bytes_;
  p.cached[d] += capacity_bytes_;
  p.free_by_capacity[d].emplace(capacity_bytes_, data_);
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
size_t peak_bytes_in_use(Device device) {
  std::lock_guard<std::mutex> lock(the_pool().mutex);
  return the_pool().peak_in_use[slot(device)];
}
void reset_peak_bytes_in_use(Device device) {
  std::lock_guard<std::mutex> lock(the_pool().mutex);
  the_pool().peak_in_use[slot(device)] = the_pool().in_use[slot(device)];
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
    for (auto& entry : p.free_by_capacity[d]) release(device, entry.second);
    p.free_by_capacity[d].clear();
    p.cached[d] = 0;
  }
}
}  // namespace pool

}  // namespace gan
