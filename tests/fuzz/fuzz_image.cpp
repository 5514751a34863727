// libFuzzer target: the input bytes, written to a file, go through gan::load_image (to
// 3 and to 1 channels). Success and gan::Error are the only allowed outcomes: a crash,
// a sanitizer report or any other exception is a finding.
//
// Build and run (clang only; see GANOMALY_FUZZ in CMakeLists.txt):
//   CC=clang CXX=clang++ cmake -S . -B build-fuzz -DGANOMALY_FUZZ=ON -DGANOMALY_OPENMP=OFF \
//       -DGANOMALY_STB_FROM_SOURCE=ON -DBUILD_TESTING=OFF
//   cmake --build build-fuzz --target fuzz_image
//   build-fuzz/fuzz_image -max_total_time=120 corpus_dir seed_dir   (seeds: any PNG/BMP/JPEG)
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "ganomaly/data/image.h"
#include "tensor/check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path =
      (std::filesystem::temp_directory_path() / ("ganomaly_fuzz_image_" + std::to_string(::getpid()))).string();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  if (size) std::fwrite(data, 1, size, f);
  std::fclose(f);
  // 64K pixels (256x256) keeps each run small: a few KB of deflate can claim a megapixel.
  // The header check and every decoder path are the same at any limit.
  for (int channels : {3, 1}) {
    try {
      gan::load_image(path, channels, size_t(1) << 16);
    } catch (const gan::Error&) {
    }
  }
  return 0;
}
