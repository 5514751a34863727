#include "ganomaly/train/progress.h"

#include <unistd.h>

namespace gan {

bool stdout_is_terminal() { return isatty(fileno(stdout)) != 0; }

std::string format_duration(double seconds) {
  const long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

Progress::Progress(std::string label, int total, bool interactive, std::FILE* out)
    : label_(std::move(label)), total_(total), interactive_(interactive), out_(out) {
  start_ = last_print_ = std::chrono::steady_clock::now();
}

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::update(int done, long items, const std::string& status) {
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = elapsed_seconds();
  const double rate = elapsed > 0 ? items / elapsed : 0.0;
  const double left = done > 0 ? elapsed * (total_ - done) / done : 0.0;
  if (interactive_) {
    constexpr int kWidth = 24;
    const int filled = total_ > 0 ? kWidth * done / total_ : kWidth;
    std::string bar(filled, '#');
    bar += std::string(kWidth - filled, '.');
    std::fprintf(out_, "\r%s [%s] %d/%d %s %.1f img/s left %s\033[K", label_.c_str(), bar.c_str(), done, total_,
                 status.c_str(), rate, format_duration(left).c_str());
    std::fflush(out_);
    return;
  }
  if (std::chrono::duration<double>(now - last_print_).count() < 10.0 && done < total_) return;
  last_print_ = now;
  std::fprintf(out_, "%s step %d/%d %s %.1f img/s left %s\n", label_.c_str(), done, total_, status.c_str(), rate,
               format_duration(left).c_str());
  std::fflush(out_);
}

void Progress::finish(const std::string& status) {
  if (interactive_) std::fprintf(out_, "\r\033[K");
  std::fprintf(out_, "%s %s (%s)\n", label_.c_str(), status.c_str(), format_duration(elapsed_seconds()).c_str());
  std::fflush(out_);
}

}  // namespace gan
