#pragma once
// A versioned checkpoint container: a JSON config plus named float32 tensors, some of
// them stored at half precision when asked.
//
// File layout (format 1), all integers little-endian:
//   "GANOMALY"              8 bytes of magic
//   u32 format version      1
//   u64 file size           the whole file, in bytes (tells truncation from corruption)
//   u64 n, n bytes          the config as JSON text
//   u64 tensor count
//   per tensor: u32 name length, name bytes, u32 ndim (<= 4), ndim x i64 dims,
//               numel x f32 data
//   u32 CRC-32              (IEEE/zlib polynomial) over every byte before it
// Format 2, written only when a tensor is stored at half precision (a file of float32
// tensors alone stays format 1, which every build reads): after each tensor's dims a u32
// storage type, 0 for numel x f32 data, 1 for numel x IEEE binary16 (io/half_float.h).
// The frame (magic, version, size at the front, CRC-32 at the end) is meant to stay in
// every future format, so a reader can tell "newer format" from "corrupt".
//
// save_checkpoint writes through AtomicFile (io/atomic_file.h): readers see the old file
// or the new one, never a partial one.
// load_checkpoint reads the whole file into memory, checks the frame and checksum, and
// bounds every length by the bytes left, so a damaged file gives one clear error line
// naming the file instead of a crash or a huge allocation.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tensor/tensor.h"

namespace gan {

struct CheckpointFile {
  nlohmann::json config;
  std::vector<std::pair<std::string, Tensor>> tensors;  // names unique, order kept
  // Names of tensors stored as binary16 (rounded to nearest even; a finite value beyond
  // half's range is refused). load_checkpoint fills it; the tensors it reads are float32.
  std::set<std::string> half_precision;

  // The tensor with this name; throws naming the missing tensor.
  const Tensor& tensor(const std::string& name) const;
};

void save_checkpoint(const std::string& path, const CheckpointFile& file);
CheckpointFile load_checkpoint(const std::string& path);

// Whether `path` is a regular file (links followed) that starts with the checkpoint magic:
// a model.gnm or last.gnm, even a damaged one. The apps refuse to write their outputs
// over one, which would destroy a model or a resumable run.
bool is_checkpoint_file(const std::string& path);

namespace checkpoint_io {
constexpr uint32_t kFormatVersion = 2;  // the newest this build reads (and writes, with half_precision)

// CRC-32 (IEEE 802.3, as zlib's crc32); pass the previous value to continue a running CRC.
uint32_t crc32(const void* data, size_t n, uint32_t crc = 0);
}  // namespace checkpoint_io

}  // namespace gan
