#pragma once
// Progress of long work: a bar redrawn in place on a terminal, plain lines otherwise.
#include <chrono>
#include <cstdio>
#include <string>

namespace gan {

class Progress {
 public:
  // `interactive`: redraw one line with '\r' (a terminal) or print plain lines.
  Progress(std::string label, int total, bool interactive, std::FILE* out = stdout);
  // Reports `done` of `total` units with a status text; `items` counts work (images)
  // for the rate. Plain mode prints at most every few seconds.
  void update(int done, long items, const std::string& status);
  void finish(const std::string& status);
  double elapsed_seconds() const;

 private:
  std::string label_;
  int total_;
  bool interactive_;
  std::FILE* out_;
  std::chrono::steady_clock::time_point start_, last_print_;
};

bool stdout_is_terminal();
std::string format_duration(double seconds);  // "1:05" or "1:02:03"

}  // namespace gan
