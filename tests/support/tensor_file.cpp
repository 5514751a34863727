#include "support/tensor_file.h"

#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>

#include "support/run_app.h"

namespace gan::testing {

HostTensor host_tensor(const Tensor& t) {
  HostTensor h;
  for (int d = 0; d < t.ndim(); ++d) h.dims.push_back(t.size(d));
  h.values = t.to_vector();
  return h;
}

void write_tensors(const std::string& path, const std::map<std::string, HostTensor>& tensors) {
  std::string s = "GTENSORS";
  auto put = [&](const void* p, size_t n) { s.append(static_cast<const char*>(p), n); };
  const uint32_t count = tensors.size();
  put(&count, 4);
  for (const auto& [name, t] : tensors) {
    const uint32_t len = name.size(), ndim = t.dims.size();
    put(&len, 4);
    put(name.data(), len);
    put(&ndim, 4);
    for (int64_t d : t.dims) put(&d, 8);
    put(t.values.data(), 4 * t.values.size());
  }
  FILE* f = std::fopen(path.c_str(), "wb");
  REQUIRE(f);
  REQUIRE(std::fwrite(s.data(), 1, s.size(), f) == s.size());
  REQUIRE(std::fclose(f) == 0);
}

std::map<std::string, HostTensor> read_tensors(const std::string& path) {
  const std::string s = read_file(path);
  REQUIRE(s.size() >= 12);
  REQUIRE(s.compare(0, 8, "GTENSORS") == 0);
  size_t at = 8;
  auto get = [&](void* p, size_t n) {
    REQUIRE(at + n <= s.size());
    std::memcpy(p, s.data() + at, n);
    at += n;
  };
  uint32_t count;
  get(&count, 4);
  std::map<std::string, HostTensor> out;
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t len, ndim;
    get(&len, 4);
    std::string name(len, '\0');
    get(name.data(), len);
    get(&ndim, 4);
    HostTensor t;
    t.dims.resize(ndim);
    int64_t numel = 1;
    for (auto& d : t.dims) {
      get(&d, 8);
      numel *= d;
    }
    t.values.resize(numel);
    get(t.values.data(), 4 * size_t(numel));
    out[name] = std::move(t);
  }
  CHECK(at == s.size());
  return out;
}

}  // namespace gan::testing
