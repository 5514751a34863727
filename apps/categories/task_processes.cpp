#include "categories/task_processes.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <map>
#include <thread>

#include "tensor/check.h"

extern char** environ;

namespace gan {

namespace {

pid_t spawn(const TaskProcess& t) {
  const int log = ::open(t.log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  GANOMALY_CHECK(log >= 0, t.log_path, ": cannot write the task's log: ", std::strerror(errno));
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_addopen(&files, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&files, log, 1);
  posix_spawn_file_actions_adddup2(&files, log, 2);
  std::vector<char*> argv;
  for (const std::string& a : t.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  // Its own process group: a Ctrl-C at the terminal reaches the parent alone, which
  // passes it on once (a second signal would make a child leave without its checkpoint).
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &files, &attr, argv.data(), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&files);
  ::close(log);
  GANOMALY_CHECK(rc == 0, t.argv[0], ": cannot start a task: ", std::strerror(rc));
  return pid;
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace

bool run_task_processes(const std::vector<TaskProcess>& tasks, int jobs, const TaskProcessHooks& hooks) {
  std::map<pid_t, size_t> running;
  size_t next = 0;
  bool stopping = false;
  auto reap = [&](bool block) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, block ? 0 : WNOHANG);
    if (pid <= 0) return false;
    const auto it = running.find(pid);
    if (it == running.end()) return true;  // not ours
    const size_t task = it->second;
    running.erase(it);
    if (hooks.finished) hooks.finished(task, exit_code_of(status));
    return true;
  };
  auto ask_to_stop = [&] {
    if (stopping) return;
    stopping = true;
    for (const auto& [pid, task] : running) ::kill(pid, SIGINT);  // each writes its resumable checkpoint
  };
  try {
    while (next < tasks.size() || !running.empty()) {
      if (!stopping && hooks.stop && hooks.stop()) ask_to_stop();
      while (!stopping && next < tasks.size() && static_cast<int>(running.size()) < jobs) {
        running[spawn(tasks[next])] = next;
        if (hooks.started) hooks.started(next);
        ++next;
      }
      if (running.empty()) break;
      if (!reap(false)) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  } catch (...) {
    ask_to_stop();
    while (!running.empty() && reap(true)) {
    }
    throw;
  }
  return next == tasks.size() && !stopping;
}

std::string last_line_of(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line))
    if (line.find_first_not_of(" \t\r") != std::string::npos) last = line;
  return last;
}

}  // namespace gan
