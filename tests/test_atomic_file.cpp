// The one file writer (io/atomic_file.h): whole files or none, no temporary file left,
// and every kind of file the project writes goes through it and its full-disk seam.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <thread>

#include "ganomaly/data/image.h"
#include "ganomaly/data/synth.h"
#include "ganomaly/io/atomic_file.h"
#include "ganomaly/io/checkpoint_io.h"
#include "ganomaly/io/model_file.h"
#include "ganomaly/io/onnx_export.h"
#include "ganomaly/io/onnx_writer.h"
#include "ganomaly/report/map_files.h"
#include "ganomaly/report/report.h"
#include "support/fixtures.h"
#include "support/run_app.h"

using namespace gan;
using gan::testing::has_temp_files;
using gan::testing::read_file;
using gan::testing::run_app;
using gan::testing::TempDir;
namespace fs = std::filesystem;

namespace {

std::set<std::string> names_in(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    names.insert(entry.path().lexically_relative(dir).string());  // a link named, not followed
  return names;
}

// Everything a FIFO's reader gets while `write` runs on another thread: the read end is
// opened first (non-blocking, so that the writer finds a reader), then read until the
// writer is done and the pipe is empty, or 10 s pass.
std::string read_fifo_while(const std::string& fifo, const std::function<void()>& write, size_t stop_after = SIZE_MAX) {
  const int fd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  REQUIRE(fd >= 0);
  std::atomic<bool> done{false};
  std::thread writer([&] {
    write();
    done = true;
  });
  std::string got;
  char buffer[65536];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline && got.size() < stop_after) {
    const bool finished = done;  // read before the pipe: what the writer wrote is in it by then
    pollfd p{fd, POLLIN, 0};
    ::poll(&p, 1, 10);
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n > 0) got.append(buffer, size_t(n));
    else if (finished) break;
  }
  ::close(fd);  // a writer still writing now gets EPIPE
  writer.join();
  return got;
}

std::string q(const std::string& s) { return "'" + s + "'"; }  // no test path has a quote in it

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

TEST_CASE("a symbolic link is followed: the file it names is replaced, the link stays a link") {
  TempDir dir("atomic_link");
  fs::create_directories(dir / "real");
  write_file_atomically(dir / "real/a.txt", "old");
  fs::create_symlink("real/a.txt", dir / "link.txt");
  write_file_atomically(dir / "link.txt", "new");
  CHECK(fs::is_symlink(dir / "link.txt"));
  CHECK(fs::read_symlink(dir / "link.txt") == "real/a.txt");
  CHECK(read_file(dir / "real/a.txt") == "new");
  CHECK_FALSE(has_temp_files(dir.path));
  SUBCASE("a chain of links, the last one dangling: the file is made where the chain points") {
    fs::create_symlink("link2.txt", dir / "link1.txt");
    fs::create_symlink("real/b.txt", dir / "link2.txt");
    write_file_atomically(dir / "link1.txt", "made");
    CHECK(fs::is_symlink(dir / "link1.txt"));
    CHECK(fs::is_symlink(dir / "link2.txt"));
    CHECK(read_file(dir / "real/b.txt") == "made");
  }
  SUBCASE("a loop of links is refused, naming the path") {
    fs::create_symlink("loop2", dir / "loop1");
    fs::create_symlink("loop1", dir / "loop2");
    CHECK_THROWS_WITH_AS(write_file_atomically(dir / "loop1", "x"),
                         (dir / "loop1: cannot write: Too many levels of symbolic links").c_str(), FileWriteError);
    CHECK(fs::is_symlink(dir / "loop1"));
  }
  SUBCASE("a failed write through a link leaves the file it names as it was") {
    InjectedDiskFull disk_full(1);
    CHECK_THROWS_AS(write_file_atomically(dir / "link.txt", "newer"), FileWriteError);
    CHECK(read_file(dir / "real/a.txt") == "new");
    CHECK_FALSE(has_temp_files(dir.path));
  }
}

TEST_CASE("a character device is written straight through and stays a device") {
  // /dev/null is writable for every user; a rename over it would need root and destroy it.
  write_file_atomically("/dev/null", "bytes for nobody");
  struct stat st;
  REQUIRE(::stat("/dev/null", &st) == 0);
  CHECK(S_ISCHR(st.st_mode));
  CHECK_FALSE(fs::exists("/dev/null.tmp." + std::to_string(::getpid())));
  // A device that fails a write says so: /dev/full is always full.
  if (fs::exists("/dev/full")) {
    CHECK_THROWS_WITH_AS(write_file_atomically("/dev/full", "x"), "/dev/full: cannot write: No space left on device",
                         FileWriteError);
    REQUIRE(::stat("/dev/full", &st) == 0);
    CHECK(S_ISCHR(st.st_mode));
  }
}

TEST_CASE("a FIFO is written straight through to its reader, and refused when none reads") {
  TempDir dir("atomic_fifo");
  const std::string fifo = dir / "pipe";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  SUBCASE("no reader: refused at once, not waited on") {
    CHECK_THROWS_WITH_AS(write_file_atomically(fifo, "x"), (fifo + ": cannot write: a FIFO with no reader").c_str(),
                         FileWriteError);
  }
  SUBCASE("a reader gets every byte, more than the pipe holds at once") {
    std::string bytes(300000, '\0');
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = char(i * 7 % 251);
    CHECK(read_fifo_while(fifo, [&] { write_file_atomically(fifo, bytes); }) == bytes);
  }
  SUBCASE("a reader that goes away is an error, not a SIGPIPE that ends the process") {
    std::string error;
    read_fifo_while(
        fifo,
        [&] {
          try {
            write_file_atomically(fifo, std::string(4 << 20, 'x'));
          } catch (const FileWriteError& e) {
            error = e.what();
          }
        },
        /*stop_after=*/1);
    CHECK(error == fifo + ": cannot write: Broken pipe");
  }
  struct stat st;
  REQUIRE(::stat(fifo.c_str(), &st) == 0);
  CHECK(S_ISFIFO(st.st_mode));
  CHECK(names_in(dir.path) == std::set<std::string>{"pipe"});
}

TEST_CASE("a folder or a socket at the path is refused, and left as it was") {
  TempDir dir("atomic_refused");
  fs::create_directories(dir / "folder");
  CHECK_THROWS_WITH_AS(write_file_atomically(dir / "folder", "x"),
                       (dir / "folder: cannot write: a folder, not a file").c_str(), FileWriteError);
  CHECK(fs::is_directory(dir / "folder"));
  fs::create_symlink("folder", dir / "link");
  CHECK_THROWS_WITH_AS(write_file_atomically(dir / "link", "x"),
                       (dir / "link: cannot write: a folder, not a file").c_str(), FileWriteError);

  const std::string socket_path = dir / "sock";
  const int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(s >= 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  REQUIRE(socket_path.size() < sizeof address.sun_path);
  std::copy(socket_path.begin(), socket_path.end(), address.sun_path);
  REQUIRE(::bind(s, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  CHECK_THROWS_WITH_AS(write_file_atomically(socket_path, "x"),
                       (socket_path + ": cannot write: a socket, not a file").c_str(), FileWriteError);
  CHECK(fs::is_socket(socket_path));
  ::close(s);
  CHECK(names_in(dir.path) == std::set<std::string>{"folder", "link", "sock"});
  // save_checkpoint words it its own way, from the same parts.
  CHECK_THROWS_WITH_AS(save_checkpoint(dir / "folder", CheckpointFile{}),
                       ("save_checkpoint: cannot write " + (dir / "folder") + ": a folder, not a file").c_str(), Error);
}

TEST_CASE("ganomaly_export and ganomaly_baseline --json: a link, a device and a FIFO get the bytes and stay what they were") {
  TempDir dir("atomic_apps");
  Ganomaly model(testing::tiny_model_config(), Recipe::of(RecipeName::paper), 7);
  Calibration calibration;
  calibration.score = Score::latent;
  const std::string model_path = dir / "model.gnm";
  save_model(model_path, model, calibration, nlohmann::json::object());
  LoadedModel loaded = load_model(model_path);
  const std::string onnx_bytes = onnx::encode(build_onnx_model(*loaded.model, loaded.calibration));
  SUBCASE("export to /dev/stdout: the ONNX bytes on standard output, then the summary line") {
    const auto r = run_app("ganomaly_export", q(model_path) + " /dev/stdout");
    CHECK(r.exit_code == 0);
    CHECK(r.output.substr(0, onnx_bytes.size()) == onnx_bytes);
    CHECK(r.output.find("/dev/stdout: ", onnx_bytes.size()) == onnx_bytes.size());
    CHECK(fs::is_symlink("/dev/stdout"));
  }
  SUBCASE("export through a dangling link: the link stays, the file appears where it points") {
    fs::create_directories(dir / "real");
    fs::create_symlink("real/m.onnx", dir / "link.onnx");
    const auto r = run_app("ganomaly_export", q(model_path) + " " + q(dir / "link.onnx"));
    CHECK_MESSAGE(r.exit_code == 0, r.output);
    CHECK(fs::is_symlink(dir / "link.onnx"));
    CHECK(read_file(dir / "real/m.onnx") == onnx_bytes);
  }
  SUBCASE("baseline --json to /dev/null and to a FIFO") {
    const std::string data = testing::write_tiny_dataset("atomic_apps_data");
    const std::string args = q(data) + " --image-size 32 --threads 2 --json ";
    const auto r = run_app("ganomaly_baseline", args + "/dev/null");
    CHECK_MESSAGE(r.exit_code == 0, r.output);
    struct stat st;
    REQUIRE(::stat("/dev/null", &st) == 0);
    CHECK(S_ISCHR(st.st_mode));

    const std::string fifo = dir / "floors.pipe";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    int exit_code = -1;
    const std::string got = read_fifo_while(fifo, [&] { exit_code = run_app("ganomaly_baseline", args + q(fifo)).exit_code; });
    CHECK(exit_code == 0);
    CHECK(nlohmann::json::parse(got, nullptr, false).value("image_size", 0) == 32);
    REQUIRE(::stat(fifo.c_str(), &st) == 0);
    CHECK(S_ISFIFO(st.st_mode));
    fs::remove_all(fs::path(data).parent_path());
  }
}
