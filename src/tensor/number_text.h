#pragma once
// A number as the shortest text that reads back as the same value (std::to_chars): an
// error quoting an out-of-range value shows it whole ("1.0000001"), where a stream's
// six digits would round it into range ("1").
#include <charconv>
#include <string>

namespace gan {

template <typename T>
std::string exact_text(T v) {
  char buf[64];
  return std::string(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

}  // namespace gan
