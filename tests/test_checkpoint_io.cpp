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
  save_checkpoint(good, sample());
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

  // A well-formed file from a newer format: version 2 with a valid checksum.
  save_checkpoint(path, sample());
  std::vector<uint8_t> bytes = read_bytes(path);
  put_u32(bytes, 8, 2);
  put_u32(bytes, bytes.size() - 4, checkpoint_io::crc32(bytes.data(), bytes.size() - 4));
  write_bytes(path, bytes);
  CHECK_THROWS_WITH_AS(load_checkpoint(path),
                       doctest::Contains((path + ": written by a newer ganomaly.cpp: format 2, this build reads up to 1").c_str()),
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
