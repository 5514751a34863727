#pragma once
// Reader (and writer) for the golden-file container written by tools/make_golden.py.
//
// Format, all little-endian:
//   char[8] "GNGOLDEN", u32 version (1), u32 count,
//   count x { u32 name length, name bytes, u32 ndim, ndim x i64 dims, prod(dims) x f32 }
// A 0-dim entry holds one value (hyper-parameters are stored that way).
//
// Header-only so any test (op goldens, whole-network goldens) can include it. Every
// failure throws gan::Error naming the file and what was wrong with it.
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "tensor/check.h"
#include "tensor/tensor.h"

namespace gan::golden {

inline constexpr char kMagic[8] = {'G', 'N', 'G', 'O', 'L', 'D', 'E', 'N'};
inline constexpr uint32_t kVersion = 1;

struct GoldenTensor {
  std::string name;
  std::vector<int64_t> dims;
  std::vector<float> data;

  int64_t numel() const { return static_cast<int64_t>(data.size()); }
  std::string shape_str() const {
    std::string s = "[";
    for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
    return s + "]";
  }
};

// Our Shape holds up to Shape::kMaxDims dimensions; a golden entry with more cannot be
// turned into a Tensor (it can still be read as raw data).
inline Shape to_shape(const std::vector<int64_t>& d, const std::string& what) {
  switch (d.size()) {
    case 0: return Shape{};
    case 1: return Shape{d[0]};
    case 2: return Shape{d[0], d[1]};
    case 3: return Shape{d[0], d[1], d[2]};
    case 4: return Shape{d[0], d[1], d[2], d[3]};
    default: throw Error(str(what, ": ", d.size(), " dimensions, more than a Shape holds"));
  }
}

class GoldenFile {
 public:
  GoldenFile() = default;
  explicit GoldenFile(std::string path) : path_(std::move(path)) { load(); }

  const std::string& path() const { return path_; }
  const std::vector<GoldenTensor>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }

  bool has(const std::string& name) const { return find(name) != nullptr; }

  const GoldenTensor& get(const std::string& name) const {
    const GoldenTensor* t = find(name);
    if (!t) throw Error(str(path_, ": no tensor named '", name, "'"));
    return *t;
  }

  // A fresh leaf tensor holding the entry's values (no gradient requested).
  Tensor tensor(const std::string& name) const {
    const GoldenTensor& g = get(name);
    return Tensor::from_vector(to_shape(g.dims, path_ + ": '" + name + "'"), g.data);
  }

  // A 0-dim (or one-element) entry as a number, for hyper-parameters.
  float scalar(const std::string& name) const {
    const GoldenTensor& g = get(name);
    if (g.data.size() != 1)
      throw Error(str(path_, ": '", name, "' has shape ", g.shape_str(), ", expected one value"));
    return g.data[0];
  }
  int64_t integer(const std::string& name) const {
    const float v = scalar(name);
    const auto i = static_cast<int64_t>(v);
    if (static_cast<float>(i) != v) throw Error(str(path_, ": '", name, "' = ", v, " is not an integer"));
    return i;
  }

 private:
  const GoldenTensor* find(const std::string& name) const {
    for (const auto& t : entries_)
      if (t.name == name) return &t;
    return nullptr;
  }

  void load() {
    std::ifstream in(path_, std::ios::binary);
    if (!in) throw Error(str(path_, ": cannot open golden file (regenerate with /usr/bin/python3 tools/make_golden.py)"));
    const std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t pos = 0;
    auto corrupt = [&](const std::string& why) {
      return Error(str(path_, ": corrupt golden file at byte ", pos, ": ", why));
    };
    auto need = [&](size_t n, const char* what) {
      if (n > bytes.size() - pos) throw corrupt(str("truncated while reading ", what));
    };
    auto u32 = [&](const char* what) {
      need(4, what);
      uint32_t v = 0;
      for (int i = 3; i >= 0; --i) v = (v << 8) | bytes[pos + i];
      pos += 4;
      return v;
    };
    auto i64 = [&](const char* what) {
      need(8, what);
      uint64_t v = 0;
      for (int i = 7; i >= 0; --i) v = (v << 8) | bytes[pos + i];
      pos += 8;
      return static_cast<int64_t>(v);
    };

    need(sizeof(kMagic), "magic");
    if (std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) throw corrupt("bad magic (not a GNGOLDEN file)");
    pos += sizeof(kMagic);
    const uint32_t version = u32("version");
    if (version != kVersion) throw corrupt(str("version ", version, ", this reader knows ", kVersion));
    const uint32_t count = u32("tensor count");
    entries_.clear();
    for (uint32_t k = 0; k < count; ++k) {
      GoldenTensor t;
      const uint32_t name_len = u32("name length");
      if (name_len == 0 || name_len > 4096) throw corrupt(str("name length ", name_len));
      need(name_len, "name");
      t.name.assign(reinterpret_cast<const char*>(bytes.data() + pos), name_len);
      pos += name_len;
      if (find(t.name)) throw corrupt(str("duplicate tensor '", t.name, "'"));
      const uint32_t ndim = u32("ndim");
      if (ndim > 8) throw corrupt(str("'", t.name, "' has ndim ", ndim));
      uint64_t numel = 1;
      for (uint32_t d = 0; d < ndim; ++d) {
        const int64_t n = i64("dims");
        if (n < 0 || n > (int64_t{1} << 31)) throw corrupt(str("'", t.name, "' has dimension ", n));
        t.dims.push_back(n);
        numel *= static_cast<uint64_t>(n);
        if (numel > (uint64_t{1} << 31)) throw corrupt(str("'", t.name, "' is too large"));
      }
      need(numel * 4, "tensor data");
      t.data.resize(numel);
      for (uint64_t i = 0; i < numel; ++i) {
        uint32_t bits = 0;
        for (int b = 3; b >= 0; --b) bits = (bits << 8) | bytes[pos + 4 * i + b];
        std::memcpy(&t.data[i], &bits, 4);
      }
      pos += numel * 4;
      entries_.push_back(std::move(t));
    }
    if (pos != bytes.size()) throw corrupt(str(bytes.size() - pos, " trailing bytes after ", count, " tensors"));
  }

  std::string path_;
  std::vector<GoldenTensor> entries_;
};

// Writes tensors in the same format, e.g. to dump our outputs next to a golden file and
// diff them in Python when a comparison fails.
inline void save(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors) {
  std::vector<unsigned char> out(kMagic, kMagic + sizeof(kMagic));
  auto put = [&](uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out.push_back(static_cast<unsigned char>(v >> (8 * i)));
  };
  put(kVersion, 4);
  put(tensors.size(), 4);
  for (const auto& [name, t] : tensors) {
    put(name.size(), 4);
    out.insert(out.end(), name.begin(), name.end());
    put(static_cast<uint64_t>(t.ndim()), 4);
    for (int d = 0; d < t.ndim(); ++d) put(static_cast<uint64_t>(t.size(d)), 8);
    const float* p = t.data();
    for (int64_t i = 0; i < t.numel(); ++i) {
      uint32_t bits;
      std::memcpy(&bits, p + i, 4);
      put(bits, 4);
    }
  }
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size()));
  if (!f) throw Error(str(path, ": cannot write golden file"));
}

// The path of a golden file by case name: <source dir>/tests/golden/<name>.bin.
inline std::string path_of(const std::string& name) {
#ifdef GANOMALY_SOURCE_DIR
  return std::string(GANOMALY_SOURCE_DIR) + "/tests/golden/" + name + ".bin";
#else
  return "tests/golden/" + name + ".bin";
#endif
}

}  // namespace gan::golden
