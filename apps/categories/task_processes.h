#pragma once
// Runs commands as child processes, a fixed number at once (ganomaly_categories --jobs):
// each run in its own process, so runs share nothing but the machine, exactly as the
// tasks of a Slurm job array do.
#include <functional>
#include <string>
#include <vector>

namespace gan {

struct TaskProcess {
  std::vector<std::string> argv;  // argv[0] is the program's path
  std::string log_path;           // its stdout and stderr (created or truncated)
};

struct TaskProcessHooks {
  std::function<void(size_t task)> started;
  std::function<void(size_t task, int exit_code)> finished;  // exit code, or 128 + signal
  std::function<bool()> stop;  // polled: once true, no task starts and the running ones get SIGINT
};

// Runs every task, at most `jobs` at once, in their order; returns once all that started
// have ended. Returns false when `stop` ended the run early (tasks left unstarted).
// Throws when a process cannot be started or a log not opened (the running ones are
// asked to stop and waited for first).
bool run_task_processes(const std::vector<TaskProcess>& tasks, int jobs, const TaskProcessHooks& hooks);

// The last non-empty line of a text file ("" when there is none): a failed task's error.
std::string last_line_of(const std::string& path);

}  // namespace gan
