#pragma once
// The bench's view of processes: its own CPU time and memory, the machine's load, and
// other programs run with their output read back (the reference sides).
#include <sys/resource.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

namespace gan::bench {

// User plus system time of every thread of this process.
inline double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

// A field of /proc/self/status as a number (kB for the memory fields); -1 if absent.
inline double proc_status(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.compare(0, field.size() + 1, field + ":") == 0) return std::stod(line.substr(field.size() + 1));
  return -1;
}

// Sets this process's peak RSS (VmHWM) back to its current RSS (Linux >= 4.0), so that
// each configuration's peak is its own, as PyTorch's is in its own process.
inline bool reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

inline std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

// Runs `cmd` (stderr joined to stdout), returns its output; with `echo_prefix`, every
// line not starting with `json_tag` is also printed as it comes, after the prefix.
// Returns false when it cannot start or exits non-zero.
inline bool run_command(const std::string& cmd, std::string& out, const char* echo_prefix = nullptr,
                 const std::string& json_tag = "") {
  std::FILE* pipe = popen((cmd + " 2>&1").c_str(), "r");
  if (!pipe) return false;
  char buf[8192];
  while (std::fgets(buf, sizeof buf, pipe)) {
    out += buf;
    if (echo_prefix && std::strncmp(buf, json_tag.c_str(), json_tag.size()) != 0) {
      std::printf("%s%s", echo_prefix, buf);
      std::fflush(stdout);
    }
  }
  return pclose(pipe) == 0;
}

// The JSON after the last line starting with `tag` ("torch_bench ", ...); null if none.
inline nlohmann::json tagged_json(const std::string& out, const std::string& tag) {
  size_t at = std::string::npos;
  for (size_t p = out.find(tag); p != std::string::npos; p = out.find(tag, p + 1))
    if (p == 0 || out[p - 1] == '\n') at = p;
  if (at == std::string::npos) return nullptr;
  const size_t end = out.find('\n', at);
  return nlohmann::json::parse(out.substr(at + tag.size(), end == std::string::npos ? std::string::npos : end - at - tag.size()));
}

inline bool executable_on_path(const std::string& program) {
  std::string out;
  return run_command("command -v " + shell_quote(program) + " >/dev/null", out);
}

inline std::string utc_now() {
  char buf[64];
  const std::time_t t = std::time(nullptr);
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", std::gmtime(&t));
  return buf;
}

}  // namespace gan::bench
