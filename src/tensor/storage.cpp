#include "tensor/storage.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace gan {
namespace {

constexpr size_t kAlignment = 64;

struct Pool {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<float*>> free_by_count;
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

Storage::Storage(size_t count) : data_(nullptr), count_(count) {
  Pool& p = the_pool();
  const size_t bytes = padded_bytes(count);
  bool poison;
  {
    std::lock_guard<std::mutex> lock(p.mutex);
    poison = p.poison;
    auto it = p.free_by_count.find(count);
    if (it != p.free_by_count.end() && !it->second.empty()) {
      data_ = it->second.back();
      it->second.pop_back();
      p.cached -= bytes;
    }
    p.in_use += bytes;
    p.peak_in_use = std::max(p.peak_in_use, p.in_use);
  }
  if (!data_) {
    data_ = static_cast<float*>(std::aligned_alloc(kAlignment, bytes));
    if (!data_) throw std::bad_alloc();
  }
  if (poison)
    for (size_t i = 0; i < count; ++i) data_[i] = std::numeric_limits<float>::quiet_NaN();
}

Storage::~Storage() {
  Pool& p = the_pool();
  const size_t bytes = padded_bytes(count_);
  std::lock_guard<std::mutex> lock(p.mutex);
  p.in_use -= bytes;
  p.cached += bytes;
  p.free_by_count[count_].push_back(data_);
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
  for (auto& entry : p.free_by_count)
    for (float* ptr : entry.second) std::free(ptr);
  p.free_by_count.clear();
  p.cached = 0;
}
}  // namespace pool

}  // namespace gan
