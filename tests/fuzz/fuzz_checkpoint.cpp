// libFuzzer target for checkpoints: the input bytes, written to a file, go through
// gan::load_checkpoint and, when that succeeds, gan::load_model. Success and gan::Error
// are the only allowed outcomes.
//
// The first input byte picks the mode: odd = rewrite the frame (the declared file size
// and the CRC-32) to match the rest, so that mutations reach the body parser and the
// model's config and tensors instead of stopping at "checksum mismatch"; even = the
// bytes as they are. Seeds: a byte 0 or 1 followed by a real model.gnm or last.gnm.
// Build as fuzz_image.cpp says.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "ganomaly/io/checkpoint_io.h"
#include "ganomaly/io/model_file.h"
#include "tensor/check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::vector<uint8_t> bytes(data + 1, data + size);
  if ((data[0] & 1) && bytes.size() >= 24) {
    const uint64_t n = bytes.size();
    for (int i = 0; i < 8; ++i) bytes[12 + i] = uint8_t(n >> (8 * i));
    const uint32_t crc = gan::checkpoint_io::crc32(bytes.data(), bytes.size() - 4);
    for (int i = 0; i < 4; ++i) bytes[bytes.size() - 4 + i] = uint8_t(crc >> (8 * i));
  }
  static const std::string path =
      (std::filesystem::temp_directory_path() / ("ganomaly_fuzz_checkpoint_" + std::to_string(::getpid()))).string();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  if (!bytes.empty()) std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
  try {
    gan::load_checkpoint(path);
    gan::load_model(path);
  } catch (const gan::Error&) {
  }
  return 0;
}
