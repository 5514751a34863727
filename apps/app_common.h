#pragma once
// What every app shares: one-line errors with a non-zero exit, and thread settings.
#include <cstdio>
#include <cxxopts.hpp>
#include <exception>
#include <string>

#include "tensor/check.h"
#ifdef GANOMALY_OPENMP
#include <omp.h>
#endif

namespace gan::app {

// Runs body(); a bad option exits 2, any other error 1, each with one line on stderr.
template <typename Body>
int run(const char* name, Body body) {
  try {
    return body();
  } catch (const cxxopts::exceptions::exception& e) {
    std::fprintf(stderr, "%s: %s (see --help)\n", name, e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", name, e.what());
    return 1;
  }
}

inline void set_threads(int threads) {
  GANOMALY_CHECK(threads >= 0 && threads <= 1024, "--threads: expected 0 (all cores) to 1024, got ", threads);
#ifdef GANOMALY_OPENMP
  if (threads > 0) omp_set_num_threads(threads);
#endif
}

}  // namespace gan::app
