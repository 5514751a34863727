#pragma once
// How a program's OpenMP threads wait for each other unless the user says otherwise
// (README, "Threads on a shared machine").
//
// libgomp's threads spin for a while at every barrier before they sleep. On a machine
// where another process keeps a core busy, a spinning thread takes CPU time from the very
// thread it waits for, and each of the many parallel regions of a step waits for the
// slowest thread: training at --threads 2 ran 5 times slower than at 1 (README). So the
// apps and the bench wait passively (OMP_WAIT_POLICY=passive) unless OMP_WAIT_POLICY is set.
//
// libgomp reads the variable once, in its initialiser, before main, and the C library
// sets up the environment only after an executable's .preinit_array has run, so no
// setenv can come early enough. Instead the .preinit_array entry below looks at the
// environment it is handed and, when OMP_WAIT_POLICY is missing, runs the program again
// (execve of /proc/self/exe, the same arguments) with OMP_WAIT_POLICY=passive added; the
// second start finds it set and goes on. Where that cannot be done (no /proc), the program
// goes on with libgomp's default. A shared library may not have a .preinit_array, so this
// is a header for executables (apps/app_common.h, bench/), not part of libganomaly or its
// C API: a program embedding the library keeps whatever OMP_WAIT_POLICY it runs with.
#include <alloca.h>
#include <cstdlib>
#include <cstring>

#include <unistd.h>

namespace gan {

namespace thread_defaults_detail {

constexpr char kPassive[] = "OMP_WAIT_POLICY=passive";
// Set by the run that added the variable, so that --version can tell the default from a
// user's choice.
constexpr char kMarker[] = "GANOMALY_WAIT_POLICY_DEFAULT=1";

inline bool has(char** envp, const char* name, size_t length) {
  for (char** e = envp; e && *e; ++e)
    if (std::strncmp(*e, name, length) == 0 && (*e)[length] == '=') return true;
  return false;
}

// Runs before the C library's own initialisation: only the arguments, the environment
// as handed over, the stack and system calls.
inline void wait_passively_unless_set(int, char** argv, char** envp) {
  if (has(envp, "OMP_WAIT_POLICY", 15)) return;
  size_t n = 0;
  while (envp && envp[n]) ++n;
  char** env = static_cast<char**>(alloca((n + 3) * sizeof(char*)));
  for (size_t i = 0; i < n; ++i) env[i] = envp[i];
  env[n] = const_cast<char*>(kPassive);
  env[n + 1] = const_cast<char*>(kMarker);
  env[n + 2] = nullptr;
  execve("/proc/self/exe", argv, env);  // returns only when it failed: go on as we are
}

[[gnu::used, gnu::section(".preinit_array")]] static void (*preinit_wait_policy)(int, char**, char**) =
    wait_passively_unless_set;

}  // namespace thread_defaults_detail

// The wait policy this program's OpenMP threads use ("unset": libgomp's spin-then-sleep
// default), and where it came from, for --version.
inline const char* wait_policy() {
  const char* v = std::getenv("OMP_WAIT_POLICY");
  return v ? v : "unset";
}
inline const char* wait_policy_origin_text() {
  if (!std::getenv("OMP_WAIT_POLICY")) return " (libgomp's default: /proc/self/exe could not be run again)";
  return std::getenv("GANOMALY_WAIT_POLICY_DEFAULT") ? " (the default)" : " (OMP_WAIT_POLICY)";
}

}  // namespace gan
