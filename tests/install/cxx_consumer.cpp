// The installed C++ headers (ganomaly::cxx) compile and link outside the source tree.
#include <cstdio>

#include "ganomaly/io/model_file.h"

int main() {
  gan::ModelConfig config;
  config.validate();
  std::printf("C++ API: default image size %d\n", config.image_size);
  return 0;
}
