#pragma once
// SIGINT and SIGTERM for the training apps: the first asks training to stop (it finishes
// its step, writes a resumable last.gnm and returns), a second one exits at once (130).
// The library never installs handlers; it asks its TrainObserver (should_stop).
#include <atomic>
#include <csignal>
#include <cstdio>

#include <unistd.h>

#include "app_common.h"
#include "ganomaly/train/observer.h"

namespace gan::app {

inline std::atomic<bool> g_stop_requested{false};

namespace detail {
inline void on_stop_signal(int) {
  if (g_stop_requested.exchange(true)) _exit(130);  // second signal: leave now
}
}  // namespace detail

inline void install_stop_handlers() {
  std::signal(SIGINT, detail::on_stop_signal);
  std::signal(SIGTERM, detail::on_stop_signal);
}

// Prints to `out` as ConsoleObserver does, and stops when a signal asked to.
class SignalStoppedConsole : public ConsoleObserver {
 public:
  // Notes name the flags (app_common.h's field_flags).
  SignalStoppedConsole(std::FILE* out, bool interactive) : ConsoleObserver(out, interactive, flag_of) {}
  bool should_stop() override { return g_stop_requested.load(); }
};

}  // namespace gan::app
