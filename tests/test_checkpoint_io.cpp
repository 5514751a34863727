// Checkpoint container: round trips, damaged files, and crash-safe writing.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ganomaly/io/atomic_file.h"
#include "ganomaly/io/checkpoint_io.h"
#include "ganomaly/io/half_float.h"
#include "support/run_app.h"

using namespace gan;
using gan::testing::has_temp_files;
namespace fs = std::filesystem;

namespace {

// A fresh directory under /tmp, removed when the test ends.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "ganomaly_ckpt_XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

void put_u32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = uint8_t(v >> (8 * i));
}

CheckpointFile sample() {
  CheckpointFile f;
  f.config = {{"model", "ganomaly"}, {"image_size", 32}, {"normalizer", {{"min", 0.5}, {"max", 2.25}}}};
  std::vector<float> w(2 * 3 * 3 * 3);
  for (size_t i = 0; i < w.size(); ++i) w[i] = std::sin(float(i)) * 1e-3f;
  f.tensors.emplace_back("encoder.conv0.weight", Tensor::from_vector(Shape{2, 3, 3, 3}, w));
  f.tensors.emplace_back("encoder.bn0.bias", Tensor::from_vector(Shape{2}, {-0.0f, 1e-40f}));  // -0, denormal
  f.tensors.emplace_back("step", Tensor::scalar(7.0f));
  f.tensors.emplace_back("empty", Tensor::empty(Shape{0, 5}));
  Tensor odd = Tensor::empty(Shape{3});
  uint32_t nan_bits = 0x7fc01234u;  // a NaN with a payload must survive bit for bit
  std::memcpy(odd.data(), &nan_bits, 4);
  odd.data()[1] = INFINITY;
  odd.data()[2] = -3.5f;
  f.tensors.emplace_back("odd", odd);
  return f;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() &&
         (a.numel() == 0 || std::memcmp(a.data(), b.data(), size_t(a.numel()) * sizeof(float)) == 0);
}

std::string load_error(const std::string& path) {
  try {
    load_checkpoint(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("checkpoint round trip is bitwise") {
  TempDir dir;
  const std::string path = dir.file("model.ckpt");
  CheckpointFile in = sample();
  save_checkpoint(path, in);
  CheckpointFile out = load_checkpoint(path);
  CHECK(out.config == in.config);
  REQUIRE(out.tensors.size() == in.tensors.size());
  for (size_t i = 0; i < in.tensors.size(); ++i) {
    CAPTURE(in.tensors[i].first);
    CHECK(out.tensors[i].first == in.tensors[i].first);
    CHECK(same_bits(out.tensors[i].second, in.tensors[i].second));
  }
  CHECK(out.tensor("step").item() == 7.0f);
  CHECK_THROWS_WITH_AS(out.tensor("nope"), doctest::Contains("no tensor named 'nope'"), Error);
  // Saving the loaded file again gives the same bytes.
  save_checkpoint(dir.file("again.ckpt"), out);
  CHECK(read_bytes(path) == read_bytes(dir.file("again.ckpt")));
  CHECK_FALSE(has_temp_files(dir.path));
}

TEST_CASE("an empty checkpoint round trips") {
  TempDir dir;
  save_checkpoint(dir.file("e.ckpt"), CheckpointFile{});
  CheckpointFile out = load_checkpoint(dir.file("e.ckpt"));
  CHECK(out.config.is_null());
  CHECK(out.tensors.empty());
}

TEST_CASE("save rejects bad tensor lists before writing anything") {
  TempDir dir;
  CheckpointFile f;
  f.tensors.emplace_back("a", Tensor::scalar(1));
  f.tensors.emplace_back("a", Tensor::scalar(2));
  CHECK_THROWS_WITH_AS(save_checkpoint(dir.file("d.ckpt"), f), doctest::Contains("duplicate tensor name 'a'"),
                       Error);
  f.tensors = {{"", Tensor::scalar(1)}};
  CHECK_THROWS_WITH_AS(save_checkpoint(dir.file("d.ckpt"), f), doctest::Contains("empty name"), Error);
  f.tensors = {{"u", Tensor()}};
  CHECK_THROWS_WITH_AS(save_checkpoint(dir.file("d.ckpt"), f), doctest::Contains("'u' is undefined"), Error);
  CHECK(fs::is_empty(dir.path));
}

TEST_CASE("a truncated checkpoint is reported as truncated at every length") {
  TempDir dir;
  const std::string good = dir.file("good.ckpt"), cut = dir.file("cut.ckpt");
  CheckpointFile f = sample();
  SUBCASE("format 1") {}
  SUBCASE("format 2") { f.half_precision = {"encoder.conv0.weight", "step"}; }
  save_checkpoint(good, f);
  const std::vector<uint8_t> bytes = read_bytes(good);
  for (size_t len = 0; len < bytes.size(); ++len) {
    CAPTURE(len);
    write_bytes(cut, std::vector<uint8_t>(bytes.begin(), bytes.begin() + long(len)));
    const std::string err = load_error(cut);
    CHECK(err.find(cut) != std::string::npos);
    const bool says_truncated = err.find("truncated") != std::string::npos;
    CHECK(says_truncated);
  }
}

TEST_CASE("missing file, wrong magic, newer version and trailing bytes are named") {
  TempDir dir;
  const std::string path = dir.file("x.ckpt");
  CHECK_THROWS_WITH_AS(load_checkpoint(path), doctest::Contains(("cannot open " + path + ": No such file").c_str()), Error);
  CHECK_THROWS_WITH_AS(load_checkpoint(dir.path.string()), doctest::Contains("Is a directory"), Error);

  write_bytes(path, {'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  CHECK_THROWS_WITH_AS(load_checkpoint(path), doctest::Contains((path + ": not a ganomaly.cpp checkpoint").c_str()), Error);
  write_bytes(path, {'{'});
  CHECK_THROWS_WITH_AS(load_checkpoint(path), doctest::Contains("not a ganomaly.cpp checkpoint"), Error);

  // A well-formed file from a newer format: version 3 with a valid checksum.
  save_checkpoint(path, sample());
  std::vector<uint8_t> bytes = read_bytes(path);
  put_u32(bytes, 8, 3);
  put_u32(bytes, bytes.size() - 4, checkpoint_io::crc32(bytes.data(), bytes.size() - 4));
  write_bytes(path, bytes);
  CHECK_THROWS_WITH_AS(load_checkpoint(path),
                       doctest::Contains((path + ": written by a newer ganomaly.cpp: format 3, this build reads up to 2").c_str()),
                       Error);

  save_checkpoint(path, sample());
  bytes = read_bytes(path);
  bytes.push_back(0);
  write_bytes(path, bytes);
  CHECK_THROWS_WITH_AS(load_checkpoint(path), doctest::Contains("corrupt"), Error);
}

TEST_CASE("every single flipped byte is detected") {
  TempDir dir;
  const std::string good = dir.file("good.ckpt"), bad = dir.file("bad.ckpt");
  CheckpointFile small;
  small.config = {{"k", 1}};
  small.tensors.emplace_back("w", Tensor::from_vector(Shape{2, 2}, {1, 2, 3, 4}));
  SUBCASE("format 1") {}
  SUBCASE("format 2") {
    small.tensors.emplace_back("h", Tensor::from_vector(Shape{3}, {0.5f, -2, 1e-3f}));
    small.half_precision = {"h"};
  }
  save_checkpoint(good, small);
  const std::vector<uint8_t> bytes = read_bytes(good);
  int checksum_reports = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (uint8_t mask : {uint8_t(0x01), uint8_t(0x80), uint8_t(0xFF)}) {
      CAPTURE(i);
      CAPTURE(int(mask));
      std::vector<uint8_t> damaged = bytes;
      damaged[i] ^= mask;
      write_bytes(bad, damaged);
      const std::string err = load_error(bad);
      CHECK(err.find(bad) != std::string::npos);
      checksum_reports += err.find("checksum mismatch") != std::string::npos;
    }
  }
  CHECK(checksum_reports > 0);
  CHECK(checkpoint_io::crc32("123456789", 9) == 0xCBF43926u);  // the standard check value
}

TEST_CASE("a failed write leaves the old checkpoint intact and no temp file") {
  TempDir dir;
  const std::string path = dir.file("model.ckpt");
  CheckpointFile old_file;
  old_file.config = {{"version", "old"}};
  save_checkpoint(path, old_file);
  const std::vector<uint8_t> old_bytes = read_bytes(path);

  CheckpointFile next = sample();
  for (int64_t limit : {0, 1, 7, 8, 20, 60, 200, 400}) {
    CAPTURE(limit);
    std::string err;
    try {
      InjectedDiskFull disk_full(limit);
      save_checkpoint(path, next);
    } catch (const Error& e) {
      err = e.what();
    }
    CHECK(err.find(path) != std::string::npos);
    CHECK(err.find("No space left on device") != std::string::npos);
    CHECK(read_bytes(path) == old_bytes);
    CHECK_FALSE(has_temp_files(dir.path));
  }
  // With the fault gone the same save succeeds and replaces the file.
  save_checkpoint(path, next);
  CHECK(load_checkpoint(path).config == next.config);
}

TEST_CASE("an unwritable destination gives an error naming the path") {
  TempDir dir;
  const std::string missing_dir = dir.file("no/such/dir/model.ckpt");
  CHECK_THROWS_WITH_AS(save_checkpoint(missing_dir, sample()), doctest::Contains(missing_dir.c_str()), Error);
  CHECK_THROWS_WITH_AS(save_checkpoint(missing_dir, sample()), doctest::Contains("No such file or directory"),
                       Error);
  // A plain file where a folder should be fails the same way, even for root.
  write_bytes(dir.file("plain"), {1});
  const std::string under_file = dir.file("plain/model.ckpt");
  CHECK_THROWS_WITH_AS(save_checkpoint(under_file, sample()), doctest::Contains("Not a directory"), Error);
  // Permission bits do not stop root, so check them only as an ordinary user.
  if (::geteuid() != 0) {
    fs::create_directory(dir.path / "ro");
    fs::permissions(dir.path / "ro", fs::perms::owner_read | fs::perms::owner_exec);
    const std::string ro = dir.file("ro/model.ckpt");
    CHECK_THROWS_WITH_AS(save_checkpoint(ro, sample()), doctest::Contains("Permission denied"), Error);
    fs::permissions(dir.path / "ro", fs::perms::owner_all);
  }
}

// ---- half precision (format 2) ----

namespace {
uint16_t bits_of(float v) { return float_to_half(v); }
}  // namespace

TEST_CASE("binary16: every half round trips through float; rounding is to nearest even") {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = half_to_float(uint16_t(h));
    const bool nan = ((h >> 10) & 0x1F) == 0x1F && (h & 0x3FF) != 0;
    CHECK(std::isnan(f) == nan);
    if (!nan && float_to_half(f) != h) FAIL_CHECK("half ", h, " -> ", f, " -> ", float_to_half(f));
  }
  CHECK(bits_of(1.0f) == 0x3C00);
  CHECK(bits_of(-0.0f) == 0x8000);
  CHECK(bits_of(kHalfMax) == 0x7BFF);
  CHECK(bits_of(65519.99f) == 0x7BFF);            // below the halfway point to 65536
  CHECK(bits_of(65520.0f) == 0x7C00);             // halfway: to even, which is infinity
  CHECK(bits_of(-INFINITY) == 0xFC00);
  CHECK(bits_of(1.0f + 0x1p-11f) == 0x3C00);      // a tie: down to the even 1.0
  CHECK(bits_of(1.0f + 3 * 0x1p-11f) == 0x3C02);  // a tie: up to the even 1 + 2^-9
  CHECK(bits_of(0x1p-14f) == 0x0400);             // the smallest normal
  CHECK(bits_of(0x1p-14f - 0x1p-25f) == 0x0400);  // a tie below it: up to the even normal
  CHECK(bits_of(0x1p-24f) == 0x0001);             // the smallest subnormal
  CHECK(bits_of(0x1p-25f) == 0x0000);             // half of it: a tie, to the even zero
  CHECK(bits_of(0x1.8p-25f) == 0x0001);
  CHECK(bits_of(3 * 0x1p-25f) == 0x0002);         // 1.5 subnormal steps: a tie, up to the even 2
  CHECK(std::isnan(half_to_float(float_to_half(std::nanf("")))));
  uint32_t signalling_bits = 0x7F800001u;  // a NaN whose payload sits below half's mantissa: still a NaN
  float signalling;
  std::memcpy(&signalling, &signalling_bits, 4);
  CHECK(std::isnan(half_to_float(float_to_half(signalling))));
#ifdef __FLT16_MAX__
  // Against the compiler's own conversion, where it has one, on a million bit patterns.
  uint32_t x = 12345;
  int differ = 0;
  for (int i = 0; i < 1000000; ++i) {
    x = x * 1664525u + 1013904223u;
    float f;
    std::memcpy(&f, &x, 4);
    if (std::isnan(f)) continue;
    const _Float16 ref = static_cast<_Float16>(f);
    uint16_t ref_bits;
    std::memcpy(&ref_bits, &ref, 2);
    differ += float_to_half(f) != ref_bits;
  }
  CHECK(differ == 0);
#endif
}

TEST_CASE("tensors stored at half precision: format 2, half the bytes, values rounded to binary16") {
  TempDir dir;
  CheckpointFile in = sample();
  const std::string f32 = dir.file("f32.ckpt"), f16 = dir.file("f16.ckpt");
  save_checkpoint(f32, in);
  in.half_precision = {"encoder.conv0.weight", "step", "empty"};
  save_checkpoint(f16, in);
  const std::vector<uint8_t> a = read_bytes(f32), b = read_bytes(f16);
  CHECK(a[8] == 1);  // float32 alone stays format 1, which older builds read
  CHECK(b[8] == 2);
  // 2 bytes less per half value; a storage type (4 bytes) per tensor.
  CHECK(b.size() == a.size() - 2 * (54 + 1) + 4 * in.tensors.size());

  const CheckpointFile out = load_checkpoint(f16);
  CHECK(out.half_precision == in.half_precision);
  REQUIRE(out.tensors.size() == in.tensors.size());
  for (size_t i = 0; i < in.tensors.size(); ++i) {
    const auto& [name, want] = in.tensors[i];
    CAPTURE(name);
    CHECK(out.tensors[i].first == name);
    const Tensor& got = out.tensors[i].second;
    REQUIRE(got.shape() == want.shape());
    if (!in.half_precision.count(name)) {
      CHECK(same_bits(got, want));
      continue;
    }
    for (int64_t k = 0; k < want.numel(); ++k) {
      CHECK(got.data()[k] == half_to_float(float_to_half(want.data()[k])));
      CHECK(std::fabs(got.data()[k] - want.data()[k]) <= std::fabs(want.data()[k]) * 0x1p-11f + 0x1p-25f);
    }
  }
  // Saved again as loaded (the same names at half precision): the same bytes.
  save_checkpoint(dir.file("again.ckpt"), out);
  CHECK(read_bytes(dir.file("again.ckpt")) == b);
  CHECK_FALSE(has_temp_files(dir.path));
}

TEST_CASE("half precision refuses values beyond its range and names it cannot find, writing nothing") {
  TempDir dir;
  const std::string path = dir.file("h.ckpt");
  CheckpointFile f;
  f.tensors.emplace_back("big", Tensor::from_vector(Shape{2}, {1.0f, -70000.0f}));
  f.half_precision = {"big"};
  CHECK_THROWS_WITH_AS(save_checkpoint(path, f),
                       doctest::Contains((path + ": tensor 'big' holds -70000, beyond half precision's largest value 65504").c_str()),
                       Error);
  f.tensors[0].second = Tensor::from_vector(Shape{2}, {INFINITY, kHalfMax});  // infinity stays infinity
  f.half_precision = {"big", "gone"};
  CHECK_THROWS_WITH_AS(save_checkpoint(path, f),
                       doctest::Contains((path + ": no tensor named 'gone' to store at half precision").c_str()), Error);
  CHECK(fs::is_empty(dir.path));
  f.half_precision = {"big"};
  save_checkpoint(path, f);
  const CheckpointFile out = load_checkpoint(path);
  CHECK(std::isinf(out.tensors[0].second.data()[0]));
  CHECK(out.tensors[0].second.data()[1] == kHalfMax);
}

TEST_CASE("format 2: an unknown storage type is named") {
  TempDir dir;
  const std::string path = dir.file("t.ckpt");
  CheckpointFile f;
  f.tensors.emplace_back("w", Tensor::from_vector(Shape{2}, {1.0f, 2.0f}));
  f.half_precision = {"w"};
  save_checkpoint(path, f);
  std::vector<uint8_t> bytes = read_bytes(path);
  // After the header (20), the config ("null": 8 + 4), the count (8), the name (4 + 1), the rank and one dim (4 + 8).
  const size_t storage_at = 20 + 12 + 8 + 5 + 12;
  REQUIRE(bytes[storage_at] == 1);
  put_u32(bytes, storage_at, 7);
  put_u32(bytes, bytes.size() - 4, checkpoint_io::crc32(bytes.data(), bytes.size() - 4));
  write_bytes(path, bytes);
  CHECK(load_error(path) == "load_checkpoint: " + path + ": corrupt: tensor 'w' has storage type 7 (0: float32, 1: half)");
}
