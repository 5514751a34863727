#pragma once
// The one way the project writes a file. The bytes go to "<path>.tmp.<pid>" in the
// target's folder, which is flushed, fsynced and renamed over <path>; then the folder is
// fsynced, so the rename survives a power cut too. A reader sees the old file or the new
// one, never a part of one; a failure removes the temporary file and leaves <path> as it
// was. (remove_stale_temporaries, train/run_folder.h, clears what a killed process left.)
//
// What is already at <path> decides how it is written, so that nothing but the target's
// bytes is ever replaced:
//   - a regular file, or nothing: as above;
//   - a symbolic link (a chain of them): followed; the file it names is replaced as
//     above, with the temporary file beside it, and the link stays a link (a dangling
//     link: the file is created where the link points);
//   - a character device (/dev/null, a terminal) or a FIFO with a reader: written
//     straight through, nothing renamed (a FIFO with no reader is refused rather than
//     waited on);
//   - a folder, a socket or a block device: refused, nothing written.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "tensor/check.h"

namespace gan {

// A failed atomic write. what() is "<path>: cannot write: <strerror>" (or the refusal's
// `reason`); a writer with its own wording (save_checkpoint) builds it from the parts.
struct FileWriteError : Error {
  enum class Step { create, open, write, flush, fsync, close, rename };
  FileWriteError(const std::string& path, const std::string& temp_path, Step step, int err,
                 const std::string& reason = "");
  // "create", "open" (a device or FIFO written straight through), "write", "flush",
  // "fsync", "close", "rename"
  const char* step_name() const;

  std::string path, temp_path;  // temp_path is empty when there is none (written straight through)
  Step step;
  int err;             // errno
  std::string reason;  // a refused target: "a folder, not a file", ...; empty otherwise
};

// Streams a file into place: write() as often as needed, then commit(). Destroyed
// without commit() (a failure, an exception), it removes its temporary file.
class AtomicFile {
 public:
  // Creates the temporary file, or opens the device or FIFO; throws FileWriteError.
  explicit AtomicFile(const std::string& path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t n);
  void write(const std::string& bytes) { write(bytes.data(), bytes.size()); }
  // Flush, fsync, close, rename over the target, fsync the folder (written straight
  // through: flush and close).
  void commit();

 private:
  [[noreturn]] void fail(FileWriteError::Step step, int err);
  void open_straight_through(unsigned mode);

  std::string path_;         // as the caller named it, for the messages
  std::string target_path_;  // the file renamed over: path_ with its links followed
  std::string temp_path_;    // empty when written straight through
  std::FILE* file_ = nullptr;  // the temporary file
  int device_fd_ = -1;         // the device or FIFO written straight through
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
