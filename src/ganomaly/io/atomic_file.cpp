#include "ganomaly/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
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

}  // namespace

FileWriteError::FileWriteError(const std::string& path, const std::string& temp_path, Step step, int err)
    : Error(str(path, ": cannot write: ", std::strerror(err))),
      path(path),
      temp_path(temp_path),
      step(step),
      err(err) {}

const char* FileWriteError::step_name() const {
  switch (step) {
    case Step::create: return "create";
    case Step::write: return "write";
    case Step::flush: return "flush";
    case Step::fsync: return "fsync";
    case Step::close: return "close";
    case Step::rename: return "rename";
  }
  return "write";
}

AtomicFile::AtomicFile(const std::string& path)
    : path_(path),
      temp_path_(path + ".tmp." + std::to_string(::getpid())),
      fail_after_bytes_(injected_fail_after_bytes.load()) {
  file_ = std::fopen(temp_path_.c_str(), "wb");
  if (!file_) throw FileWriteError(path_, temp_path_, FileWriteError::Step::create, errno);
}

AtomicFile::~AtomicFile() {
  if (file_) {
    std::fclose(file_);
    std::remove(temp_path_.c_str());
  }
}

void AtomicFile::fail(FileWriteError::Step step, int err) {
  if (file_) std::fclose(file_);
  file_ = nullptr;
  std::remove(temp_path_.c_str());
  throw FileWriteError(path_, temp_path_, step, err ? err : EIO);
}

void AtomicFile::write(const void* data, size_t n) {
  GANOMALY_CHECK(file_, path_, ": write after commit");
  size_t allowed = n;
  if (fail_after_bytes_ >= 0)
    allowed = size_t(std::max<int64_t>(0, std::min<int64_t>(int64_t(n), fail_after_bytes_ - written_)));
  if (allowed > 0 && std::fwrite(data, 1, allowed, file_) != allowed) fail(FileWriteError::Step::write, errno);
  written_ += int64_t(allowed);
  if (allowed < n) fail(FileWriteError::Step::write, ENOSPC);  // the injected full disk
}

void AtomicFile::commit() {
  GANOMALY_CHECK(file_, path_, ": committed twice");
  if (std::fflush(file_) != 0) fail(FileWriteError::Step::flush, errno);
  if (::fsync(fileno(file_)) != 0) fail(FileWriteError::Step::fsync, errno);
  const int closed = std::fclose(file_);
  file_ = nullptr;
  if (closed != 0) fail(FileWriteError::Step::close, errno);
  if (std::rename(temp_path_.c_str(), path_.c_str()) != 0) fail(FileWriteError::Step::rename, errno);
  sync_folder_of(path_);
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
  AtomicFile file(path);
  file.write(bytes);
  file.commit();
}

InjectedDiskFull::InjectedDiskFull(int64_t bytes) { injected_fail_after_bytes = bytes; }
InjectedDiskFull::~InjectedDiskFull() { injected_fail_after_bytes = -1; }

}  // namespace gan
