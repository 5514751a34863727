#pragma once
// Enums that files and command lines spell as words (recipes, scores, training choices):
// one table of names per enum, read both ways here. The names are strings only at the
// edges (JSON, the command line); inside, the enum travels.
#include <iterator>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include <nlohmann/json.hpp>

#include "tensor/check.h"

namespace gan {

// Specialised beside each enum:
//   static constexpr std::pair<E, const char*> all[] = {{E::a, "a"}, ...};
// in the order error messages list the names.
template <typename E>
struct NameTable;

template <typename E, typename = void>
struct is_named : std::false_type {};
template <typename E>
struct is_named<E, std::void_t<decltype(NameTable<E>::all)>> : std::true_type {};

// A value's name.
template <typename E, typename = std::enable_if_t<is_named<E>::value>>
const char* to_string(E value) {
  for (const auto& [v, name] : NameTable<E>::all)
    if (v == value) return name;
  throw Error("a value without a name");  // unreachable for a value the table lists
}

// The value of `name`; nothing for an unknown name.
template <typename E>
std::optional<E> find_named(const std::string& name) {
  for (const auto& [v, n] : NameTable<E>::all)
    if (name == n) return v;
  return std::nullopt;
}

// "a, b or c".
template <typename E>
std::string listed_names() {
  std::string out;
  const size_t n = std::size(NameTable<E>::all);
  for (size_t i = 0; i < n; ++i) out += str(i == 0 ? "" : i + 1 == n ? " or " : ", ", NameTable<E>::all[i].second);
  return out;
}

// The value of `name`; an unknown name throws OptionError naming `field` and the names
// it accepts.
template <typename E>
E parse_choice(const std::string& field, const std::string& name) {
  if (const std::optional<E> v = find_named<E>(name)) return *v;
  throw OptionError(field, str("expected ", listed_names<E>(), ", got '", name, "'"));
}

// JSON (files) writes the names.
template <typename E, typename = std::enable_if_t<is_named<E>::value>>
void to_json(nlohmann::json& j, E value) {
  j = to_string(value);
}

}  // namespace gan
