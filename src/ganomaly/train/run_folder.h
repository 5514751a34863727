#pragma once
// The output folder of one training run (--out): locked for the run, cleaned of what a
// killed run left behind, and the per-epoch log (train_log.jsonl).
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace gan {

// An exclusive lock on the output folder for the whole run, so that a second training
// into the same --out fails at once instead of mixing its files with the first's. flock
// on the folder itself: nothing is left behind, and the kernel drops it when the process
// dies, however it dies.
class FolderLock {
 public:
  explicit FolderLock(const std::string& dir);
  ~FolderLock();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_;
};

// Removes "<name>.tmp.<pid>" files of processes that are gone (a write cut short by
// SIGKILL or a power loss; they are never read). Returns a note for each.
std::vector<std::string> remove_stale_temporaries(const std::string& dir);

// On resume, the log keeps the epochs the checkpoint has finished: a run killed after
// logging an epoch but before saving last.gnm would otherwise log that epoch twice.
// Returns a note when lines were dropped, else "".
std::string truncate_log(const std::string& path, int epochs_done);

// A run resumed into another folder starts its log with the checkpoint's epochs, taken
// from the checkpoint's folder (`from`): `to` is replaced by them (empty when `from` is
// missing), so an earlier run's log there is not appended to. Returns a note.
std::string carry_log(const std::string& from, const std::string& to, int epochs_done);

// Whether the folder of `file` is `dir` (by identity, not by spelling).
bool is_in_folder(const std::string& file, const std::string& dir);

// A new run into an old folder: a note naming the earlier run's files it will replace,
// or "" when there are none.
std::string earlier_run_note(const std::string& dir);

// train_log.jsonl: one JSON object per epoch, flushed as it is written; appended to
// when the run resumes.
class TrainLog {
 public:
  TrainLog(const std::string& path, bool append);
  void write(const nlohmann::json& entry);

 private:
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file_;
};

}  // namespace gan
