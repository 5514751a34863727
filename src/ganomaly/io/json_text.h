#pragma once
// File and folder names in the JSON the project writes, and in its text output.
//
// A Linux name is any bytes; JSON text is UTF-8, and nlohmann::json throws on a string
// that is not. So a string that is not valid UTF-8 is written with each byte outside a
// valid UTF-8 character as the four characters \xNN (two upper-case hex digits), and each
// backslash in it as \x5C, so that replacing every \xNN by its byte gives the name back
// exactly (README, "Names that are not UTF-8"). Valid UTF-8 is written unchanged.
#include <string>

#include <nlohmann/json.hpp>

namespace gan {

// Whether `bytes` is valid UTF-8 as RFC 3629 defines it (no overlong forms, no
// surrogates, nothing above U+10FFFF): what nlohmann::json accepts.
bool is_valid_utf8(const std::string& bytes);

// `bytes` as a string JSON can hold: unchanged when valid UTF-8, else escaped as above.
std::string json_safe_text(const std::string& bytes);

// `j` with every string and object key made JSON-safe.
nlohmann::json json_safe(const nlohmann::json& j);

// j.dump(indent), with any name that is not UTF-8 escaped instead of an exception.
std::string dump_json(const nlohmann::json& j, int indent = -1);

// A message for one line of standard error, names in it included: unchanged when it is
// valid UTF-8 without control characters (every message docs/ERRORS.md lists); else each
// control character (a line feed in a name too) and each byte outside a valid UTF-8
// character as \xNN, and each backslash as \x5C, as json_safe_text writes names: the
// line stays one line, and replacing every \xNN by its byte gives the text back.
std::string line_text(const std::string& message);

// A name for one field of a tab-separated text line: tab, line feed, carriage return and
// backslash as \t, \n, \r and \\, every other control character as \xNN; all else as is.
std::string tsv_field_text(const std::string& name);

}  // namespace gan
