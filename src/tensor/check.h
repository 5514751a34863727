#pragma once
// Always-on checks: a failed check throws gan::Error with a one-line message.
#include <sstream>
#include <stdexcept>
#include <string>

namespace gan {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

namespace detail {
inline void append(std::ostringstream&) {}
template <typename T, typename... Rest>
void append(std::ostringstream& out, const T& first, const Rest&... rest) {
  out << first;
  append(out, rest...);
}
}  // namespace detail

// Builds a message from any streamable parts: str("conv2d: got ", shape).
template <typename... Parts>
std::string str(const Parts&... parts) {
  std::ostringstream out;
  detail::append(out, parts...);
  return out.str();
}

}  // namespace gan

#define GANOMALY_CHECK(cond, ...)                         \
  do {                                                    \
    if (!(cond)) throw ::gan::Error(::gan::str(__VA_ARGS__)); \
  } while (0)
