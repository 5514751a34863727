#pragma once
#include <cstddef>
#include <memory>

#include "tensor/device.h"

namespace gan {

// A float buffer from a caching pool, on the CPU (64-byte aligned) or on a CUDA device
// (cudaMalloc): a freed buffer is kept for the next request of its device that it fits
// (see storage.cpp), so the steady-state training step allocates nothing new. data()
// points into the buffer's own device: CUDA memory is read on the host only through
// explicit copies.
class Storage {
 public:
  explicit Storage(size_t count, Device device = Device::cpu);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  float* data() { return data_; }
  const float* data() const { return data_; }
  Device device() const { return device_; }

 private:
  float* data_;
  size_t capacity_bytes_;  // of the buffer, which may be larger than the count asked for
  Device device_;
};

namespace pool {
// Tests set this to fill every new buffer with NaN, so a kernel that reads memory it
// never wrote fails loudly.
void set_poison(bool on);
bool poison();
// Bytes held by live buffers and by cached free buffers, per device.
size_t bytes_in_use(Device device = Device::cpu);
size_t bytes_cached(Device device = Device::cpu);
// The most bytes live buffers of a device have held at once since the last reset.
size_t peak_bytes_in_use(Device device = Device::cpu);
void reset_peak_bytes_in_use(Device device = Device::cpu);
// Returns cached buffers of every device to the system.
void release_cached();
}  // namespace pool

}  // namespace gan
