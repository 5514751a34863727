#include "ganomaly/io/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <climits>
#include <cstdlib>
#include <filesystem>

namespace gan {

namespace {

std::atomic<int64_t> injected_fail_after_bytes{-1};

// Makes the rename itself durable; best effort, since the data is already safe.
void sync_folder_of(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const int fd = ::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// The file a write to `path` must replace: `path` with its symbolic links followed, so that
// the link stays a link and the file it names gets the bytes.
std::string followed_links(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return path;
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved)) return resolved;
  // A dangling link: the path it points to, one link at a time (relative to its folder).
  namespace fs = std::filesystem;
  fs::path at = path;
  for (int hops = 0; hops < 40; ++hops) {  // Linux's own limit (MAXSYMLINKS)
    std::error_code ec;
    const fs::path next = fs::read_symlink(at, ec);
    if (ec) throw FileWriteError(path, "", FileWriteError::Step::create, ec.value());
    at = next.is_absolute() ? next : at.parent_path() / next;
    if (::lstat(at.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return at.string();
  }
  throw FileWriteError(path, "", FileWriteError::Step::create, ELOOP);
}

// All of `n` bytes to `fd`. A reader that went away is EPIPE, not a SIGPIPE that kills
// the process: the signal is blocked in this thread meanwhile and consumed if raised.
int write_fully(int fd, const char* bytes, size_t n) {
  sigset_t pipe_signal, old_mask, pending;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_signal, &old_mask);
  sigpending(&pending);
  const bool was_pending = sigismember(&pending, SIGPIPE);
  int err = 0;
  while (n > 0) {
    const ssize_t w = ::write(fd, bytes, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      err = errno;
      break;
    }
    bytes += w, n -= size_t(w);
  }
  if (err == EPIPE && !was_pending) {
    const timespec no_wait{};
    sigtimedwait(&pipe_signal, nullptr, &no_wait);
  }
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  return err;
}

}  // namespace

FileWriteError::FileWriteError(const std::string& path, const std::string& temp_path, Step step, int err,
                               const std::string& reason)
    : Error(str(path, ": cannot write: ", reason.empty() ? std::strerror(err) : reason)),
      path(path),
      temp_path(temp_path),
      step(step),
      err(err),
      reason(reason) {}

const char* FileWriteError::step_name() const {
  switch (step) {
    case Step::create: return "create";
    case Step::open: return "open";
    case Step::write: return "write";
    case Step::flush: return "flush";
    case Step::fsync: return "fsync";
    case Step::close: return "close";
    case Step::rename: return "rename";
  }
  return "write";
}

AtomicFile::AtomicFile(const std::string& path)
    : path_(path), fail_after_bytes_(injected_fail_after_bytes.load()) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    open_straight_through(st.st_mode);
    return;
  }
  target_path_ = followed_links(path);
  temp_path_ = target_path_ + ".tmp." + std::to_string(::getpid());
  file_ = std::fopen(temp_path_.c_str(), "wb");
  if (!file_) throw FileWriteError(path_, temp_path_, FileWriteError::Step::create, errno);
}

// A device or FIFO already at the path is the destination itself: renaming a file over
// it would destroy it (and a reader would never see the bytes).
void AtomicFile::open_straight_through(unsigned mode) {
  using Step = FileWriteError::Step;
  if (S_ISDIR(mode)) throw FileWriteError(path_, "", Step::open, EISDIR, "a folder, not a file");
  if (S_ISSOCK(mode)) throw FileWriteError(path_, "", Step::open, ENXIO, "a socket, not a file");
  if (!S_ISCHR(mode) && !S_ISFIFO(mode))  // a block device: a whole disk, never ours to write
    throw FileWriteError(path_, "", Step::open, EPERM, "a block device, not a file");
  // Non-blocking, so that a FIFO nobody reads is refused (ENXIO) instead of hanging.
  device_fd_ = ::open(path_.c_str(), O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (device_fd_ < 0 && errno == ENXIO && S_ISFIFO(mode))
    throw FileWriteError(path_, "", Step::open, ENXIO, "a FIFO with no reader");
  if (device_fd_ < 0) throw FileWriteError(path_, "", Step::open, errno);
  // Then blocking again: a full pipe waits for its reader rather than failing with EAGAIN.
  ::fcntl(device_fd_, F_SETFL, ::fcntl(device_fd_, F_GETFL) & ~O_NONBLOCK);
}

AtomicFile::~AtomicFile() {
  if (file_) {
    std::fclose(file_);
    std::remove(temp_path_.c_str());
  }
  if (device_fd_ >= 0) ::close(device_fd_);
}

void AtomicFile::fail(FileWriteError::Step step, int err) {
  if (file_) std::fclose(file_);
  file_ = nullptr;
  if (!temp_path_.empty()) std::remove(temp_path_.c_str());
  if (device_fd_ >= 0) ::close(device_fd_);
  device_fd_ = -1;
  throw FileWriteError(path_, temp_path_, step, err ? err : EIO);
}

void AtomicFile::write(const void* data, size_t n) {
  GANOMALY_CHECK(file_ || device_fd_ >= 0, path_, ": write after commit");
  size_t allowed = n;
  if (fail_after_bytes_ >= 0)
    allowed = size_t(std::max<int64_t>(0, std::min<int64_t>(int64_t(n), fail_after_bytes_ - written_)));
  if (device_fd_ >= 0) {
    if (const int err = write_fully(device_fd_, static_cast<const char*>(data), allowed))
      fail(FileWriteError::Step::write, err);
  } else if (allowed > 0 && std::fwrite(data, 1, allowed, file_) != allowed) {
    fail(FileWriteError::Step::write, errno);
  }
  written_ += int64_t(allowed);
  if (allowed < n) fail(FileWriteError::Step::write, ENOSPC);  // the injected full disk
}

void AtomicFile::commit() {
  GANOMALY_CHECK(file_ || device_fd_ >= 0, path_, ": committed twice");
  if (device_fd_ >= 0) {  // nothing buffered, nothing to make durable, nothing to rename
    const int closed = ::close(device_fd_);
    device_fd_ = -1;
    if (closed != 0) fail(FileWriteError::Step::close, errno);
    return;
  }
  if (std::fflush(file_) != 0) fail(FileWriteError::Step::flush, errno);
  if (::fsync(fileno(file_)) != 0) fail(FileWriteError::Step::fsync, errno);
  const int closed = std::fclose(file_);
  file_ = nullptr;
  if (closed != 0) fail(FileWriteError::Step::close, errno);
  if (std::rename(temp_path_.c_str(), target_path_.c_str()) != 0) fail(FileWriteError::Step::rename, errno);
  sync_folder_of(target_path_);
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
  AtomicFile file(path);
  file.write(bytes);
  file.commit();
}

InjectedDiskFull::InjectedDiskFull(int64_t bytes) { injected_fail_after_bytes = bytes; }
InjectedDiskFull::~InjectedDiskFull() { injected_fail_after_bytes = -1; }

}  // namespace gan
