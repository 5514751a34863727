// The command-line apps on bad input: each error is one line naming the file or option,
// exit 2 for a bad option and 1 for anything else, never a crash, never a partly
// written output. Plus one happy path (make_data -> train -> test -> infer --json).
//
// Everything is tiny (32 px images, n_features 8, one epoch) so the whole file runs in
// seconds on two cores.
#include <doctest/doctest.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <sys/wait.h>

#include "ganomaly/io/checkpoint_io.h"
#include "ganomaly/data/image.h"
#include "ganomaly/io/model_file.h"
#include "ganomaly/data/synth.h"
#include "ganomaly/train/train.h"
#include "support/fixtures.h"
#include "support/run_app.h"

namespace fs = std::filesystem;
using gan::testing::AppResult;
using gan::testing::run_app;
using gan::testing::temp_dir;
using gan::testing::write_tiny_dataset;

namespace {

// Training options that keep any run (even one that wrongly succeeds) fast.
const std::string kFast = " --epochs 1 --min-steps 0 --image-size 32 --n-features 8 --latent-size 8 --batch-size 8 --threads 2";

std::string q(const std::string& s) { return "'" + s + "'"; }  // no test path has a quote in it

// A small MVTec-style data set, written once; cases copy it and break the copy.
const std::string& base_dataset() {
  static const std::string root = write_tiny_dataset("cli_base");
  return root;
}

std::string copy_dataset(const std::string& tag) {
  const std::string dir = temp_dir("cli_" + tag) + "/bottle";
  fs::copy(base_dataset(), dir, fs::copy_options::recursive);
  return dir;
}

std::string first_image(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".png") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  REQUIRE(!files.empty());
  return files.front();
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  REQUIRE(out.good());
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A BMP whose header claims width x height at 24 bits but which holds only a few bytes.
std::string lying_bmp(int32_t width, int32_t height) {
  std::string h(54, '\0');
  auto put32 = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) h[at + i] = char((v >> (8 * i)) & 0xFF);
  };
  h[0] = 'B';
  h[1] = 'M';
  put32(2, 54 + 16);  // file size (a lie too)
  put32(10, 54);      // pixel data offset
  put32(14, 40);      // BITMAPINFOHEADER
  put32(18, uint32_t(width));
  put32(22, uint32_t(height));
  h[26] = 1;   // planes
  h[28] = 24;  // bits per pixel
  return h + std::string(16, '\x7f');
}

// A PNG with a valid signature and IHDR for width x height RGB 8-bit, then junk.
std::string lying_png(uint32_t width, uint32_t height) {
  std::string p("\x89PNG\r\n\x1a\n", 8);
  auto be32 = [&](uint32_t v) {
    for (int i = 3; i >= 0; --i) p += char((v >> (8 * i)) & 0xFF);
  };
  be32(13);
  p += "IHDR";
  be32(width);
  be32(height);
  p += std::string("\x08\x02\x00\x00\x00", 5);  // 8 bit, RGB, deflate, no filter, no interlace
  be32(0);                                          // CRC (stb does not check it)
  return p + std::string(32, '\x55');
}

// Regular files under `dir` (recursively); none when it does not exist.
std::vector<std::string> files_under(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out.push_back(e.path().string());
  return out;
}

// The contract for a failing run: the exact exit code (never a signal), exactly one
// line of output, naming `needle`, and nothing written under `out_dir`.
void check_error(const AppResult& r, int code, const std::string& needle, const std::string& out_dir = "") {
  INFO("output: <<<" << r.output << ">>>");
  CHECK(r.exit_code < 128);  // not killed by a signal
  CHECK(r.exit_code == code);
  CHECK(!r.output.empty());
  CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
  CHECK((!r.output.empty() && r.output.back() == '\n'));
  CHECK(r.output.find(needle) != std::string::npos);
  if (!out_dir.empty()) {
    const auto left = files_under(out_dir);
    INFO("left behind in " << out_dir << ": " << left.size() << " file(s)" << (left.empty() ? "" : ", e.g. " + left[0]));
    CHECK(left.empty());
  }
}

AppResult train(const std::string& data, const std::string& out, const std::string& extra = "") {
  return run_app("ganomaly_train", q(data) + " --out " + q(out) + kFast + extra);
}

// A trained model (one epoch, 32 px), written once.
const std::string& trained_model() {
  static const std::string path = [] {
    const std::string out = temp_dir("cli_model");
    const AppResult r = train(base_dataset(), out);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    REQUIRE(fs::exists(out + "/model.gnm"));
    return out + "/model.gnm";
  }();
  return path;
}

// A copy of the trained model, damaged by `damage`.
template <typename Damage>
std::string damaged_model(const std::string& tag, Damage damage) {
  std::string bytes = read_bytes(trained_model());
  REQUIRE(bytes.size() > 1000);
  damage(bytes);
  const std::string path = temp_dir("cli_ckpt_" + tag) + "/model.gnm";
  write_bytes(path, bytes);
  return path;
}

}  // namespace

// ---- data sets (ganomaly_train) ----

TEST_CASE("train: data set folder errors") {
  const std::string out = temp_dir("cli_out") + "/run";

  SUBCASE("missing folder") {
    const std::string missing = temp_dir("cli_missing") + "/nowhere";
    check_error(train(missing, out), 1, missing, out);
  }
  SUBCASE("empty folder") {
    const std::string empty = temp_dir("cli_empty");
    check_error(train(empty, out), 1, empty, out);
  }
  SUBCASE("train/ without test/") {
    const std::string d = copy_dataset("no_test");
    fs::remove_all(d + "/test");
    check_error(train(d, out), 1, d + "/test", out);
  }
  SUBCASE("test/ without train/") {
    const std::string d = copy_dataset("no_train");
    fs::remove_all(d + "/train");
    check_error(train(d, out), 1, d, out);
  }
  SUBCASE("empty train/good") {
    const std::string d = copy_dataset("empty_good");
    for (const auto& f : files_under(d + "/train/good")) fs::remove(f);
    check_error(train(d, out), 1, d + "/train/good", out);
  }
}

TEST_CASE("train: bad image files") {
  const std::string out = temp_dir("cli_out") + "/run";
  const std::string d = copy_dataset("bad_image");
  const std::string image = first_image(d + "/train/good");

  SUBCASE("zero-byte image") {
    write_bytes(image, "");
    check_error(train(d, out), 1, image, out);
  }
  SUBCASE("truncated PNG") {
    const std::string bytes = read_bytes(image);
    write_bytes(image, bytes.substr(0, bytes.size() / 2));
    check_error(train(d, out), 1, image, out);
  }
  SUBCASE("text file named .png") {
    write_bytes(image, "this is not an image\n");
    check_error(train(d, out), 1, image, out);
  }
  SUBCASE("BMP header claiming 30000x30000, default pixel limit") {
    const std::string bmp = d + "/train/good/huge.bmp";
    write_bytes(bmp, lying_bmp(30000, 30000));
    check_error(train(d, out), 1, bmp, out);
  }
  SUBCASE("BMP header claiming 30000x30000, --max-pixels above it") {
    // The pixel limit lets it through: the file must still be refused, without
    // allocating gigabytes, because it is far too short for what it claims.
    const std::string bmp = d + "/train/good/huge.bmp";
    write_bytes(bmp, lying_bmp(30000, 30000));
    check_error(train(d, out, " --max-pixels 1000000000"), 1, bmp, out);
  }
  SUBCASE("BMP header claiming 10000x10000 under --max-pixels (70 bytes)") {
    // Without a size check stb fills the missing rows with zeros: a black image.
    const std::string bmp = d + "/train/good/huge.bmp";
    write_bytes(bmp, lying_bmp(10000, 10000));
    check_error(train(d, out, " --max-pixels 1000000000"), 1, bmp, out);
  }
  SUBCASE("PNG header claiming 15000x15000 (stb itself refuses > 1 GiB)") {
    const std::string png = d + "/train/good/huge.png";
    write_bytes(png, lying_png(15000, 15000));
    check_error(train(d, out, " --max-pixels 1000000000"), 1, png, out);
  }
  SUBCASE("--max-pixels below real images") {
    check_error(train(d, out, " --max-pixels 100"), 1, "exceeds the limit", out);
  }
  SUBCASE("mask of another size than its image") {
    const std::string masks = d + "/ground_truth";
    std::string mask;
    for (const auto& f : files_under(masks)) mask = f;
    REQUIRE(!mask.empty());
    // A 16x16 mask for a 32x32 image, written by the generator's own PNG writer.
    gan::SynthSample s = gan::render_synthetic("bottle", 16, 1, 999, "good");
    gan::write_png(mask, s.image);
    check_error(train(d, out), 1, mask, out);
  }
}

// ---- options (ganomaly_train) ----

TEST_CASE("train: bad options") {
  const std::string out = temp_dir("cli_out") + "/run";
  const std::string d = base_dataset();
  auto run = [&](const std::string& opts) {
    return run_app("ganomaly_train", q(d) + " --out " + q(out) + " --threads 2 " + opts);
  };

  SUBCASE("--image-size 0") { check_error(run("--image-size 0"), 2, "--image-size", out); }
  SUBCASE("--image-size 7") { check_error(run("--image-size 7"), 2, "--image-size", out); }
  SUBCASE("--image-size 100000") { check_error(run("--image-size 100000"), 2, "--image-size", out); }
  SUBCASE("--batch-size 0") { check_error(run("--batch-size 0"), 2, "--batch-size", out); }
  SUBCASE("--epochs -1") { check_error(run("--epochs -1"), 2, "--epochs", out); }
  SUBCASE("--epochs 1000000000") { check_error(run("--epochs 1000000000"), 2, "--epochs", out); }
  SUBCASE("--lr nan") { check_error(run("--lr nan"), 2, "--lr", out); }
  SUBCASE("--lr -1") { check_error(run("--lr -1"), 2, "--lr", out); }
  SUBCASE("--lr-schedule step") { check_error(run("--lr-schedule step"), 2, "--lr-schedule", out); }
  SUBCASE("--w-adv -1") { check_error(run("--w-adv -1"), 2, "--w-adv", out); }
  SUBCASE("--d-lr-scale 0") { check_error(run("--d-lr-scale 0"), 2, "--d-lr-scale", out); }
  SUBCASE("--real-label 0.2") { check_error(run("--real-label 0.2"), 2, "--real-label", out); }
  SUBCASE("--real-label 1.0000001: the value quoted whole, not rounded into range") {
    check_error(run("--real-label 1.0000001"), 2, "ganomaly_train: --real-label: expected a target in [0.5, 1], got 1.0000001\n", out);
  }
  SUBCASE("--validation-fraction 0.90000001") {
    check_error(run("--validation-fraction 0.90000001"), 2, "got 0.90000001\n", out);
  }
  SUBCASE("--clip-grad-norm -1") { check_error(run("--clip-grad-norm -1"), 2, "--clip-grad-norm", out); }
  SUBCASE("--fusion-margin 2") { check_error(run("--fusion-margin 2"), 2, "--fusion-margin", out); }
  SUBCASE("--harden-at 2") { check_error(run("--harden-at 2"), 2, "--harden-at", out); }
  SUBCASE("--min-steps -1") { check_error(run("--min-steps -1"), 2, "--min-steps", out); }
  SUBCASE("--instance-noise -0.1") { check_error(run("--instance-noise -0.1"), 2, "--instance-noise", out); }
  SUBCASE("--augment rotate") { check_error(run("--augment rotate"), 2, "--augment", out); }
  SUBCASE("--target-fpr 0") { check_error(run("--target-fpr 0"), 2, "--target-fpr", out); }
  SUBCASE("--threshold-rule median") { check_error(run("--threshold-rule median"), 2, "--threshold-rule", out); }
  SUBCASE("--weights fp8") { check_error(run("--weights fp8"), 2, "--weights", out); }
  SUBCASE("--map raw") { check_error(run("--map raw"), 2, "--map", out); }
  SUBCASE("--selection-tolerance -1") {
    check_error(run("--selection-tolerance -1"), 2, "--selection-tolerance", out);
  }
  SUBCASE("--recipe bogus") { check_error(run("--recipe bogus"), 2, "--recipe", out); }
  SUBCASE("--score bogus") { check_error(run("--score bogus"), 2, "--score", out); }
  SUBCASE("--channels 2") {
    check_error(run("--channels 2"), 2, "ganomaly_train: --channels: expected 1 or 3, got 2\n", out);
  }
  SUBCASE("--threads -1") {
    // run() passes --threads 2 first; the last value wins.
    check_error(run("--threads -1"), 2, "ganomaly_train: --threads: expected 0 (all cores) to 1024, got -1\n", out);
  }
  SUBCASE("--image-size abc") { check_error(run("--image-size abc"), 2, "abc", out); }
  SUBCASE("unknown option") { check_error(run("--bogus-option 3"), 2, "bogus-option", out); }
  SUBCASE("no DATA_DIR") {
    check_error(run_app("ganomaly_train", "--out " + q(out)), 2, "DATA_DIR", out);
  }
  SUBCASE("--out under a regular file") {
    const std::string file = temp_dir("cli_outfile") + "/plain_file";
    write_bytes(file, "x");
    const std::string bad_out = file + "/run";
    check_error(train(d, bad_out), 1, bad_out + ": cannot create the output folder (--out): Not a directory");
    CHECK(read_bytes(file) == "x");
  }
  SUBCASE("a stray argument after DATA_DIR") {
    check_error(run("stray"), 2, "ganomaly_train: unexpected argument 'stray' (see --help)", out);
  }
  // Decimal options are read whole: a stream stops at the first odd character and keeps
  // the leading number ("0,5" was 0: the main loss switched off). kFast keeps a run that
  // wrongly starts short.
  SUBCASE("--w-con 0,5 (a decimal comma)") {
    check_error(run(kFast + " --w-con 0,5"), 2, "ganomaly_train: --w-con: '0,5' is not a decimal number (see --help)\n",
                out);
  }
  SUBCASE("--lr 1e-3abc (trailing junk)") {
    check_error(run(kFast + " --lr 1e-3abc"), 2, "ganomaly_train: --lr: '1e-3abc' is not a decimal number (see --help)\n",
                out);
  }
  SUBCASE("--lr 1e-300 (0 as a float) is reported as typed") {
    check_error(run(kFast + " --lr 1e-300"), 2,
                "ganomaly_train: --lr: '1e-300' is too close to 0 for a 32-bit float (see --help)\n", out);
  }
  SUBCASE("--w-enc 1e-50 would silently be 0") {
    check_error(run(kFast + " --w-enc 1e-50"), 2, "--w-enc: '1e-50' is too close to 0", out);
  }
  SUBCASE("--w-adv 1e39 (infinite as a float)") {
    check_error(run(kFast + " --w-adv 1e39"), 2, "--w-adv: '1e39' is too large for a 32-bit float", out);
  }
  SUBCASE("--selection-tolerance 0x1p-3 (hex is not a decimal)") {
    check_error(run(kFast + " --selection-tolerance 0x1p-3"), 2, "--selection-tolerance: '0x1p-3' is not a decimal", out);
  }
  SUBCASE("every loss weight 0") {
    check_error(run(kFast + " --w-adv 0 --w-con 0 --w-enc 0"), 2,
                "ganomaly_train: --w-adv, --w-con, --w-enc: expected at least one loss weight above 0, got all three 0\n",
                out);
  }
  SUBCASE("--out ''") { check_error(train(d, ""), 2, "ganomaly_train: --out: expected a folder, got ''\n"); }
  SUBCASE("--out a FIFO") {
    const std::string fifo = temp_dir("cli_fifo") + "/fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    check_error(train(d, fifo), 1, "ganomaly_train: " + fifo + ": cannot use as the output folder (--out): it is a FIFO\n");
    CHECK(fs::is_fifo(fifo));
  }
  SUBCASE("--out a regular file") {
    const std::string file = temp_dir("cli_outfile") + "/plain_file";
    write_bytes(file, "x");
    check_error(train(d, file), 1, "ganomaly_train: " + file + ": cannot use as the output folder (--out): it is a file\n");
    CHECK(read_bytes(file) == "x");
  }
  SUBCASE("--out a path so long that the files in it would pass PATH_MAX") {
    // The folder itself can be made; the files written after training could not.
    const std::string root = temp_dir("cli_deep");
    std::string deep = root;
    while (deep.size() < 3950) deep += "/" + std::string(std::min<size_t>(200, 3950 - deep.size()), 'd');
    REQUIRE(deep.size() + 64 < PATH_MAX);
    const AppResult r = train(d, deep);
    check_error(r, 2, "ganomaly_train: --out: the folder's path is " + std::to_string(deep.size()) + " characters");
    CHECK(files_under(root).empty());
  }
}

// ---- checkpoints (ganomaly_test, ganomaly_infer) ----

TEST_CASE("test and infer: bad checkpoints") {
  const std::string data = base_dataset();
  const std::string image = first_image(data + "/test/good");
  const std::string out = temp_dir("cli_test_out") + "/eval";
  auto check_both = [&](const std::string& ckpt, const std::string& needle) {
    check_error(run_app("ganomaly_test", q(ckpt) + " " + q(data) + " --out " + q(out) + " --threads 2"), 1, needle, out);
    check_error(run_app("ganomaly_infer", q(ckpt) + " " + q(image) + " --threads 2"), 1, needle);
  };

  SUBCASE("missing") {
    const std::string ckpt = temp_dir("cli_ckpt_missing") + "/model.gnm";
    check_both(ckpt, ckpt);
  }
  SUBCASE("truncated") {
    const std::string ckpt = damaged_model("truncated", [](std::string& b) { b.resize(b.size() / 2); });
    check_both(ckpt, ckpt);
  }
  SUBCASE("wrong magic (a random file)") {
    const std::string ckpt = damaged_model("random", [](std::string& b) {
      uint32_t x = 12345;
      for (auto& c : b) c = char((x = x * 1664525u + 1013904223u) >> 24);
    });
    check_both(ckpt, ckpt);
  }
  SUBCASE("one flipped byte (checksum)") {
    const std::string ckpt = damaged_model("flipped", [](std::string& b) { b[b.size() / 2] ^= 0x01; });
    check_both(ckpt, ckpt);
  }
  SUBCASE("newer format version (valid checksum)") {
    const std::string ckpt = damaged_model("newer", [](std::string& b) {
      b[8] = 3, b[9] = b[10] = b[11] = 0;  // the format version, little-endian, after the 8 magic bytes
      const uint32_t crc = gan::checkpoint_io::crc32(b.data(), b.size() - 4);
      for (int i = 0; i < 4; ++i) b[b.size() - 4 + i] = char(uint8_t(crc >> (8 * i)));
    });
    check_both(ckpt, ckpt + ": written by a newer ganomaly.cpp: format 3, this build reads up to 2");
  }
  SUBCASE("empty file") {
    const std::string ckpt = damaged_model("empty", [](std::string& b) { b.clear(); });
    check_both(ckpt, ckpt);
  }
  SUBCASE("a folder") {
    const std::string ckpt = temp_dir("cli_ckpt_dir");
    check_both(ckpt, ckpt);
  }
}

TEST_CASE("test: bad data and options") {
  const std::string model = trained_model();
  const std::string out = temp_dir("cli_test_out") + "/eval";
  auto test = [&](const std::string& data, const std::string& extra = "") {
    return run_app("ganomaly_test", q(model) + " " + q(data) + " --out " + q(out) + " --threads 2" + extra);
  };

  SUBCASE("missing data folder") {
    const std::string missing = temp_dir("cli_missing") + "/nowhere";
    check_error(test(missing), 1, missing, out);
  }
  SUBCASE("truncated PNG in test/good") {
    const std::string d = copy_dataset("test_trunc");
    const std::string image = first_image(d + "/test/good");
    const std::string bytes = read_bytes(image);
    write_bytes(image, bytes.substr(0, bytes.size() / 2));
    check_error(test(d), 1, image, out);
  }
  SUBCASE("mask of another size") {
    const std::string d = copy_dataset("test_mask");
    std::string mask;
    for (const auto& f : files_under(d + "/ground_truth")) mask = f;
    gan::SynthSample s = gan::render_synthetic("bottle", 16, 1, 999, "good");
    gan::write_png(mask, s.image);
    check_error(test(d), 1, mask, out);
  }
  SUBCASE("--out under a regular file") {
    const std::string file = temp_dir("cli_outfile") + "/plain_file";
    write_bytes(file, "x");
    const std::string bad_out = file + "/eval";
    check_error(run_app("ganomaly_test", q(model) + " " + q(base_dataset()) + " --out " + q(bad_out)), 1, bad_out);
  }
  SUBCASE("--threads -1") { check_error(test(base_dataset(), " --threads -1"), 2, "--threads", out); }
  SUBCASE("unknown option") { check_error(test(base_dataset(), " --bogus"), 2, "bogus", out); }
  SUBCASE("no DATA_DIR") { check_error(run_app("ganomaly_test", q(model)), 2, "DATA_DIR"); }
}

TEST_CASE("infer: bad inputs") {
  const std::string model = trained_model();
  auto infer = [&](const std::string& args) { return run_app("ganomaly_infer", q(model) + " " + args + " --threads 2"); };

  SUBCASE("missing image") {
    const std::string missing = temp_dir("cli_missing") + "/nope.png";
    check_error(infer(q(missing)), 1, missing);
  }
  SUBCASE("empty directory") {
    const std::string empty = temp_dir("cli_empty_dir");
    check_error(infer(q(empty)), 1, empty);
  }
  SUBCASE("text file named .png") {
    const std::string f = temp_dir("cli_text") + "/fake.png";
    write_bytes(f, "hello\n");
    check_error(infer(q(f)), 1, f);
  }
  SUBCASE("BMP header claiming 30000x30000") {
    const std::string f = temp_dir("cli_bmp") + "/huge.bmp";
    write_bytes(f, lying_bmp(30000, 30000));
    check_error(infer(q(f)), 1, f);
    check_error(infer(q(f) + " --max-pixels 1000000000"), 1, f);
    write_bytes(f, lying_bmp(10000, 10000));  // under the limit but 70 bytes long
    check_error(infer(q(f) + " --max-pixels 1000000000"), 1, f);
  }
  SUBCASE("no image") { check_error(run_app("ganomaly_infer", q(model)), 2, "IMAGE"); }
  SUBCASE("unknown option") { check_error(infer(q(first_image(base_dataset() + "/test/good")) + " --bogus"), 2, "bogus"); }
}

// Output that cannot be written must not look like success: a script would read a short
// (here: empty) list as complete.
TEST_CASE("infer: stdout that cannot be written (/dev/full, closed) exits 1 with one line on stderr") {
  const std::string image = first_image(base_dataset() + "/test/good");
  for (const std::string& redirect : {std::string(">/dev/full"), std::string(">&-")}) {
    for (const std::string& format : {std::string(""), std::string(" --json")}) {
      // stderr to the pipe first, then stdout away: run_app would send both to the same place.
      std::string command;
      for (const std::string& word : gan::testing::app_command("ganomaly_infer")) command += word + " ";
      command += q(trained_model()) + " " + q(image) + format + " --threads 2 2>&1 " + redirect;
      std::FILE* pipe = popen(command.c_str(), "r");
      REQUIRE(pipe);
      AppResult r{-1, ""};
      char buf[4096];
      for (size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) r.output.append(buf, n);
      const int status = pclose(pipe);
      r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      INFO(redirect << format);
      check_error(r, 1, "ganomaly_infer: standard output: cannot write: ");
    }
  }
}

TEST_CASE("infer: an unreadable image among many is reported and skipped; the exit code says so") {
  const std::string dir = temp_dir("cli_infer_skip");
  for (const auto& f : files_under(base_dataset() + "/test/good")) fs::copy_file(f, dir + "/" + fs::path(f).filename().string());
  const std::string bad = dir + "/001b.png";  // sorted among the good ones
  write_bytes(bad, "this is not an image\n");
  const AppResult r = run_app("ganomaly_infer", q(trained_model()) + " " + q(dir) + " --json --threads 2");
  INFO(r.output);
  CHECK(r.exit_code == 1);
  std::istringstream lines(r.output);
  int scored = 0;
  std::vector<std::string> errors;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("{", 0) == 0) {
      CHECK(nlohmann::json::parse(line)["path"] != bad);
      ++scored;
    } else {
      errors.push_back(line);
    }
  }
  CHECK(scored == 3);
  CHECK(errors == std::vector<std::string>{
                      "ganomaly_infer: image: " + bad + ": not a readable image (not a PNG, JPEG or BMP file)",
                      "ganomaly_infer: 1 of 4 images could not be read and were skipped"});
}

// The lines of `output` that start with `prefix` (the app's own messages, not its progress).
std::string app_lines(const std::string& output, const std::string& prefix) {
  std::istringstream lines(output);
  std::string out;
  for (std::string line; std::getline(lines, line);)
    if (line.rfind(prefix, 0) == 0) out += line + "\n";
  return out;
}

// The report is written last, after the results: a report that fails is a one-line
// warning with exit 0 (docs/ERRORS.md, "Warnings"), the results stay.
TEST_CASE("a report that cannot be written: one warning line, exit 0, the results kept") {
  SUBCASE("ganomaly_test") {
    const std::string out = temp_dir("cli_report_test");
    write_bytes(out + "/plots", "x");  // the report's folder cannot be made
    const AppResult r = run_app("ganomaly_test", q(trained_model()) + " " + q(base_dataset()) + " --out " + q(out) +
                                                     " --threads 2");
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(app_lines(r.output, "ganomaly_test: ") == "ganomaly_test: warning: report not written: " + out +
                          "/plots: cannot create the report folder: Not a directory\n");
    CHECK(fs::exists(out + "/test_metrics.json"));
    CHECK(fs::exists(out + "/test_scores.csv"));
  }
  SUBCASE("ganomaly_train") {
    const std::string out = temp_dir("cli_report_train");
    write_bytes(out + "/plots", "x");
    const AppResult r = run_app("ganomaly_train", q(base_dataset()) + " --out " + q(out) + kFast);
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(app_lines(r.output, "ganomaly_train: ") == "ganomaly_train: warning: report not written: " + out +
                          "/plots: cannot create the report folder: Not a directory\n");
    CHECK(fs::exists(out + "/model.gnm"));
  }
}

// ---- VisA split files (ganomaly_train) ----

TEST_CASE("train: bad VisA split files") {
  const std::string out = temp_dir("cli_out") + "/run";
  gan::SynthOptions o;
  o.layout = "visa";
  o.out = temp_dir("cli_visa");
  o.category = "candle";
  o.size = 32;
  o.train = 10;
  o.test_good = 3;
  o.test_bad = 3;
  const std::string category = gan::write_synthetic_dataset(o);
  const std::string csv = o.out + "/split_csv/1cls.csv";
  const std::string good = read_bytes(csv);
  REQUIRE(good.rfind("object,split,label,image,mask\n", 0) == 0);
  REQUIRE(good.back() == '\n');
  const std::string next_line = std::to_string(std::count(good.begin(), good.end(), '\n') + 1);
  // The first row's image (its fourth field), for the rows appended below.
  std::istringstream lines(good);
  std::string header, row, image;
  std::getline(lines, header);
  std::getline(lines, row);
  std::istringstream fields(row);
  for (int i = 0; i < 4; ++i) std::getline(fields, image, ',');
  REQUIRE(fs::exists(o.out + "/" + image));
  auto expect = [&](const std::string& line, const std::string& what) {
    return "ganomaly_train: dataset: " + csv + ":" + line + ": " + what + "\n";
  };

  SUBCASE("a header without the label column") {
    write_bytes(csv, "object,split,kind,image,mask\n" + good.substr(good.find('\n') + 1));
    const AppResult r = train(category, out);
    check_error(r, 1, csv + ":1", out);
    CHECK(r.output == expect("1", "header lacks column 'label' (expected object,split,label,image,mask)"));
  }
  SUBCASE("a row with too few fields") {
    write_bytes(csv, good + "candle,train,normal\n");
    const AppResult r = train(category, out);
    check_error(r, 1, csv + ":" + next_line, out);
    CHECK(r.output == expect(next_line, "expected 5 fields, got 3"));
  }
  SUBCASE("an unterminated quote") {
    write_bytes(csv, good + "candle,train,normal,\"" + image + ",\n");
    const AppResult r = train(category, out);
    check_error(r, 1, csv + ":" + next_line, out);
    CHECK(r.output == expect(next_line, "unterminated quoted field"));
  }
  SUBCASE("an unknown label") {
    write_bytes(csv, good + "candle,train,weird," + image + ",\n");
    const AppResult r = train(category, out);
    check_error(r, 1, csv + ":" + next_line, out);
    CHECK(r.output == expect(next_line, "unknown label 'weird' (expected normal or anomaly)"));
  }
  SUBCASE("an unknown split") {
    write_bytes(csv, good + "candle,holdout,normal," + image + ",\n");
    const AppResult r = train(category, out);
    check_error(r, 1, csv + ":" + next_line, out);
    CHECK(r.output == expect(next_line, "unknown split 'holdout' (expected train, test or val)"));
  }
}

// ---- checkpoints that do not fit the data or the options ----

TEST_CASE("train --resume: a checkpoint of another image size or channel count is refused") {
  const std::string run_dir = fs::path(trained_model()).parent_path().string();
  const std::string last = run_dir + "/last.gnm";
  const std::string out = temp_dir("cli_resume") + "/run";
  auto resume = [&](const std::string& checkpoint, const std::string& model_options) {
    return run_app("ganomaly_train", q(base_dataset()) + " --out " + q(out) +
                                         " --epochs 2 --min-steps 0 --n-features 8 --latent-size 8 --batch-size 8 --threads 2" +
                                         model_options + " --resume " + q(checkpoint));
  };
  const std::string mismatch = last + ": was trained with other model settings";
  SUBCASE("another image size") { check_error(resume(last, " --image-size 64"), 1, mismatch, out); }
  SUBCASE("another channel count") { check_error(resume(last, " --image-size 32 --channels 1"), 1, mismatch, out); }
  // The checkpoint was trained by trained_model(): kFast on base_dataset(), seed 42, default lr.
  SUBCASE("a finished checkpoint: nothing left to do") {
    const AppResult r = run_app("ganomaly_train", q(base_dataset()) + " --out " + q(out) + kFast + " --resume " + q(last));
    check_error(r, 1,
                "ganomaly_train: " + last +
                    ": training already finished: it has run 1 epochs and --epochs is 1; nothing left to do (raise "
                    "--epochs to train on)\n",
                out);
  }
  SUBCASE("another --lr") {
    check_error(resume(last, " --image-size 32 --lr 0.001"), 1,
                "ganomaly_train: " + last + ": was trained with --lr 0.0002, not 0.001; resume with the same settings, "
                "or start a new run without --resume\n", out);
  }
  SUBCASE("another --seed") { check_error(resume(last, " --image-size 32 --seed 7"), 1, "with --seed 42, not 7", out); }
  SUBCASE("another --batch-size") {
    check_error(resume(last, " --image-size 32 --batch-size 4"), 1, "with --batch-size 8, not 4", out);
  }
  SUBCASE("another data set") {
    const std::string other = copy_dataset("resume_other");
    const AppResult r = run_app("ganomaly_train", q(other) + " --out " + q(out) +
                                                      " --epochs 2 --min-steps 0 --image-size 32 --n-features 8 --latent-size 8"
                                                      " --batch-size 8 --threads 2 --resume " + q(last));
    check_error(r, 1, "with DATA_DIR " + base_dataset() + ", not " + other + ";", out);
  }
  SUBCASE("a final model.gnm instead of last.gnm") {
    check_error(resume(run_dir + "/model.gnm", " --image-size 32"), 1,
                "ganomaly_train: " + run_dir + "/model.gnm: not a resumable checkpoint (use last.gnm)\n", out);
  }
}

// AUROC and AUPR need both classes: with one, they are undefined (null), not 0.
TEST_CASE("a test set with one class only: image AUROC and AUPR are null, with one warning line") {
  auto keep_only = [](const std::string& d, bool normal) {
    for (const auto& e : fs::directory_iterator(d + "/test"))
      if ((e.path().filename() == "good") != normal) fs::remove_all(e.path());
    if (normal) fs::remove_all(d + "/ground_truth");
  };
  auto check_metrics = [](const nlohmann::json& m) {
    INFO(m.dump());
    CHECK(m["image_auroc"].is_null());
    CHECK(m["image_aupr"].is_null());
    CHECK(m["image_f1_oracle"].is_null());
  };
  auto warnings = [](const std::string& output) {
    std::vector<std::string> out;
    std::istringstream lines(output);
    for (std::string line; std::getline(lines, line);)
      if (line.find(": warning: ") != std::string::npos) out.push_back(line);  // not summary.json's "warning" key
    return out;
  };
  SUBCASE("ganomaly_test, normal images only") {
    const std::string d = copy_dataset("one_class_good");
    keep_only(d, true);
    const std::string out = temp_dir("cli_one_class") + "/eval";
    const AppResult r =
        run_app("ganomaly_test", q(trained_model()) + " " + q(d) + " --out " + q(out) + " --threads 2 --no-report");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    check_metrics(nlohmann::json::parse(read_bytes(out + "/test_metrics.json")));
    CHECK(warnings(r.output) ==
          std::vector<std::string>{"ganomaly_test: warning: " + d +
                                   ": the test set has only normal images (3 normal, 0 anomalous): image AUROC, AUPR "
                                   "and F1 are undefined and reported as null"});
    CHECK(r.output.find("image AUROC n/a  AUPR n/a") != std::string::npos);
  }
  SUBCASE("ganomaly_test, anomalous images only") {
    const std::string d = copy_dataset("one_class_bad");
    keep_only(d, false);
    const std::string out = temp_dir("cli_one_class") + "/eval";
    const AppResult r =
        run_app("ganomaly_test", q(trained_model()) + " " + q(d) + " --out " + q(out) + " --threads 2 --no-report");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    check_metrics(nlohmann::json::parse(read_bytes(out + "/test_metrics.json")));
    REQUIRE(warnings(r.output).size() == 1);
    CHECK(warnings(r.output)[0].find("only anomalous images (0 normal, 3 anomalous)") != std::string::npos);
  }
  SUBCASE("ganomaly_train: summary.json") {
    const std::string d = copy_dataset("one_class_train");
    keep_only(d, true);
    const std::string out = temp_dir("cli_one_class") + "/run";
    const AppResult r = train(d, out, " --no-report");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    check_metrics(nlohmann::json::parse(read_bytes(out + "/summary.json")));
    CHECK(warnings(r.output).size() == 1);
  }
}

// An RFC 4180 reader, for the test below: fields split at commas outside quotes, "" is a quote.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows(1, std::vector<std::string>(1));
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') rows.back().back() += c, ++i;
      else if (c == '"') quoted = false;
      else rows.back().back() += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      rows.back().emplace_back();
    } else if (c == '\n') {
      rows.emplace_back(1);
    } else {
      rows.back().back() += c;
    }
  }
  REQUIRE(!quoted);
  if (rows.back() == std::vector<std::string>(1)) rows.pop_back();  // after the last line break
  return rows;
}

TEST_CASE("test_scores.csv quotes a file or folder name holding a comma or a quote (RFC 4180)") {
  const std::string d = copy_dataset("csv_names");
  // A defect folder and an image whose names hold a comma and a quote; the mask follows its image.
  const std::string odd_defect = "crack, \"deep\"";
  fs::rename(d + "/test/crack", d + "/test/" + odd_defect);
  fs::rename(d + "/ground_truth/crack", d + "/ground_truth/" + odd_defect);
  const std::string image = first_image(d + "/test/" + odd_defect);
  const std::string stem = fs::path(image).stem().string();
  const std::string odd_image = d + "/test/" + odd_defect + "/a,\"b\"" + stem + ".png";
  fs::rename(image, odd_image);
  fs::rename(d + "/ground_truth/" + odd_defect + "/" + stem + "_mask.png",
             d + "/ground_truth/" + odd_defect + "/a,\"b\"" + stem + "_mask.png");
  const std::string out = temp_dir("cli_csv") + "/eval";
  // The shell needs the data path quoted; it holds no single quote.
  const AppResult r = run_app("ganomaly_test", q(trained_model()) + " " + q(d) + " --out " + q(out) + " --threads 2 --no-report");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto rows = parse_csv(read_bytes(out + "/test_scores.csv"));
  REQUIRE(rows.size() == 7);  // the header and six images
  bool seen = false;
  for (const auto& row : rows) {
    INFO(row.size() << " fields, the first: " << row[0]);
    CHECK(row.size() == rows[0].size());
    if (row[0] == odd_image) {
      seen = true;
      CHECK(row[1] == "1");
      CHECK(row[2] == odd_defect);
    }
  }
  CHECK(seen);
}

TEST_CASE("an RGB 32 px model tests grey 48 px images (resized and replicated to three channels)") {
  const std::string d = temp_dir("cli_grey48");
  gan::SynthOptions o;
  o.out = d;
  o.size = 48;
  o.train = 2;
  o.test_good = 3;
  o.test_bad = 3;
  const std::string data = gan::write_synthetic_dataset(o);
  int converted = 0;
  for (const auto& f : files_under(data + "/test")) {
    gan::write_png(f, gan::load_image(f, 1));
    ++converted;
  }
  REQUIRE(converted == 6);
  REQUIRE(gan::probe_image(first_image(data + "/test/good")).channels == 1);
  const std::string out = d + "/eval";
  const AppResult r = run_app("ganomaly_test", q(trained_model()) + " " + q(data) + " --out " + q(out) + " --threads 2");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(nlohmann::json::parse(read_bytes(out + "/test_metrics.json")).contains("image_auroc"));
}

// ---- ganomaly_make_data ----

TEST_CASE("make_data: bad options") {
  const std::string out = temp_dir("cli_make_out");
  auto make = [&](const std::string& opts) {
    return run_app("ganomaly_make_data", "--out " + q(out) + " --size 32 --train 2 --test-good 1 --test-bad 1 " + opts);
  };
  SUBCASE("--size abc") { check_error(make("--size abc"), 2, "--size", out); }
  SUBCASE("--size 0") { check_error(make("--size 0"), 2, "--size", out); }
  SUBCASE("--train 0") { check_error(make("--train 0"), 2, "--train", out); }
  SUBCASE("--test-bad -1") { check_error(make("--test-bad -1"), 2, "--test-bad", out); }
  SUBCASE("--test-lighting 0.6") { check_error(make("--test-lighting 0.6"), 2, "--test-lighting", out); }
  SUBCASE("--layout bogus") { check_error(make("--layout bogus"), 2, "--layout", out); }
  SUBCASE("--kind bogus") { check_error(make("--kind bogus"), 2, "--kind", out); }
  SUBCASE("--category ..") { check_error(make("--category .."), 2, "--category", out); }
  SUBCASE("unknown option") { check_error(make("--bogus"), 2, "bogus", out); }
  SUBCASE("positional argument") { check_error(make("stray"), 2, "stray", out); }
  SUBCASE("existing folder without --overwrite") {
    REQUIRE(make("").exit_code == 0);
    const auto before = files_under(out).size();
    check_error(make(""), 1, out + "/bottle");
    CHECK(files_under(out).size() == before);
  }
  SUBCASE("--out under a regular file") {
    const std::string file = out + "/plain_file";
    write_bytes(file, "x");
    check_error(run_app("ganomaly_make_data", "--out " + q(file + "/data") + " --size 32 --train 2"), 1,
                file + "/data");
  }
}

// ---- happy paths ----

TEST_CASE("make_data -> train -> test -> infer --json") {
  const std::string root = temp_dir("cli_happy");
  AppResult r = run_app("ganomaly_make_data",
                        "--out " + q(root + "/data") + " --size 32 --train 10 --test-good 3 --test-bad 3");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::string data = root + "/data/bottle";

  r = train(data, root + "/run");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::string model = root + "/run/model.gnm";
  REQUIRE(fs::exists(model));
  for (const auto& f : files_under(root + "/run")) CHECK(f.find(".tmp.") == std::string::npos);
  {  // the command line's defaults are the library's (one source: TrainOptions)
    const gan::TrainOptions defaults;
    const nlohmann::json info = gan::load_model(model).config.at("info");
    INFO(info.dump());
    CHECK(info.at("fusion_margin").get<double>() == defaults.fusion_margin);
    CHECK(info.at("selection_tolerance").get<double>() == defaults.selection_tolerance);
    CHECK(info.at("ema_decay").get<float>() == defaults.ema_decay);
    CHECK(info.at("learning_rate").get<float>() == defaults.learning_rate);
  }

  r = run_app("ganomaly_test", q(model) + " " + q(data) + " --threads 2");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(fs::exists(root + "/run/test/test_metrics.json"));
  CHECK(nlohmann::json::parse(read_bytes(root + "/run/test/test_metrics.json")).contains("image_auroc"));

  r = run_app("ganomaly_infer", q(model) + " " + q(data + "/test/good") + " --json --threads 2");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  std::istringstream lines(r.output);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    const nlohmann::json j = nlohmann::json::parse(line);  // throws (fails the test) when not JSON
    CHECK(j.contains("path"));
    CHECK(j.contains("score"));
    CHECK((j["verdict"] == "normal" || j["verdict"] == "anomalous"));
    ++n;
  }
  CHECK(n == 3);
}

TEST_CASE("train: a new run into an old folder says what it replaces") {
  const std::string out = temp_dir("cli_rerun") + "/run";
  AppResult r = train(base_dataset(), out, " --no-report");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("note:") == std::string::npos);  // a fresh folder replaces nothing
  r = train(base_dataset(), out, " --no-report");
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("note: " + out + " holds model.gnm, last.gnm, train_log.jsonl, summary.json, test_scores.csv, config.json of an "
                      "earlier run; they will be replaced\n") != std::string::npos);
}

TEST_CASE("train: a non-power-of-two image size (48) is padded to the network's 64") {
  const std::string out = temp_dir("cli_48") + "/run";
  const AppResult r = run_app("ganomaly_train", q(base_dataset()) + " --out " + q(out) +
                                                    " --epochs 1 --min-steps 0 --image-size 48 --n-features 8 --latent-size 8"
                                                    " --batch-size 8 --threads 2");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  REQUIRE(fs::exists(out + "/model.gnm"));
  const AppResult i = run_app("ganomaly_infer", q(out + "/model.gnm") + " " +
                                                    q(first_image(base_dataset() + "/test/good")) + " --json");
  INFO(i.output);
  CHECK(i.exit_code == 0);
  CHECK(nlohmann::json::parse(i.output).contains("score"));
}

TEST_CASE("a 1-channel model scores RGB images (they are converted to grey)") {
  const std::string out = temp_dir("cli_grey") + "/run";
  const AppResult r = train(base_dataset(), out, " --channels 1");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const AppResult i = run_app("ganomaly_infer", q(out + "/model.gnm") + " " +
                                                    q(first_image(base_dataset() + "/test/good")) + " --json");
  INFO(i.output);
  CHECK(i.exit_code == 0);
  CHECK(nlohmann::json::parse(i.output).contains("score"));
}

// ---- decision threshold (ganomaly_infer, ganomaly_test) ----

TEST_CASE("infer and test: --threshold and --sensitivity move the verdicts; the normalised score keeps its scale") {
  const std::string model = trained_model();
  std::string folders;
  for (const auto& e : fs::directory_iterator(base_dataset() + "/test")) folders += " " + q(e.path().string());
  auto infer = [&](const std::string& extra) {
    const AppResult r = run_app("ganomaly_infer", q(model) + folders + " --json --threads 2" + extra);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    std::vector<nlohmann::json> lines;
    std::istringstream in(r.output);
    for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
    REQUIRE(lines.size() == 6);
    return lines;
  };
  const std::vector<nlohmann::json> plain = infer("");
  const float calibrated = plain[0]["threshold"].get<float>();
  float lowest = plain[0]["raw_score"].get<float>();
  for (const auto& j : plain) lowest = std::min(lowest, j["raw_score"].get<float>());

  // A raw threshold at the lowest score flags every image; the scores are unchanged.
  const std::vector<nlohmann::json> all = infer(" --threshold " + nlohmann::json(lowest).dump());
  for (size_t i = 0; i < all.size(); ++i) {
    CHECK(all[i]["verdict"] == "anomalous");
    CHECK(all[i]["threshold"].get<float>() == lowest);
    CHECK(all[i]["score"] == plain[i]["score"]);
    CHECK(all[i]["raw_score"] == plain[i]["raw_score"]);
    CHECK(!all[i].contains("sensitivity"));
  }
  for (const auto& j : infer(" --threshold=1e30")) CHECK(j["verdict"] == "normal");

  // Sensitivity 0.5 is the calibrated threshold; otherwise the normalised cut is 1 - S.
  const std::vector<nlohmann::json> half = infer(" --sensitivity 0.5");
  for (size_t i = 0; i < half.size(); ++i) {
    CHECK(half[i]["verdict"] == plain[i]["verdict"]);
    CHECK(half[i]["threshold"].get<float>() == calibrated);
    CHECK(half[i]["sensitivity"] == 0.5);
  }
  for (float s : {0.0f, 0.3f, 0.9f, 1.0f}) {
    const std::vector<nlohmann::json> lines = infer(" --sensitivity " + nlohmann::json(s).dump());
    const gan::Calibration c = gan::with_decision_threshold(gan::load_model(model).calibration, std::nullopt, s);
    for (size_t i = 0; i < lines.size(); ++i) {
      CAPTURE(s);
      CHECK(lines[i]["threshold"].get<float>() == c.threshold);
      CHECK(lines[i]["verdict"] == (lines[i]["raw_score"].get<float>() >= c.threshold ? "anomalous" : "normal"));
      CHECK(lines[i]["score"] == plain[i]["score"]);
    }
  }

  // ganomaly_test: F1, precision, recall and test_scores.csv at the moved threshold.
  const std::string out = temp_dir("cli_threshold_test");
  const AppResult r = run_app("ganomaly_test", q(model) + " " + q(base_dataset()) + " --out " + q(out) +
                                                   " --threads 2 --threshold " + nlohmann::json(lowest).dump());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("(at --threshold)") != std::string::npos);
  CHECK(read_bytes(out + "/report.html").find("chosen on the command line (a raw threshold; the calibrated threshold is ") !=
        std::string::npos);
  const nlohmann::json metrics = nlohmann::json::parse(read_bytes(out + "/test_metrics.json"));
  CHECK(metrics["threshold"].get<float>() == lowest);
  CHECK(metrics["calibrated_threshold"].get<float>() == calibrated);
  CHECK(metrics["image_recall"] == 1.0);  // every image flagged
  CHECK(metrics["image_precision"] == 0.5);
  const std::string csv = read_bytes(out + "/test_scores.csv");
  CHECK(csv.find(",normal\n") == std::string::npos);

  const AppResult s = run_app("ganomaly_test", q(model) + " " + q(base_dataset()) + " --out " + q(out) +
                                                   " --threads 2 --no-report --sensitivity 0.5");
  REQUIRE(s.exit_code == 0);
  CHECK(s.output.find("(at --sensitivity 0.5)") != std::string::npos);
  const nlohmann::json half_metrics = nlohmann::json::parse(read_bytes(out + "/test_metrics.json"));
  CHECK(half_metrics["sensitivity"] == 0.5);
  CHECK(half_metrics["threshold"].get<float>() == calibrated);
}

TEST_CASE("infer and test: bad --threshold and --sensitivity") {
  const std::string model = trained_model();
  const std::string image = first_image(base_dataset() + "/test/good");
  const std::string out = temp_dir("cli_threshold_bad") + "/eval";
  auto both = [&](const std::string& opts, const std::string& message) {
    check_error(run_app("ganomaly_infer", q(model) + " " + q(image) + " --threads 2 " + opts), 2,
                "ganomaly_infer: " + message + "\n");
    check_error(run_app("ganomaly_test", q(model) + " " + q(base_dataset()) + " --out " + q(out) + " --threads 2 " + opts),
                2, "ganomaly_test: " + message + "\n", out);
  };
  SUBCASE("--sensitivity 1.5") { both("--sensitivity 1.5", "--sensitivity: expected a number in [0, 1], got 1.5"); }
  SUBCASE("--sensitivity -0.1") { both("--sensitivity -0.1", "--sensitivity: expected a number in [0, 1], got -0.1"); }
  SUBCASE("--threshold nan") { both("--threshold nan", "--threshold: 'nan' is not a decimal number (see --help)"); }
  SUBCASE("both") {
    both("--threshold 1 --sensitivity 0.5", "--threshold, --sensitivity: expected one or the other, got both");
  }
  SUBCASE("before the checkpoint is read") {
    check_error(run_app("ganomaly_infer", q(temp_dir("cli_none") + "/missing.gnm") + " " + q(image) + " --sensitivity 2"), 2,
                "ganomaly_infer: --sensitivity: expected a number in [0, 1], got 2\n");
  }
}

// The apps' default OpenMP wait policy (tensor/thread_defaults.h): passive unless the user
// set OMP_WAIT_POLICY, and in effect in libgomp itself (OMP_DISPLAY_ENV=verbose prints what
// it read when it was loaded, before main: a spin count of 0 is passive; unset, it would be
// 300000), not only in --version.
TEST_CASE("the apps' OpenMP threads wait passively unless OMP_WAIT_POLICY is set") {
#ifndef GANOMALY_OPENMP
  MESSAGE("skipped: this build has no OpenMP");
#else
  struct Env {
    std::string saved;
    bool had;
    Env() : had(std::getenv("OMP_WAIT_POLICY") != nullptr) {
      if (had) saved = std::getenv("OMP_WAIT_POLICY");
      setenv("OMP_DISPLAY_ENV", "verbose", 1);
    }
    ~Env() {
      unsetenv("OMP_DISPLAY_ENV");
      if (had) setenv("OMP_WAIT_POLICY", saved.c_str(), 1);
      else unsetenv("OMP_WAIT_POLICY");
    }
  } env;
  for (const std::string app : {"ganomaly_train", "ganomaly_infer", "ganomaly_test"}) {
    CAPTURE(app);
    unsetenv("OMP_WAIT_POLICY");
    const auto unset = run_app(app, "--version");
    INFO(unset.output);
    CHECK(unset.exit_code == 0);
    CHECK(unset.output.find("wait policy passive (the default)") != std::string::npos);
    CHECK(unset.output.find("OMP_WAIT_POLICY = 'PASSIVE'") != std::string::npos);
    CHECK(unset.output.find("GOMP_SPINCOUNT = '0'") != std::string::npos);
    setenv("OMP_WAIT_POLICY", "active", 1);
    const auto active = run_app(app, "--version");
    INFO(active.output);
    CHECK(active.output.find("wait policy active (OMP_WAIT_POLICY)") != std::string::npos);
    CHECK(active.output.find("OMP_WAIT_POLICY = 'ACTIVE'") != std::string::npos);
  }
#endif
}
