// Faults during training and hostile inputs: signals on the real app, a full disk,
// memory that stays flat over epochs, and mutated images and checkpoints.
//
// Everything is tiny (32 px, n_features 8, latent 8, a few images) so the suite stays
// fast on two busy cores. Every app run uses --threads 2 and OMP_NUM_THREADS=2, so
// results compare bitwise.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "../apps/stop_signal.h"
#include "ganomaly/io/atomic_file.h"
#include "ganomaly/io/checkpoint_io.h"
#include "ganomaly/data/image.h"
#include "ganomaly/io/model_file.h"
#include "ganomaly/train/train.h"
#include "support/fixtures.h"
#include "support/run_app.h"
#include "tensor/storage.h"

extern char** environ;

using namespace gan;
namespace fs = std::filesystem;

using gan::testing::has_temp_files;
using gan::testing::read_file;

namespace {

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

int count_lines(const std::string& path) {
  std::ifstream in(path);
  int n = 0;
  for (std::string line; std::getline(in, line);) n += !line.empty();
  return n;
}

// A tiny generated MVTec-layout category (32 px, 20 train -> 16 train + 4 held out,
// 3 good + 3 bad test images), made once per test binary.
const std::string& tiny_category() {
  static const std::string root = testing::write_generated_category("robust_data", 32, 20, 3, 3);
  return root;
}

// A tensor of the generator (G.), its average (E.) or the discriminator (D.) in a model file.
bool is_network_weight(const std::string& name) {
  return name.rfind("G.", 0) == 0 || name.rfind("E.", 0) == 0 || name.rfind("D.", 0) == 0;
}

// Bit for bit the same values.
bool same_values(const Tensor& a, const Tensor& b) {
  return a.numel() == b.numel() && std::memcmp(a.data(), b.data(), a.numel() * sizeof(float)) == 0;
}

// One epoch of testing::tiny_train_options, trained once per test binary and shared (copy before
// changing): its model.gnm and last.gnm.
const std::string& one_epoch_run() {
  static const std::string out = [] {
    const std::string dir = testing::temp_dir("one_epoch");
    train_model(discover_dataset(tiny_category()), testing::tiny_train_options(dir, 1));
    return dir;
  }();
  return out;
}

// The app's options matching testing::tiny_train_options (4 steps an epoch on 16 images).
std::vector<std::string> tiny_args(const std::string& out, int epochs) {
  return {tiny_category(), "--out",      out,  "--epochs",  std::to_string(epochs), "--image-size", "32",
          "--n-features",  "8",          "--latent-size", "8", "--batch-size", "4", "--patience", "0", "--min-steps", "0",
          "--threads",     "2"};
}

// A child process running one of the built apps, its output going to a file.
struct Child {
  pid_t pid = -1;
  std::string log;
};

Child spawn_app(const std::string& app, const std::vector<std::string>& args, const std::string& log) {
  setenv("OMP_NUM_THREADS", "2", 1);
  std::vector<std::string> all = gan::testing::app_command(app);
  const std::string binary = all.front();
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_addopen(&files, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&files, 1, 2);
  // A shell may start tests with SIGINT ignored; the child must get the default.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
  Child c;
  c.log = log;
  const int rc = posix_spawnp(&c.pid, binary.c_str(), &files, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&files);
  posix_spawnattr_destroy(&attr);
  REQUIRE_MESSAGE(rc == 0, "posix_spawn ", binary, ": ", std::strerror(rc));
  return c;
}

struct Finished {
  int exit_code = -1;   // 128 + signal when killed by one
  bool killed = false;  // ended by a signal rather than exit()
  long max_rss_kb = 0;  // peak resident set size of the child
  std::string output;
};

Finished wait_app(const Child& c, int timeout_s = 300) {
  Finished f;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  int status = 0;
  rusage usage{};
  for (;;) {
    const pid_t r = wait4(c.pid, &status, WNOHANG, &usage);
    if (r == c.pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(c.pid, SIGKILL);
      wait4(c.pid, &status, 0, &usage);
      FAIL("the app did not finish within ", timeout_s, " s; output:\n", read_file(c.log));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  f.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  f.killed = !WIFEXITED(status);
  f.max_rss_kb = usage.ru_maxrss;
  f.output = read_file(c.log);
  return f;
}

// Waits until `path` has more than `lines` lines (the app has finished an epoch, so
// it is past install_stop_handlers and training).
void wait_for_lines(const Child& c, const std::string& path, int lines) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (count_lines(path) <= lines) {
    int status;
    REQUIRE_MESSAGE(waitpid(c.pid, &status, WNOHANG) == 0, "the app ended before training started:\n",
                    read_file(c.log));
    REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline, "no epoch after 120 s:\n", read_file(c.log));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// Mutations of a valid file: bit flips, byte overwrites, truncation, insertion,
// deletion and chunk duplication at seeded positions.
std::string mutate(const std::string& in, std::mt19937_64& rng, size_t focus = 0) {
  std::string s = in;
  auto pos = [&](size_t n) -> size_t {
    if (n == 0) return 0;
    if (focus && rng() % 2) return size_t(rng() % std::min(n, focus));  // headers, where parsing happens
    return size_t(rng() % n);
  };
  const int edits = 1 + int(rng() % 3);
  for (int e = 0; e < edits && !s.empty(); ++e) {
    switch (rng() % 7) {
      case 0: s[pos(s.size())] ^= char(1u << (rng() % 8)); break;
      case 1: s[pos(s.size())] = char(rng() % 256); break;
      case 2: s[pos(s.size())] = char((rng() % 2) ? 0xFF : 0x00); break;
      case 3: s.resize(pos(s.size())); break;
      case 4: {
        std::string extra(1 + rng() % 16, '\0');
        for (char& ch : extra) ch = char(rng() % 256);
        s.insert(pos(s.size() + 1), extra);
        break;
      }
      case 5: {
        const size_t at = pos(s.size());
        s.erase(at, 1 + rng() % 16);
        break;
      }
      default: {
        const size_t at = pos(s.size()), len = std::min<size_t>(1 + rng() % 64, s.size() - at);
        s.insert(pos(s.size() + 1), s.substr(at, len));
        break;
      }
    }
  }
  return s;
}

// Rewrites the checkpoint frame (declared size and CRC-32) so that a mutated body gets
// past the frame checks and reaches the body parser.
std::string fix_frame(std::string s) {
  if (s.size() < 8 + 4 + 8 + 4) return s;
  const uint64_t n = s.size();
  for (int i = 0; i < 8; ++i) s[12 + i] = char(uint8_t(n >> (8 * i)));
  const uint32_t crc = checkpoint_io::crc32(s.data(), s.size() - 4);
  for (int i = 0; i < 4; ++i) s[s.size() - 4 + i] = char(uint8_t(crc >> (8 * i)));
  return s;
}

}  // namespace

// ---------------------------------------------------------------------------------
// 1. Signals on the real app
// ---------------------------------------------------------------------------------

TEST_CASE("SIGINT and SIGTERM: exit 130, a resumable last.gnm, and resuming ends bitwise as an uninterrupted run") {
  constexpr int kEpochs = 12;  // a few seconds: long enough to be interrupted twice (after epochs ~1 and ~3)
  const std::string straight = testing::temp_dir("sig_straight"), broken = testing::temp_dir("sig_broken");

  const Finished ref = wait_app(spawn_app("ganomaly_train", tiny_args(straight, kEpochs), straight + ".log"));
  REQUIRE_MESSAGE(ref.exit_code == 0, ref.output);
  REQUIRE(fs::exists(straight + "/test_scores.csv"));

  const std::string log = broken + "/train_log.jsonl", last = broken + "/last.gnm";
  // SIGINT during the first run, SIGTERM during the first resume, then run to the end.
  int resumes = 0;
  for (int sig : {SIGINT, SIGTERM}) {
    CAPTURE(sig);
    std::vector<std::string> args = tiny_args(broken, kEpochs);
    if (resumes) args.insert(args.end(), {"--resume", last});
    const int lines_before = fs::exists(log) ? count_lines(log) : 0;
    const Child c = spawn_app("ganomaly_train", args, broken + ".log" + std::to_string(resumes));
    wait_for_lines(c, log, lines_before);
    REQUIRE(kill(c.pid, sig) == 0);
    const Finished f = wait_app(c);
    CAPTURE(f.output);
    REQUIRE_MESSAGE(f.exit_code == 130, "expected the run to be interrupted (exit 130); it exited ", f.exit_code);
    CHECK(f.output.find("interrupted: resumable checkpoint " + last + " written; continue with --resume " + last) !=
          std::string::npos);
    CHECK_FALSE(has_temp_files(broken));
    LoadedModel m = load_model(last);
    CHECK_FALSE(m.training.is_null());
    CHECK(m.training.at("epoch").get<int>() < kEpochs);
    CHECK(nlohmann::json::parse(read_file(broken + "/summary.json"))["status"] == "interrupted");
    ++resumes;
  }
  std::vector<std::string> args = tiny_args(broken, kEpochs);
  args.insert(args.end(), {"--resume", last});
  const Finished done = wait_app(spawn_app("ganomaly_train", args, broken + ".log_final"));
  REQUIRE_MESSAGE(done.exit_code == 0, done.output);
  CHECK(done.output.find("resuming " + last) != std::string::npos);
  CHECK(read_file(broken + "/test_scores.csv") == read_file(straight + "/test_scores.csv"));
  CHECK(count_lines(log) == kEpochs);  // one line per epoch, none lost or repeated
  CHECK_FALSE(has_temp_files(broken));
}

TEST_CASE("a second training into the same --out is refused while the first runs; the first is untouched") {
  const std::string out = testing::temp_dir("locked");
  const Child first = spawn_app("ganomaly_train", tiny_args(out, 200), out + ".log");
  wait_for_lines(first, out + "/train_log.jsonl", 0);
  const Finished second = wait_app(spawn_app("ganomaly_train", tiny_args(out, 1), out + ".second.log"));
  CHECK(second.exit_code == 1);
  CHECK(second.output == "ganomaly_train: " + out +
                             ": another training is writing into this folder (--out); wait for it to end or choose "
                             "another folder\n");
  REQUIRE(kill(first.pid, SIGINT) == 0);
  const Finished f = wait_app(first);
  CAPTURE(f.output);
  CHECK(f.exit_code == 130);
  CHECK(f.output.find("ganomaly_train:") == std::string::npos);  // no error in the first run
  CHECK_NOTHROW(load_model(out + "/last.gnm"));
  // One training wrote the log: its epochs run 1, 2, ... without a restart in between.
  std::ifstream log(out + "/train_log.jsonl");
  int expected = 1;
  for (std::string line; std::getline(log, line); ++expected) CHECK(nlohmann::json::parse(line)["epoch"] == expected);
}

TEST_CASE("two quick SIGINTs: a non-zero exit and never a corrupt last.gnm") {
  const std::string out = testing::temp_dir("sig_twice");
  const Child c = spawn_app("ganomaly_train", tiny_args(out, 200), out + ".log");
  wait_for_lines(c, out + "/train_log.jsonl", 0);
  REQUIRE(kill(c.pid, SIGINT) == 0);
  // Sent together, two SIGINTs may merge into one pending signal; a few ms apart, the
  // second one lands while the first is being handled (the step or the checkpoint).
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  kill(c.pid, SIGINT);  // may find the process gone already
  const Finished f = wait_app(c);
  CAPTURE(f.output);
  CHECK(f.exit_code == 130);
  CHECK_FALSE(f.killed);  // it exited, with 130, rather than dying of the signal
  if (fs::exists(out + "/last.gnm")) CHECK_NOTHROW(load_model(out + "/last.gnm"));
  // A second signal in the middle of a write leaves last.gnm.tmp.<pid> behind (the
  // handler calls _exit); last.gnm itself is the previous, complete checkpoint.
  const bool graceful = f.output.find("interrupted: resumable checkpoint") != std::string::npos;
  const std::string how = graceful ? "the two SIGINTs were handled as one (graceful stop)"
                                   : "the second SIGINT ended the run at once";
  MESSAGE(how, std::string(has_temp_files(out) ? "; a *.tmp.* file was left" : ""));
}

TEST_CASE("the stop handler: a first signal asks the loop to stop, a second one exits at once with 130") {
  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {  // the child touches only the handler, a pipe and _exit
    close(pipe_fds[0]);
    app::install_stop_handlers();
    raise(SIGINT);
    const char first = app::g_stop_requested.load() ? 'S' : 'N';  // stop requested, the process still running
    if (write(pipe_fds[1], &first, 1) != 1) _exit(4);
    raise(SIGTERM);
    const char after = 'X';  // reached only when the second signal did not end the process
    if (write(pipe_fds[1], &after, 1) != 1) _exit(5);
    _exit(0);
  }
  close(pipe_fds[1]);
  std::string seen;
  char c;
  while (read(pipe_fds[0], &c, 1) == 1) seen += c;
  close(pipe_fds[0]);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  CHECK(seen == "S");
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 130);
}

TEST_CASE("model.gnm is the best epoch's model: a worse epoch never replaces it") {
  const Dataset data = discover_dataset(tiny_category());
  const std::string out = testing::temp_dir("best_kept");
  constexpr int kEpochs = 6;
  // Either selection rule: strictly better only, or the latest epoch within a tolerance
  // of the best so far (the default). "Worse" is then: below the best by more than that.
  double tolerance = 0;
  SUBCASE("strictly better only") { tolerance = 0; }
  SUBCASE("within a tolerance of the best so far (the default rule)") { tolerance = 0.02; }
  CAPTURE(tolerance);
  TrainOptions options = testing::tiny_train_options(out, kEpochs);
  options.selection_tolerance = tolerance;
  // The log's AUROCs are compared across epochs: on one validation set, never hardened
  // (test_train covers the hardening and the kept model's re-measurement).
  options.harden_at = 0;
  const nlohmann::json summary = train_model(data, options).summary;
  REQUIRE(summary["status"] == "completed");

  // The log: each epoch's best_epoch is the last epoch accepted by that rule so far.
  std::ifstream log(out + "/train_log.jsonl");
  double best_metric = -1;
  int best_epoch = 0, epochs = 0, worse_after_best = 0;
  for (std::string line; std::getline(log, line);) {
    const nlohmann::json e = nlohmann::json::parse(line);
    const double metric = e["selection_auroc"].get<double>();
    ++epochs;
    if (tolerance > 0 ? metric > best_metric - tolerance : metric > best_metric)
      best_metric = std::max(best_metric, metric), best_epoch = epochs;
    worse_after_best += epochs > best_epoch;
    CAPTURE(epochs);
    CHECK(e["best_epoch"].get<int>() == best_epoch);
  }
  REQUIRE(epochs == kEpochs);
  CHECK(summary["best_epoch"].get<int>() == best_epoch);

  // model.gnm holds the best weights that last.gnm carries as best.*; when a later epoch
  // was worse, last.gnm's current weights differ from them.
  const LoadedModel model = load_model(out + "/model.gnm"), last = load_model(out + "/last.gnm");
  std::map<std::string, const Tensor*> last_tensors;
  for (const auto& [name, t] : last.tensors) last_tensors[name] = &t;
  int compared = 0, differ_from_current = 0;
  for (const auto& named : model.tensors) {  // not a structured binding: clang 14 cannot capture one
    const std::string& name = named.first;
    const Tensor& t = named.second;
    // The networks' weights only: the statistics fitted on the training images (R., N.,
    // I., and P. when photometric normalisation is chosen) are refitted after training.
    if (!is_network_weight(name)) continue;
    CAPTURE(name);
    REQUIRE(last_tensors.count("best." + name));
    CHECK(same_values(t, *last_tensors["best." + name]));
    if (last_tensors.count(name)) differ_from_current += !same_values(t, *last_tensors[name]);
    ++compared;
  }
  CHECK(compared > 0);
  if (worse_after_best > 0)
    CHECK(differ_from_current > 0);
  else
    WARN_MESSAGE(false, "the last epoch was the best: nothing to compare against a worse one");
  MESSAGE("best epoch ", best_epoch, " of ", kEpochs, "; ", worse_after_best, " worse epoch(s) after it");
}

// ---------------------------------------------------------------------------------
// 2. Disk full
// ---------------------------------------------------------------------------------

TEST_CASE("disk full while saving: train_model throws naming the file, the previous checkpoints stay intact") {
  const Dataset data = discover_dataset(tiny_category());
  const std::string out = testing::temp_dir("disk_full");
  fs::copy(one_epoch_run(), out, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  const std::string model = out + "/model.gnm", last = out + "/last.gnm";
  const std::string model_bytes = read_file(model), last_bytes = read_file(last);
  REQUIRE(model_bytes.size() > 1000);
  REQUIRE(last_bytes.size() > model_bytes.size() + 1000);

  struct Case {
    int64_t limit;
    std::string failing;  // the file whose write fails
  };
  // 1000 bytes: the first save of the new run (model.gnm, epoch 1) fails half-way.
  // model.gnm's size + 100: model.gnm is written, then last.gnm fails.
  for (const Case& k : {Case{1000, model}, Case{int64_t(model_bytes.size()) + 100, last}}) {
    CAPTURE(k.limit);
    std::string err;
    try {
      InjectedDiskFull disk_full(k.limit);
      train_model(data, testing::tiny_train_options(out, 2));
    } catch (const Error& e) {
      err = e.what();
    }
    CHECK(err == "save_checkpoint: cannot write " + k.failing + ": write failed: No space left on device (" +
                     k.failing + " left as it was)");
    CHECK_FALSE(has_temp_files(out));
    if (k.failing == model) CHECK(read_file(model) == model_bytes);
    CHECK(read_file(last) == last_bytes);
    CHECK_NOTHROW(load_model(model));
    CHECK_NOTHROW(load_model(last));
  }
}

namespace {
// A tmpfs of `bytes` mounted on a fresh folder, unmounted when done; empty path when
// mounting is not allowed here (not root, no CAP_SYS_ADMIN, a restricted container).
struct SmallDisk {
  std::string path;
  explicit SmallDisk(size_t bytes) {
    const std::string dir = testing::temp_dir("tmpfs");
    const std::string opts = "size=" + std::to_string(bytes);
    if (::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, opts.c_str()) == 0) path = dir;
  }
  ~SmallDisk() {
    if (!path.empty()) ::umount2(path.c_str(), MNT_DETACH);
  }
};
}  // namespace

TEST_CASE("a real full disk (a small tmpfs): the error names last.gnm, model.gnm still loads, no temp file") {
  const Dataset data = discover_dataset(tiny_category());
  const std::string& probe = one_epoch_run();
  const size_t model_size = fs::file_size(probe + "/model.gnm"), last_size = fs::file_size(probe + "/last.gnm");
  // Room for model.gnm (whole pages), the log and half of last.gnm.
  const size_t page = 4096, room = (model_size + page - 1) / page * page + 4 * page + last_size / 2;
  REQUIRE(last_size / 2 > 4 * page);
  SmallDisk disk(room);
  if (disk.path.empty()) {
    MESSAGE("skipped: cannot mount a tmpfs here (", std::strerror(errno), ")");
    return;
  }
  const std::string out = disk.path + "/run";
  std::string err;
  try {
    train_model(data, testing::tiny_train_options(out, 2));
  } catch (const Error& e) {
    err = e.what();
  }
  CAPTURE(err);
  CHECK(err.find("save_checkpoint: cannot write " + out + "/last.gnm: ") == 0);
  CHECK(err.find("No space left on device") != std::string::npos);
  CHECK_FALSE(has_temp_files(out));
  CHECK_NOTHROW(load_model(out + "/model.gnm"));
  // Same seed, same epoch 1: the same networks (the probe's run went on to choose the
  // photometric normalisation and the map, which may refit the statistics and save again).
  const LoadedModel written = load_model(out + "/model.gnm"), probe_model = load_model(probe + "/model.gnm");
  std::map<std::string, const Tensor*> probe_tensors;
  for (const auto& [name, t] : probe_model.tensors) probe_tensors[name] = &t;
  int networks = 0;
  for (const auto& named : written.tensors) {
    if (!is_network_weight(named.first)) continue;
    CAPTURE(named.first);
    REQUIRE(probe_tensors.count(named.first));
    CHECK(same_values(named.second, *probe_tensors[named.first]));
    ++networks;
  }
  CHECK(networks > 0);
  CHECK_FALSE(fs::exists(out + "/last.gnm"));
}

// ---------------------------------------------------------------------------------
// 3. Memory stays flat
// ---------------------------------------------------------------------------------

TEST_CASE("ganomaly_infer streams: peak RSS of 100 vs 1600 images is the same") {
  // Decoding every image into one tensor first would take 1600 x 3 x 32 x 32 floats
  // (19.7 MB) more for 1600 images than for 100; in batches of 32 it takes nothing more.
  // The bound, 6 MB, sits between that and malloc's noise.
  const testing::TinyRun run = testing::train_tiny_run("infer_rss");
  const std::string png = run.data + "/test/good/000.png";
  REQUIRE(fs::exists(png));
  std::vector<long> peak_kb;
  for (int n : {100, 1600}) {
    const std::string dir = testing::temp_dir("infer_rss_images");
    for (int i = 0; i < n; ++i) fs::copy_file(png, dir + "/" + std::to_string(i) + ".png");
    const Finished f = wait_app(spawn_app("ganomaly_infer", {run.out + "/model.gnm", dir, "--threads", "2"}, dir + ".log"));
    REQUIRE_MESSAGE(f.exit_code == 0, f.output.substr(0, 2000));
    CHECK(count_lines(dir + ".log") == n);
    peak_kb.push_back(f.max_rss_kb);
    fs::remove_all(dir);
  }
  MESSAGE("peak RSS: 100 images ", peak_kb[0], " kB, 1600 images ", peak_kb[1], " kB");
  CHECK(peak_kb[1] - peak_kb[0] < 6 * 1024);
}

TEST_CASE("memory stays flat over epochs: peak RSS of 2 vs 8 epochs, and the tensor pool") {
  // Peak RSS of the real app, measured by the kernel (wait4's ru_maxrss), for 2 and 8
  // epochs. Everything an epoch allocates is freed or reused by the next one, so the
  // peak is reached in the first epochs. A leak of one model's weights per epoch
  // (n_features 16: 1.5 MB of model.gnm) would add 9 MB over the 6 extra epochs;
  // the bound, 3 MB, sits between that and malloc's noise (thread arenas, the JSON log).
  std::vector<long> peak_kb;
  for (int epochs : {2, 8}) {
    const std::string out = testing::temp_dir("rss");
    std::vector<std::string> args = tiny_args(out, epochs);
    args.insert(args.end(), {"--n-features", "16", "--latent-size", "16"});  // the last value wins
    const Finished f = wait_app(spawn_app("ganomaly_train", args, out + ".log"));
    REQUIRE_MESSAGE(f.exit_code == 0, f.output);
    peak_kb.push_back(f.max_rss_kb);
    if (epochs == 8) MESSAGE("model.gnm: ", fs::file_size(out + "/model.gnm"), " bytes");
  }
  MESSAGE("peak RSS: 2 epochs ", peak_kb[0], " kB, 8 epochs ", peak_kb[1], " kB");
  CHECK(peak_kb[1] - peak_kb[0] < 3 * 1024);

  // In process: the caching pool. After train_model nothing it allocated is alive, and
  // once the pool holds what a run needs, a run caches nothing more (a leak would, every
  // run). It takes two runs to get there: each run starts from the buffers the previous
  // one left, and which of them a request reuses first differs, so the second run caches
  // one more buffer (20 KB of 7.4 MB here, whatever the runs' lengths); the third, none.
  // On one thread: with two, the threads' shares of a convolution take and return buffers
  // in whatever order they run (conv.cpp, for_batch_shards), so any run can meet a mix of
  // live buffers no earlier one did and cache one more (seen under ctest -j2: 8.6 -> 9.0
  // MB); the peak RSS above bounds the threaded app.
#ifdef _OPENMP
  const int threads_before = omp_get_max_threads();
  omp_set_num_threads(1);
#endif
  const Dataset data = discover_dataset(tiny_category());
  const size_t baseline = pool::bytes_in_use();
  for (int warmup = 0; warmup < 2; ++warmup)
    train_model(data, testing::tiny_train_options(testing::temp_dir("pool2"), 2));
  CHECK(pool::bytes_in_use() == baseline);
  train_model(data, testing::tiny_train_options(testing::temp_dir("pool8a"), 8));
  CHECK(pool::bytes_in_use() == baseline);
  const size_t cached_after_first = pool::bytes_cached();
  train_model(data, testing::tiny_train_options(testing::temp_dir("pool8b"), 8));
  CHECK(pool::bytes_in_use() == baseline);
  const size_t cached_after_second = pool::bytes_cached();
  MESSAGE("pool: cached after 8 epochs ", cached_after_first, " B, after 8 more ", cached_after_second, " B");
  CHECK(cached_after_second == cached_after_first);
#ifdef _OPENMP
  omp_set_num_threads(threads_before);
#endif
}

// ---------------------------------------------------------------------------------
// 4. Mutated inputs: every load succeeds or throws gan::Error
// ---------------------------------------------------------------------------------

namespace {
// Loads `bytes` through `load` from a file; counts outcomes. Any exception other than
// gan::Error fails the test with the mutation's index.
struct Outcomes {
  int ok = 0, rejected = 0, unchanged = 0;  // unchanged: the mutation happened to give the valid file back
};

template <typename Load>
void check_mutations(const std::string& name, const std::string& valid, const std::string& path, int count,
                     uint64_t seed, size_t focus, bool frame_fix, Load load, Outcomes& out) {
  std::mt19937_64 rng(seed);
  for (int i = 0; i < count; ++i) {
    std::string bytes = mutate(valid, rng, focus);
    if (frame_fix) bytes = fix_frame(bytes);
    out.unchanged += bytes == valid;
    write_file(path, bytes);
    try {
      load(path);
      ++out.ok;
    } catch (const Error&) {
      ++out.rejected;
    } catch (const std::exception& e) {
      FAIL_CHECK(name, " mutation ", i, " (seed ", seed, "): not a gan::Error: ", std::string(e.what()));
      write_file(path + ".failing." + std::to_string(i), bytes);
    } catch (...) {
      FAIL_CHECK(name, " mutation ", i, " (seed ", seed, "): a non-std exception");
    }
  }
}
}  // namespace

TEST_CASE("mutated PNG, BMP and JPEG files load or throw gan::Error") {
  const std::string dir = testing::temp_dir("mutate_images");
  std::vector<uint8_t> rgb(24 * 16 * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = uint8_t((i * 37) ^ (i >> 3));
  for (const std::string ext : {"png", "bmp", "jpg"}) {
    CAPTURE(ext);
    const std::string valid_path = dir + "/valid." + ext;
    write_image(valid_path, 24, 16, 3, rgb.data());
    REQUIRE_NOTHROW(load_image(valid_path, 3));
    const std::string valid = read_file(valid_path);
    Outcomes o;
    check_mutations(ext, valid, dir + "/m." + std::string(ext), 300, 1234, 128, false,
                    [](const std::string& p) {
                      load_image(p, 3, 1 << 20);
                      load_image(p, 1, 1 << 20);
                    },
                    o);
    MESSAGE(ext, ": ", o.ok, " mutations loaded, ", o.rejected, " rejected with gan::Error");
    CHECK(o.ok + o.rejected == 300);
  }
}

TEST_CASE("mutated checkpoints load or throw gan::Error") {
  const std::string& out = one_epoch_run();
  const std::string dir = testing::temp_dir("mutate_ckpt_files");
  for (const std::string file : {"model.gnm", "last.gnm"}) {
    CAPTURE(file);
    const std::string valid = read_file(out + "/" + file);
    REQUIRE(valid.size() > 1000);
    // Raw mutations: the frame (size, checksum) rejects them.
    Outcomes raw;
    check_mutations(file, valid, dir + "/raw.gnm", 200, 99, 4096, false,
                    [](const std::string& p) { load_checkpoint(p); }, raw);
    CHECK(raw.ok == raw.unchanged);  // the frame rejects every real change
    // The frame rewritten to match: the body parser and load_model see the damage.
    Outcomes fixed;
    check_mutations(file, valid, dir + "/fixed.gnm", 300, 7, 4096, true,
                    [](const std::string& p) { load_checkpoint(p); }, fixed);
    // load_model lets nlohmann::json errors from a damaged training state escape (see
    // the may_fail test below); counted here so that this test stays deterministic.
    Outcomes model;
    int json_escapes = 0;
    check_mutations(file, valid, dir + "/model.gnm", 300, 7, 4096, true,
                    [&json_escapes](const std::string& p) {
                      try {
                        load_model(p);
                      } catch (const nlohmann::json::exception&) {
                        ++json_escapes;
                        throw Error("counted");
                      }
                    },
                    model);
    if (json_escapes) MESSAGE(file, ": ", json_escapes, " mutations made load_model throw a nlohmann::json error");
    MESSAGE(file, ": raw ", raw.rejected, " rejected; frame-fixed: load_checkpoint ", fixed.ok, " ok / ",
            fixed.rejected, " rejected, load_model ", model.ok, " ok / ", model.rejected, " rejected");
  }
}

TEST_CASE("a JPEG Huffman table with more than 256 codes is refused before stb reads it") {
  // stb_image 2.27 writes past its 257-byte tables for such a file (found by
  // tests/fuzz/fuzz_image.cpp); image.cpp refuses it first.
  const std::string dir = testing::temp_dir("jpeg_dht");
  std::vector<uint8_t> rgb(16 * 16 * 3, 128);
  write_image(dir + "/ok.jpg", 16, 16, 3, rgb.data());
  std::string bytes = read_file(dir + "/ok.jpg");
  const size_t dht = bytes.find("\xFF\xC4");
  REQUIRE(dht != std::string::npos);
  for (size_t i = 0; i < 16; ++i) bytes[dht + 5 + i] = char(0xFF);  // 16 x 255 codes
  write_file(dir + "/bad.jpg", bytes);
  CHECK_THROWS_WITH_AS(load_image(dir + "/bad.jpg", 3), doctest::Contains("Huffman table declares 4080 codes"), Error);
  CHECK_THROWS_AS(probe_image(dir + "/bad.jpg"), Error);
  CHECK_NOTHROW(load_image(dir + "/ok.jpg", 3));
}

// A regression test: load_model once read the training state outside its error
// conversion, so a missing key escaped as nlohmann::json::out_of_range.
TEST_CASE("a last.gnm without its training keys fails with gan::Error naming the file") {
  std::string bytes = read_file(one_epoch_run() + "/last.gnm");
  const size_t at = bytes.find("\"model_rng\"");
  REQUIRE(at != std::string::npos);
  bytes[at + 9] = 'X';  // "model_rnX": same length, the rest of the file unchanged
  const std::string path = testing::temp_dir("no_rng") + "/last.gnm";
  write_file(path, fix_frame(bytes));
  REQUIRE_NOTHROW(load_checkpoint(path));
  CHECK_THROWS_WITH_AS(load_model(path), doctest::Contains(path.c_str()), Error);
}

TEST_CASE("every committed fuzz seed and crash input loads or throws gan::Error") {
  // tests/fuzz/corpus holds the seeds of the libFuzzer targets and the inputs that once
  // crashed them (crash-*): here they run through the same loaders in the normal build.
  const fs::path corpus = fs::path(GANOMALY_SOURCE_DIR) / "tests/fuzz/corpus";
  auto files_in = [](const fs::path& dir) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file()) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    return files;
  };
  int images = 0, checkpoints = 0;
  for (const fs::path& f : files_in(corpus / "image")) {
    CAPTURE(f.string());
    for (int channels : {3, 1}) {
      try {
        load_image(f.string(), channels, size_t(1) << 16);
      } catch (const Error& e) {
        CHECK(std::string(e.what()).find(f.string()) != std::string::npos);  // names the file
      }
    }
    ++images;
  }
  // A checkpoint seed is fuzz_checkpoint's input: a mode byte (odd: rewrite the frame),
  // then the file.
  const std::string path = testing::temp_dir("seeds") + "/seed.gnm";
  for (const fs::path& f : files_in(corpus / "checkpoint")) {
    CAPTURE(f.string());
    const std::string input = read_file(f.string());
    REQUIRE(!input.empty());
    std::string bytes = input.substr(1);
    if (input[0] & 1) bytes = fix_frame(bytes);
    write_file(path, bytes);
    try {
      load_model(path);
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find(path) != std::string::npos);
    }
    ++checkpoints;
  }
  CHECK(images >= 3);
  CHECK(checkpoints >= 1);
}
