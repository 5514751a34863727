#pragma once
// The one way the project writes a file. The bytes go to "<path>.tmp.<pid>" in the
// target's folder, which is flushed, fsynced and renamed over <path>; then the folder is
// fsynced, so the rename survives a power cut too. A reader sees the old file or the new
// one, never a part of one; a failure removes the temporary file and leaves <path> as it
// was. (remove_stale_temporaries, train/run_folder.h, clears what a killed process left.)
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "tensor/check.h"

namespace gan {

// A failed atomic write. what() is "<path>: cannot write: <strerror>"; a writer with its
// own wording (save_checkpoint) builds it from the parts.
struct FileWriteError : Error {
  enum class Step { create, write, flush, fsync, close, rename };
  FileWriteError(const std::string& path, const std::string& temp_path, Step step, int err);
  const char* step_name() const;  // "create", "write", "flush", "fsync", "close", "rename"

  std::string path, temp_path;
  Step step;
  int err;  // errno
};

// Streams a file into place: write() as often as needed, then commit(). Destroyed
// without commit() (a failure, an exception), it removes its temporary file.
class AtomicFile {
 public:
  explicit AtomicFile(const std::string& path);  // creates the temporary file
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t n);
  void write(const std::string& bytes) { write(bytes.data(), bytes.size()); }
  // Flush, fsync, close, rename over the target, fsync the folder.
  void commit();

 private:
  [[noreturn]] void fail(FileWriteError::Step step, int err);

  std::string path_, temp_path_;
  std::FILE* file_ = nullptr;
  int64_t written_ = 0;
  int64_t fail_after_bytes_ = -1;  // InjectedDiskFull's limit when the file was opened
};

// The whole of `bytes` (text or binary) as the file at `path`, through AtomicFile.
void write_file_atomically(const std::string& path, const std::string& bytes);

// Test seam for a full disk, the one every writer goes through: while one lives, each
// AtomicFile opened fails with ENOSPC ("No space left on device") once `bytes` bytes of
// it are written, as a full disk would. Process-wide; they do not nest.
class InjectedDiskFull {
 public:
  explicit InjectedDiskFull(int64_t bytes);
  ~InjectedDiskFull();
  InjectedDiskFull(const InjectedDiskFull&) = delete;
  InjectedDiskFull& operator=(const InjectedDiskFull&) = delete;
};

}  // namespace gan
