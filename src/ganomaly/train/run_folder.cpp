#include "ganomaly/train/run_folder.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <utility>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include "ganomaly/io/atomic_file.h"
#include "ganomaly/io/json_text.h"

namespace gan {

FolderLock::FolderLock(const std::string& dir) : fd_(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
  GANOMALY_CHECK(fd_ >= 0, dir, ": cannot open the output folder: ", std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    ::close(fd_);
    if (e == EWOULDBLOCK)
      throw FieldError("out_dir", {str(dir, ": another training is writing into this folder ("), field_ref("out_dir"),
                                   "); wait for it to end or choose another folder"});
    throw Error(str(dir, ": cannot lock the output folder: ", std::strerror(e)));
  }
}

FolderLock::~FolderLock() { ::close(fd_); }

std::vector<std::string> remove_stale_temporaries(const std::string& dir) {
  std::vector<std::string> notes;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    const size_t at = name.rfind(".tmp.");
    if (at == std::string::npos || at + 5 >= name.size()) continue;
    const std::string digits = name.substr(at + 5);
    if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 9) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(digits));
    if (pid == getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;  // alive, or not ours to judge
    std::error_code rm;
    if (std::filesystem::remove(entry.path(), rm))
      notes.push_back(str("note: removed ", entry.path().string(), ", left by a run that was killed while writing"));
  }
  return notes;
}

namespace {

// The lines of the log at `path` for epochs 1 to epochs_done, and how many others it has.
std::pair<std::string, int> log_lines_up_to(const std::string& path, int epochs_done) {
  std::ifstream in(path);
  std::string kept, line;
  int dropped = 0;
  while (std::getline(in, line)) {
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.is_object() && j.value("epoch", 0) >= 1 && j.value("epoch", 0) <= epochs_done)
      kept += line + "\n";
    else
      ++dropped;
  }
  return {kept, dropped};
}

}  // namespace

std::string truncate_log(const std::string& path, int epochs_done) {
  const auto [kept, dropped] = log_lines_up_to(path, epochs_done);
  if (!dropped) return "";
  write_file_atomically(path, kept);
  return str("note: ", path, ": dropped ", dropped, " line(s) past epoch ", epochs_done, ", the checkpoint's");
}

std::string carry_log(const std::string& from, const std::string& to, int epochs_done) {
  const bool found = std::filesystem::exists(from);
  write_file_atomically(to, found ? log_lines_up_to(from, epochs_done).first : "");
  if (epochs_done == 0) return "";
  if (!found) return str("note: ", from, " not found: ", to, " starts at epoch ", epochs_done + 1);
  return str("note: ", to, ": epochs 1 to ", epochs_done, " copied from ", from);
}

bool is_in_folder(const std::string& file, const std::string& dir) {
  const std::filesystem::path parent = std::filesystem::path(file).parent_path();
  std::error_code ec;
  return std::filesystem::equivalent(parent.empty() ? "." : parent, dir, ec);
}

std::string earlier_run_note(const std::string& dir) {
  std::string old;
  for (const char* f : {"model.gnm", "last.gnm", "train_log.jsonl", "summary.json", "test_scores.csv", "config.json"})
    if (std::filesystem::exists(dir + "/" + f)) old += str(old.empty() ? "" : ", ", f);
  return old.empty() ? "" : str("note: ", dir, " holds ", old, " of an earlier run; they will be replaced");
}

TrainLog::TrainLog(const std::string& path, bool append)
    : file_(std::fopen(path.c_str(), append ? "ab" : "wb"), &std::fclose) {
  GANOMALY_CHECK(file_, path, ": cannot write");
}

void TrainLog::write(const nlohmann::json& entry) {
  std::fprintf(file_.get(), "%s\n", dump_json(entry).c_str());
  std::fflush(file_.get());
}

}  // namespace gan
