#pragma once
// Always-on checks: a failed check throws gan::Error with a one-line message; the
// errors about settings name their fields (FieldError, OptionError).
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace gan {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// An error whose message names settings: by their field in the library's structs
// ("model.image_size", "tile"), never by a command-line flag. what() reads with the field
// names; an app shows its own name for each field instead (apps/app_common.h).
class FieldError : public Error {
 public:
  // A piece of the message: text, or the name of a field (field_ref).
  struct Part {
    Part(std::string text) : text(std::move(text)) {}
    Part(const char* text) : text(text) {}
    std::string text;
    bool is_field = false;
  };
  FieldError(std::string field, std::vector<Part> parts)
      : Error(render(parts, [](const std::string& f) { return f; })), field_(std::move(field)), parts_(std::move(parts)) {}
  const std::string& field() const { return field_; }  // the field at fault
  const std::vector<Part>& parts() const { return parts_; }
  // The message with each field shown as name_of(field).
  template <typename NameOf>
  std::string message(NameOf name_of) const {
    return render(parts_, name_of);
  }
  // Any text made of parts (an error's, a training note's) with each field shown as name_of(field).
  template <typename NameOf>
  static std::string render(const std::vector<Part>& parts, NameOf name_of) {
    std::string out;
    for (const Part& p : parts) out += p.is_field ? std::string(name_of(p.text)) : p.text;
    return out;
  }

 private:
  std::string field_;
  std::vector<Part> parts_;
};

inline FieldError::Part field_ref(std::string field) {
  FieldError::Part p(std::move(field));
  p.is_field = true;
  return p;
}

// A setting out of range: "<field>: <problem>". The apps report it as a usage error.
class OptionError : public FieldError {
 public:
  OptionError(std::string field, std::string problem) : OptionError(field, std::vector<Part>{std::move(problem)}) {}
  // A problem that names other fields too ("expected at most <tile>").
  OptionError(const std::string& field, std::vector<Part> problem)
      : FieldError(field, prefixed(field, problem)), problem_(problem) {}
  // The problem alone, fields by their names.
  std::string problem() const {
    std::string out;
    for (const Part& p : problem_) out += p.text;
    return out;
  }

 private:
  static std::vector<Part> prefixed(const std::string& field, std::vector<Part> problem) {
    problem.insert(problem.begin(), {field_ref(field), ": "});
    return problem;
  }
  std::vector<Part> problem_;
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
