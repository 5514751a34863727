#pragma once
#include <cstddef>
#include <memory>

namespace gan {

// 64-byte-aligned float buffer from a caching pool: a freed buffer is kept for the next
// request it fits (see storage.cpp), so the steady-state training step allocates nothing new.
class Storage {
 public:
  explicit Storage(size_t count);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  float* data() { return data_; }
  const float* data() const { return data_; }
  size_t size() const { return count_; }

 private:
  float* data_;
  size_t count_;
  size_t capacity_bytes_;  // of the buffer, which may be larger than count_ floats
};

namespace pool {
// Tests set this to fill every new buffer with NaN, so a kernel that reads memory it
// never wrote fails loudly.
void set_poison(bool on);
bool poison();
// Bytes held by live buffers and by cached free buffers.
size_t bytes_in_use();
size_t bytes_cached();
// The most bytes live buffers have held at once since the start.
size_t peak_bytes_in_use();
void reset_peak_bytes_in_use();
// Returns cached buffers to the system.
void release_cached();
}  // namespace pool

}  // namespace gan
