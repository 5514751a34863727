#include "ganomaly/io/json_text.h"

#include <cstdint>

namespace gan {

namespace {

// The length of the valid UTF-8 character at s[i], or 0 when s[i] does not start one.
size_t utf8_char_length(const std::string& s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t b = byte(i);
  if (b < 0x80) return 1;
  size_t n;
  uint32_t cp;
  if (b >= 0xC2 && b <= 0xDF) {
    n = 2, cp = b & 0x1F;
  } else if (b >= 0xE0 && b <= 0xEF) {
    n = 3, cp = b & 0x0F;
  } else if (b >= 0xF0 && b <= 0xF4) {
    n = 4, cp = b & 0x07;
  } else {
    return 0;  // a continuation byte, an overlong lead (C0, C1) or F5..FF
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  const uint32_t smallest[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < smallest[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

void append_hex_escape(std::string& out, uint8_t b) {
  const char* digits = "0123456789ABCDEF";
  out += "\\x";
  out += digits[b >> 4];
  out += digits[b & 0xF];
}

}  // namespace

bool is_valid_utf8(const std::string& bytes) {
  for (size_t i = 0; i < bytes.size();) {
    const size_t n = utf8_char_length(bytes, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string json_safe_text(const std::string& bytes) {
  if (is_valid_utf8(bytes)) return bytes;
  std::string out;
  out.reserve(bytes.size() + 16);
  for (size_t i = 0; i < bytes.size();) {
    const size_t n = utf8_char_length(bytes, i);
    if (n == 0 || bytes[i] == '\\') {
      append_hex_escape(out, static_cast<uint8_t>(bytes[i]));
      ++i;
    } else {
      out.append(bytes, i, n);
      i += n;
    }
  }
  return out;
}

nlohmann::json json_safe(const nlohmann::json& j) {
  if (j.is_string()) return json_safe_text(j.get_ref<const std::string&>());
  if (j.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : j) out.push_back(json_safe(v));
    return out;
  }
  if (j.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [key, v] : j.items()) out[json_safe_text(key)] = json_safe(v);
    return out;
  }
  return j;
}

std::string dump_json(const nlohmann::json& j, int indent) {
  try {
    return j.dump(indent);
  } catch (const nlohmann::json::type_error&) {  // 316: a string that is not UTF-8; rare, so walk only then
    return json_safe(j).dump(indent);
  }
}

std::string line_text(const std::string& message) {
  const auto is_control = [](char c) { return static_cast<uint8_t>(c) < 0x20 || c == 0x7F; };
  bool clean = is_valid_utf8(message);
  for (size_t i = 0; clean && i < message.size(); ++i) clean = !is_control(message[i]);
  if (clean) return message;
  std::string out;
  out.reserve(message.size() + 16);
  for (size_t i = 0; i < message.size();) {
    const size_t n = utf8_char_length(message, i);
    if (n == 0 || message[i] == '\\' || is_control(message[i])) {
      append_hex_escape(out, static_cast<uint8_t>(message[i]));
      ++i;
    } else {
      out.append(message, i, n);
      i += n;
    }
  }
  return out;
}

std::string tsv_field_text(const std::string& name) {
  std::string out;
  out.reserve(name.size());
  for (const char c : name) {
    const auto b = static_cast<uint8_t>(c);
    if (c == '\t') out += "\\t";
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\\') out += "\\\\";
    else if (b < 0x20 || b == 0x7F) append_hex_escape(out, b);
    else out += c;
  }
  return out;
}

}  // namespace gan
