// The one file writer (io/atomic_file.h): whole files or none, no temporary file left,
// and every kind of file the project writes goes through it and its full-disk seam.
#include <doctest/doctest.h>

#include <filesystem>
#include <functional>
#include <set>
#include <string>

#include "ganomaly/data/image.h"
#include "ganomaly/data/synth.h"
#include "ganomaly/io/atomic_file.h"
#include "ganomaly/io/checkpoint_io.h"
#include "ganomaly/report/map_files.h"
#include "ganomaly/report/report.h"
#include "support/run_app.h"

using namespace gan;
using gan::testing::has_temp_files;
using gan::testing::read_file;
using gan::testing::TempDir;
namespace fs = std::filesystem;

namespace {

std::set<std::string> names_in(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    names.insert(fs::relative(entry.path(), dir).string());
  return names;
}

}  // namespace

TEST_CASE("write_file_atomically writes the bytes whole and leaves no temporary file") {
  TempDir dir("atomic_whole");
  const std::string path = dir / "a.bin";
  const std::string bytes("text\0and binary\xff", 16);
  write_file_atomically(path, bytes);
  CHECK(read_file(path) == bytes);
  write_file_atomically(path, "shorter");
  CHECK(read_file(path) == "shorter");
  CHECK(names_in(dir.path) == std::set<std::string>{"a.bin"});
}

TEST_CASE("a write that fails leaves the old file as it was and no temporary file") {
  TempDir dir("atomic_fail");
  const std::string path = dir / "a.txt";
  write_file_atomically(path, "old");
  for (int64_t limit : {0, 1, 5, 99}) {
    CAPTURE(limit);
    InjectedDiskFull disk_full(limit);
    CHECK_THROWS_WITH_AS(write_file_atomically(path, std::string(100, 'x')),
                         (path + ": cannot write: No space left on device").c_str(), FileWriteError);
    CHECK(read_file(path) == "old");
    CHECK(names_in(dir.path) == std::set<std::string>{"a.txt"});
  }
  SUBCASE("the failure says which step failed and where the temporary file was") {
    InjectedDiskFull disk_full(2);
    try {
      write_file_atomically(path, "new");
      FAIL("no error");
    } catch (const FileWriteError& e) {
      CHECK(e.path == path);
      CHECK(e.temp_path.rfind(path + ".tmp.", 0) == 0);
      CHECK(std::string(e.step_name()) == "write");
      CHECK(e.err == ENOSPC);
    }
  }
  SUBCASE("a folder that does not exist fails at create, naming the file") {
    CHECK_THROWS_WITH_AS(write_file_atomically(dir / "nowhere/b.txt", "x"),
                         (dir / "nowhere/b.txt: cannot write: No such file or directory").c_str(), FileWriteError);
  }
  SUBCASE("the seam ends with its scope") {
    { InjectedDiskFull disk_full(0); }
    write_file_atomically(path, "new");
    CHECK(read_file(path) == "new");
  }
}

TEST_CASE("an AtomicFile dropped before commit leaves the target as it was") {
  TempDir dir("atomic_drop");
  const std::string path = dir / "a.txt";
  write_file_atomically(path, "old");
  {
    AtomicFile file(path);
    file.write("half of a new ");
    CHECK(has_temp_files(dir.path));
  }
  CHECK(read_file(path) == "old");
  CHECK_FALSE(has_temp_files(dir.path));
}

TEST_CASE("every kind of file the project writes goes through the one writer and its seam") {
  struct Kind {
    std::string name;
    std::string file;  // relative to the folder
    std::function<void(const std::string& dir)> write;
  };
  const std::vector<uint8_t> pixels(8 * 8 * 3, 100);
  Image image;
  image.width = image.height = 8;
  image.channels = 3;
  image.pixels.assign(8 * 8 * 3, 0.5f);
  const std::vector<float> map(8 * 8, 0.25f);
  const std::vector<Kind> kinds = {
      {"text (summary.json, config.json, CSV, SVG, ONNX)", "a.json",
       [](const std::string& d) { write_file_atomically(d + "/a.json", "{\"status\": \"finished\"}\n"); }},
      {"checkpoint (model.gnm, last.gnm)", "model.gnm",
       [](const std::string& d) {
         CheckpointFile f;
         f.config = {{"a", 1}};
         save_checkpoint(d + "/model.gnm", f);
       }},
      {"PNG", "a.png", [&](const std::string& d) { write_png(d + "/a.png", 8, 8, 3, pixels.data()); }},
      {"BMP", "a.bmp", [&](const std::string& d) { write_image(d + "/a.bmp", 8, 8, 3, pixels.data()); }},
      {"JPEG", "a.jpg", [&](const std::string& d) { write_image(d + "/a.jpg", 8, 8, 3, pixels.data()); }},
      {"anomaly map and overlay", "a_map.png",
       [&](const std::string& d) { write_map_files(d, "a", image, map.data(), 0.5f, "residual_nn"); }},
      {"report", "report.html", [](const std::string& d) { write_report(d, ReportInputs{}); }},
      {"VisA split file", "split_csv/1cls.csv",
       [](const std::string& d) {
         SynthOptions o;
         o.layout = "visa", o.category = "candle", o.out = d, o.size = 32, o.train = 1, o.test_good = 1,
         o.test_bad = 0, o.overwrite = true;
         write_synthetic_dataset(o);
       }},
  };
  for (const Kind& kind : kinds) {
    CAPTURE(kind.name);
    TempDir good("atomic_kind");
    kind.write(good.path.string());
    const std::string bytes = read_file(good / kind.file);
    CHECK_FALSE(bytes.empty());
    CHECK_FALSE(has_temp_files(good.path));

    // The same write with the disk "full" after 10 bytes of any file: it fails, and the
    // file already there is untouched.
    TempDir full("atomic_kind_full");
    fs::create_directories(fs::path(full / kind.file).parent_path());
    write_file_atomically(full / kind.file, "old");
    {
      InjectedDiskFull disk_full(10);
      CHECK_THROWS_AS(kind.write(full.path.string()), Error);
    }
    CHECK(read_file(full / kind.file) == "old");
    CHECK_FALSE(has_temp_files(full.path));
    // And without the fault the same bytes as before.
    kind.write(full.path.string());
    CHECK(read_file(full / kind.file) == bytes);
  }
}
