#include "tensor/storage.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <new>
#include <map>
#include <vector>

namespace gan {
namespace {

constexpr size_t kAlignment = 64;

// Free buffers by capacity in bytes. A request takes the smallest free buffer that holds
// it, if that wastes at most a quarter of it: a training step frees and requests tensors
// of many sizes, and letting a freed activation serve a slightly smaller request keeps
// peak memory near the peak of live tensors (exact sizes only left 15% more idle).
constexpr size_t kMaxWasteDivisor = 4;

struct Pool {
  std::mutex mutex;
  std::multimap<size_t, float*> free_by_capacity;
  size_t in_use = 0;
  size_t cached = 0;
  size_t peak_in_use = 0;
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

}  // namespace

Storage::Storage(size_t count) : data_(nullptr), count_(count), capacity_bytes_(padded_bytes(count)) {
  Pool& p = the_pool();
  bool poison;
  {
    std::lock_guard<std::mutex> lock(p.mutex);
    poison = p.poison;
    auto it = p.free_by_capacity.lower_bound(capacity_bytes_);
    if (it != p.free_by_capacity.end() && it->first - capacity_bytes_ <= it->first / kMaxWasteDivisor) {
      capacity_bytes_ = it->first;
      data_ = it->second;
      p.free_by_capacity.erase(it);
      p.cached -= capacity_bytes_;
    }
    p.in_use += capacity_bytes_;
    p.peak_in_use = std::max(p.peak_in_use, p.in_use);
  }
  if (!data_) {
    data_ = static_cast<float*>(std::aligned_alloc(kAlignment, capacity_bytes_));
    if (!data_) throw std::bad_alloc();
  }
  if (poison)
    for (size_t i = 0; i < count; ++i) data_[i] = std::numeric_limits<float>::quiet_NaN();
}

Storage::~Storage() {
  Pool& p = the_pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  p.in_use -= capacity_bytes_;
  p.cached += capacity_bytes_;
  p.free_by_capacity.emplace(capacity_bytes_, data_);
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
size_t bytes_in_use() {
  std::lock_guard<std::mutex> lock(the_pool().mutex);
  return the_pool().in_use;
}
size_t peak_bytes_in_use() {
  std::lock_guard<std::mutex> lock(the_pool().mutex);
  return the_pool().peak_in_use;
}
void reset_peak_bytes_in_use() {
  std::lock_guard<std::mutex> lock(the_pool().mutex);
  the_pool().peak_in_use = the_pool().in_use;
}
size_t bytes_cached() {
  std::lock_guard<std::mutex> lock(the_pool().mutex);
  return the_pool().cached;
}
void release_cached() {
  Pool& p = the_pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  for (auto& entry : p.free_by_capacity) std::free(entry.second);
  p.free_by_capacity.clear();
  p.cached = 0;
}
}  // namespace pool

}  // namespace gan
