#include "ganomaly/io/checkpoint_io.h"

#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <set>

#include "ganomaly/io/atomic_file.h"
#include "ganomaly/io/half_float.h"
#include "tensor/check.h"
#include "ganomaly/io/json_text.h"

// Tensor data is written and read with memcpy; the format is little-endian.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "checkpoint_io assumes a little-endian host");

namespace gan {

namespace checkpoint_io {
// Slicing-by-8: eight table lookups per 8 bytes, several times faster than one per
// byte, which matters for checkpoints of hundreds of MB.
uint32_t crc32(const void* data, size_t n, uint32_t crc) {
  using Tables = std::array<std::array<uint32_t, 256>, 8>;
  static const Tables t = [] {
    Tables t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[0][i] = c;
    }
    for (int k = 1; k < 8; ++k)
      for (int i = 0; i < 256; ++i) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFF];
    return t;
  }();
  const auto* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
  for (; n >= 8; p += 8, n -= 8) {
    const uint32_t lo = crc ^ (uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24);
    const uint32_t hi = uint32_t(p[4]) | uint32_t(p[5]) << 8 | uint32_t(p[6]) << 16 | uint32_t(p[7]) << 24;
    crc = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24] ^ t[3][hi & 0xFF] ^
          t[2][(hi >> 8) & 0xFF] ^ t[1][(hi >> 16) & 0xFF] ^ t[0][hi >> 24];
  }
  for (; n > 0; ++p, --n) crc = t[0][(crc ^ *p) & 0xFF] ^ (crc >> 8);
  return ~crc;
}
}  // namespace checkpoint_io

namespace {

constexpr char kMagic[8] = {'G', 'A', 'N', 'O', 'M', 'A', 'L', 'Y'};
constexpr size_t kHeaderBytes = 8 + 4 + 8;  // magic, version, file size
constexpr size_t kMinFileBytes = kHeaderBytes + 8 + 8 + 4;  // + config length, count, CRC

// ---- writing ----

// Counts the CRC of what it writes.
class Writer {
 public:
  explicit Writer(AtomicFile& file) : file_(file) {}

  void bytes(const void* p, size_t n) {
    file_.write(p, n);
    crc_ = checkpoint_io::crc32(p, n, crc_);
  }
  void u32(uint32_t v) {
    uint8_t b[4];
    for (int i = 0; i < 4; ++i) b[i] = uint8_t(v >> (8 * i));
    bytes(b, 4);
  }
  void u64(uint64_t v) {
    uint8_t b[8];
    for (int i = 0; i < 8; ++i) b[i] = uint8_t(v >> (8 * i));
    bytes(b, 8);
  }
  uint32_t crc() const { return crc_; }

 private:
  AtomicFile& file_;
  uint32_t crc_ = 0;
};

// Format 2's storage types.
constexpr uint32_t kStoredF32 = 0, kStoredF16 = 1;

// The format a file takes: 1 unless a tensor is stored at half precision.
uint32_t format_of(const CheckpointFile& checkpoint) { return checkpoint.half_precision.empty() ? 1 : 2; }

void write_all(AtomicFile& file, const std::string& config, const CheckpointFile& checkpoint,
               const std::vector<std::vector<uint16_t>>& halves, uint64_t file_size) {
  const uint32_t format = format_of(checkpoint);
  Writer w(file);
  w.bytes(kMagic, sizeof kMagic);
  w.u32(format);
  w.u64(file_size);
  w.u64(config.size());
  w.bytes(config.data(), config.size());
  w.u64(checkpoint.tensors.size());
  for (size_t i = 0; i < checkpoint.tensors.size(); ++i) {
    const auto& [name, t] = checkpoint.tensors[i];
    w.u32(uint32_t(name.size()));
    w.bytes(name.data(), name.size());
    w.u32(uint32_t(t.ndim()));
    for (int d = 0; d < t.ndim(); ++d) w.u64(uint64_t(t.size(d)));
    const bool half = checkpoint.half_precision.count(name) > 0;  // an empty tensor too, so the type reads back
    if (format >= 2) w.u32(half ? kStoredF16 : kStoredF32);
    if (t.numel() == 0) continue;
    if (half)
      w.bytes(halves[i].data(), halves[i].size() * sizeof(uint16_t));
    else
      w.bytes(t.to(Device::cpu).data(), size_t(t.numel()) * sizeof(float));  // from any device
  }
  w.u32(w.crc());
}

// save_checkpoint's wording of a failed write, as docs/ERRORS.md lists it.
std::string save_error(const FileWriteError& e) {
  using Step = FileWriteError::Step;
  const std::string why = e.reason.empty() ? std::strerror(e.err) : e.reason;
  if (e.temp_path.empty()) return str("save_checkpoint: cannot write ", e.path, ": ", why);  // a device or FIFO
  if (e.step == Step::create) return str("save_checkpoint: cannot create ", e.temp_path, " (for ", e.path, "): ", why);
  if (e.step == Step::rename) return str("save_checkpoint: cannot rename ", e.temp_path, " to ", e.path, ": ", why);
  return str("save_checkpoint: cannot write ", e.path, ": ", e.step_name(), " failed: ", why, " (", e.path,
             " left as it was)");
}

// ---- reading ----

// Bounds-checked cursor over the verified file contents.
class Reader {
 public:
  Reader(const uint8_t* p, size_t n, const std::string& path) : p_(p), left_(n), path_(path) {}

  const uint8_t* take(size_t n, const char* what) {
    if (n > left_) fail("corrupt: ", what, " needs ", n, " bytes but only ", left_, " remain");
    const uint8_t* at = p_;
    p_ += n;
    left_ -= n;
    return at;
  }
  uint32_t u32(const char* what) {
    const uint8_t* b = take(4, what);
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= uint32_t(b[i]) << (8 * i);
    return v;
  }
  uint64_t u64(const char* what) {
    const uint8_t* b = take(8, what);
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= uint64_t(b[i]) << (8 * i);
    return v;
  }
  size_t left() const { return left_; }

  template <typename... Parts>
  [[noreturn]] void fail(const Parts&... parts) const {
    throw Error(str("load_checkpoint: ", path_, ": ", parts...));
  }

 private:
  const uint8_t* p_;
  size_t left_;
  const std::string& path_;
};

uint32_t get_u32(const uint8_t* b) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t(b[i]) << (8 * i);
  return v;
}
uint64_t get_u64(const uint8_t* b) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t(b[i]) << (8 * i);
  return v;
}

std::vector<uint8_t> read_whole_file(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  GANOMALY_CHECK(f, "load_checkpoint: cannot open ", path, ": ", std::strerror(errno));
  struct stat st {};
  if (::fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    int err = S_ISDIR(st.st_mode) ? EISDIR : errno;
    std::fclose(f);
    throw Error(str("load_checkpoint: cannot read ", path, ": ", err ? std::strerror(err) : "not a regular file"));
  }
  std::vector<uint8_t> buf(size_t(st.st_size));
  size_t got = buf.empty() ? 0 : std::fread(buf.data(), 1, buf.size(), f);
  int err = errno;
  bool failed = std::ferror(f);
  std::fclose(f);
  GANOMALY_CHECK(!failed, "load_checkpoint: cannot read ", path, ": ", std::strerror(err));
  buf.resize(got);  // the file may have shrunk since fstat; the checks below catch that
  return buf;
}

Shape make_shape(const std::vector<int64_t>& d) {
  switch (d.size()) {
    case 0: return Shape{};
    case 1: return Shape{d[0]};
    case 2: return Shape{d[0], d[1]};
    case 3: return Shape{d[0], d[1], d[2]};
    default: return Shape{d[0], d[1], d[2], d[3]};
  }
}

}  // namespace

const Tensor& CheckpointFile::tensor(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return t;
  throw Error(str("checkpoint: no tensor named '", name, "'"));
}

void save_checkpoint(const std::string& path, const CheckpointFile& file) {
  // Validate and size everything before touching the disk.
  std::string config;
  try {
    config = dump_json(file.config);
  } catch (const nlohmann::json::exception& e) {
    throw Error(str("save_checkpoint: ", path, ": config cannot be written as JSON: ", e.what()));
  }
  uint64_t size = kMinFileBytes + config.size();
  std::set<std::string> names;
  // The half-precision tensors, converted first: a value beyond half's range fails here.
  std::vector<std::vector<uint16_t>> halves(file.tensors.size());
  const bool format2 = format_of(file) >= 2;
  for (size_t i = 0; i < file.tensors.size(); ++i) {
    const auto& [name, t] = file.tensors[i];
    GANOMALY_CHECK(!name.empty(), "save_checkpoint: ", path, ": a tensor has an empty name");
    GANOMALY_CHECK(names.insert(name).second, "save_checkpoint: ", path, ": duplicate tensor name '", name, "'");
    GANOMALY_CHECK(t.defined(), "save_checkpoint: ", path, ": tensor '", name, "' is undefined");
    const bool half = file.half_precision.count(name) > 0;
    size += 4 + name.size() + 4 + 8 * uint64_t(t.ndim()) + (format2 ? 4 : 0) + (half ? 2 : 4) * uint64_t(t.numel());
    if (!half || t.numel() == 0) continue;
    const Tensor host = t.to(Device::cpu);
    halves[i].resize(size_t(t.numel()));
    for (int64_t k = 0; k < t.numel(); ++k) {
      const float v = host.data()[k];
      GANOMALY_CHECK(!(std::fabs(v) > kHalfMax) || std::isinf(v), "save_checkpoint: ", path, ": tensor '", name,
                     "' holds ", v, ", beyond half precision's largest value ", kHalfMax);
      halves[i][size_t(k)] = float_to_half(v);
    }
  }
  for (const std::string& name : file.half_precision)
    GANOMALY_CHECK(names.count(name), "save_checkpoint: ", path, ": no tensor named '", name,
                   "' to store at half precision");

  try {
    AtomicFile out(path);
    write_all(out, config, file, halves, size);
    out.commit();
  } catch (const FileWriteError& e) {
    throw Error(save_error(e));
  }
}

bool is_checkpoint_file(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;  // never open a FIFO to look
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  char head[sizeof kMagic];
  const bool magic = std::fread(head, 1, sizeof head, f) == sizeof head && std::memcmp(head, kMagic, sizeof head) == 0;
  std::fclose(f);
  return magic;
}

CheckpointFile load_checkpoint(const std::string& path) {
  const std::vector<uint8_t> buf = read_whole_file(path);
  Reader frame(buf.data(), buf.size(), path);
  const size_t n = buf.size();

  // Frame checks, in an order that names the likeliest cause.
  if (n == 0) frame.fail("truncated: empty file");
  if (std::memcmp(buf.data(), kMagic, std::min(n, sizeof kMagic)) != 0)
    frame.fail("not a ganomaly.cpp checkpoint (wrong magic bytes)");
  if (n < kHeaderBytes) frame.fail("truncated: only ", n, " bytes");
  const uint32_t version = get_u32(buf.data() + 8);
  const uint64_t declared = get_u64(buf.data() + 12);
  const bool crc_ok =
      n >= kMinFileBytes && checkpoint_io::crc32(buf.data(), n - 4) == get_u32(buf.data() + n - 4);
  if (version > checkpoint_io::kFormatVersion) {
    if (crc_ok)
      frame.fail("written by a newer ganomaly.cpp: format ", version, ", this build reads up to ",
                 checkpoint_io::kFormatVersion);
    frame.fail("corrupt: checksum mismatch (or a damaged file from a newer ganomaly.cpp: header says format ",
               version, ", this build reads up to ", checkpoint_io::kFormatVersion, ")");
  }
  if (version == 0) frame.fail("corrupt: format version 0");
  if (n < declared) frame.fail("truncated: ", n, " of ", declared, " bytes");
  if (n > declared) frame.fail("corrupt: ", n, " bytes but the header says ", declared);
  if (n < kMinFileBytes) frame.fail("corrupt: ", n, " bytes is too short to be a checkpoint");
  if (!crc_ok) frame.fail("corrupt: checksum mismatch");

  // The body; the checksum passed, so failures here mean a malformed writer, but every
  // length is still bounded by the bytes that remain.
  Reader r(buf.data() + kHeaderBytes, n - kHeaderBytes - 4, path);
  CheckpointFile out;
  const uint64_t config_len = r.u64("config length");
  if (config_len > r.left()) r.fail("corrupt: config length ", config_len, " exceeds the file");
  const uint8_t* config = r.take(size_t(config_len), "config");
  try {
    out.config = nlohmann::json::parse(config, config + config_len);
  } catch (const nlohmann::json::exception& e) {
    r.fail("corrupt: config is not valid JSON (", e.what(), ")");
  }
  const uint64_t count = r.u64("tensor count");
  if (count > r.left() / 8) r.fail("corrupt: ", count, " tensors cannot fit in ", r.left(), " bytes");
  std::set<std::string> names;
  for (uint64_t i = 0; i < count; ++i) {
    const uint32_t name_len = r.u32("tensor name length");
    const uint8_t* name_bytes = r.take(name_len, "tensor name");
    std::string name(reinterpret_cast<const char*>(name_bytes), name_len);
    if (!names.insert(name).second) r.fail("corrupt: duplicate tensor name '", name, "'");
    const uint32_t ndim = r.u32("tensor rank");
    if (ndim > uint32_t(Shape::kMaxDims)) r.fail("corrupt: tensor '", name, "' has ", ndim, " dimensions");
    std::vector<int64_t> dims(ndim);
    // numel of the non-zero dims, kept <= INT64_MAX so Shape::numel cannot overflow.
    int64_t nonzero = 1;
    bool any_zero = false;
    for (auto& d : dims) {
      const uint64_t v = r.u64("tensor dimension");
      if (v > uint64_t(std::numeric_limits<int64_t>::max()))
        r.fail("corrupt: tensor '", name, "' has dimension ", v);
      d = int64_t(v);
      any_zero |= d == 0;
      if (d > 0 && nonzero > std::numeric_limits<int64_t>::max() / d)
        r.fail("corrupt: tensor '", name, "' is implausibly large");
      if (d > 0) nonzero *= d;
    }
    const uint64_t numel = any_zero ? 0 : uint64_t(nonzero);
    const uint32_t stored = version >= 2 ? r.u32("tensor storage type") : kStoredF32;
    if (stored != kStoredF32 && stored != kStoredF16)
      r.fail("corrupt: tensor '", name, "' has storage type ", stored, " (0: float32, 1: half)");
    const size_t value_bytes = stored == kStoredF16 ? 2 : 4;
    if (numel > r.left() / value_bytes)
      r.fail("corrupt: tensor '", name, "' needs ", numel, stored == kStoredF16 ? " halves" : " floats", " but only ",
             r.left(), " bytes remain");
    const uint8_t* data = r.take(size_t(numel) * value_bytes, "tensor data");
    Tensor t = Tensor::empty(make_shape(dims));
    if (stored == kStoredF16) {
      out.half_precision.insert(name);
      for (uint64_t k = 0; k < numel; ++k) t.data()[k] = half_to_float(uint16_t(data[2 * k] | data[2 * k + 1] << 8));
    } else if (numel > 0) {
      std::memcpy(t.data(), data, size_t(numel) * sizeof(float));
    }
    out.tensors.emplace_back(std::move(name), std::move(t));
  }
  if (r.left() != 0) r.fail("corrupt: ", r.left(), " unexpected bytes after the last tensor");
  return out;
}

}  // namespace gan
