// libFuzzer target for VisA's split file: the input bytes become split_csv/1cls.csv of a
// small VisA tree (two normal images, one anomaly with its mask) and go through
// gan::discover_dataset. Success and gan::Error are the only allowed outcomes.
// Build as fuzz_image.cpp says.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "ganomaly/data/dataset.h"
#include "tensor/check.h"

namespace {
namespace fs = std::filesystem;

// The tree is made once per process; only the CSV changes between inputs.
const fs::path& visa_root() {
  static const fs::path root = [] {
    const fs::path r = fs::temp_directory_path() / ("ganomaly_fuzz_visa_" + std::to_string(::getpid()));
    for (const char* file : {"cat/Data/Images/Normal/000.png", "cat/Data/Images/Normal/001 with space.png",
                             "cat/Data/Images/Anomaly/000.png", "cat/Data/Masks/Anomaly/000.png"}) {
      fs::create_directories((r / file).parent_path());
      std::FILE* f = std::fopen((r / file).c_str(), "wb");
      if (f) std::fclose(f);  // discovery only lists files; it decodes nothing
    }
    fs::create_directories(r / "split_csv");
    return r;
  }();
  return root;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fs::path& root = visa_root();
  std::FILE* f = std::fopen((root / "split_csv/1cls.csv").c_str(), "wb");
  if (!f) return 0;
  if (size) std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    gan::discover_dataset((root / "cat").string(), "visa");
  } catch (const gan::Error&) {
  }
  return 0;
}
