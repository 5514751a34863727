#pragma once
// Config files (--config FILE): a JSON object holding an app's options under their long
// flag names without the "--", e.g.
//   {"data": "data/bottle", "out": "runs/a", "epochs": 30, "lr": 0.0002, "spectral-norm": true}
// A value given on the command line wins over the file's, which wins over the default.
// Every key must name an option of the app (not config, help or version) and hold the
// JSON type of its value: a string, an integer, a number (decimal options), true or false
// (switches), or a list of strings (list options). effective_config() writes the same
// format back, every option included, so a run's config file repeats it.
//
// The file's values travel as "--name=value" words parsed by cxxopts with the command
// line, so they meet exactly the checks a typed flag meets; an error about a value from
// the file names the file and key instead of the flag (config_sources(), app::run).
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app_common.h"

namespace gan::app {

// The JSON type of an option's value in a config file. Options not listed in an app's
// ConfigKinds are text; switches (options without a value) are always booleans.
enum class ConfigValue {
  text,       // a string
  integer,    // an int
  unsigned64, // a uint64_t (seeds)
  size,       // a size_t (pixel counts)
  decimal,    // a number, read as the flag's text is (app::parse_decimal)
  list,       // a list of strings (a comma-separated flag)
};
using ConfigKinds = std::map<std::string, ConfigValue>;

namespace detail {

inline bool kept_out_of_config(const std::string& name) { return name == "config" || name == "help" || name == "version"; }

// Every option of `options` by long name: whether it is a switch.
inline std::map<std::string, bool> option_switches(const cxxopts::Options& options) {
  std::map<std::string, bool> names;
  for (const cxxopts::HelpOptionDetails& o : options.group_help("").options)
    if (!o.l.empty() && !kept_out_of_config(o.l.front())) names[o.l.front()] = o.is_boolean;
  return names;
}

inline ConfigValue kind_of(const ConfigKinds& kinds, const std::string& name) {
  const auto k = kinds.find(name);
  return k == kinds.end() ? ConfigValue::text : k->second;
}

inline nlohmann::json read_json_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw Error(str(path, ": cannot read the config file (--config): ",
                    std::filesystem::exists(path, ec) ? "not a regular file" : "no such file"));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(str(path, ": cannot read the config file (--config): ", std::strerror(errno)));
  // JSON lets a key repeat (the last would win): refused, as a silently dropped value
  // would be. The last key read also names the value a number overflow is in.
  std::vector<std::set<std::string>> keys_of_open_objects;
  std::string last_key;
  const nlohmann::json::parser_callback_t track_keys = [&](int, nlohmann::json::parse_event_t event,
                                                           nlohmann::json& parsed) {
    if (event == nlohmann::json::parse_event_t::object_start) keys_of_open_objects.emplace_back();
    if (event == nlohmann::json::parse_event_t::object_end) keys_of_open_objects.pop_back();
    if (event == nlohmann::json::parse_event_t::key) {
      last_key = parsed.get<std::string>();
      if (!keys_of_open_objects.back().insert(last_key).second)
        throw UsageError(str(path, ": ", last_key, ": given twice (each key once)"));
    }
    return true;
  };
  auto without_prefix = [](std::string what) {  // "[json.exception.parse_error.101] parse error at line 2, ..."
    if (const size_t at = what.find("] "); at != std::string::npos) what = what.substr(at + 2);
    return what;
  };
  try {
    return nlohmann::json::parse(in, track_keys);
  } catch (const nlohmann::json::parse_error& e) {
    throw UsageError(str(path, ": not a JSON config file: ", without_prefix(e.what())));
  } catch (const nlohmann::json::out_of_range& e) {  // a number no double holds: "lr": 1e400
    throw UsageError(str(path, ": ", last_key.empty() ? "" : last_key + ": ", without_prefix(e.what())));
  }
}

// The "--name=value" words of one key's value (none for false); a value
// of the wrong JSON type is a usage error naming the file and the key.
inline std::vector<std::string> config_words(const std::string& path, const std::string& name, const nlohmann::json& v,
                                             bool is_switch, ConfigValue kind) {
  auto refuse = [&](const char* expected) -> std::vector<std::string> {
    throw UsageError(str(path, ": ", name, ": expected ", expected, ", got ", v.dump()));
  };
  const std::string flag = "--" + name;
  if (is_switch) {
    if (!v.is_boolean()) return refuse("true or false");
    return v.get<bool>() ? std::vector<std::string>{flag} : std::vector<std::string>{};
  }
  switch (kind) {
    case ConfigValue::text:
      if (!v.is_string()) return refuse("a string");
      return {flag + "=" + v.get<std::string>()};
    case ConfigValue::integer:
      if (!v.is_number_integer()) return refuse("an integer");
      if (v.is_number_unsigned() ? v.get<uint64_t>() > uint64_t(INT_MAX)
                                 : (v.get<int64_t>() < INT_MIN || v.get<int64_t>() > INT_MAX))
        return refuse("an integer in the 32-bit range");
      return {flag + "=" + v.dump()};
    case ConfigValue::unsigned64:
    case ConfigValue::size:
      if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
        return refuse("an integer, 0 or more");
      if (kind == ConfigValue::size && uint64_t(size_t(v.get<uint64_t>())) != v.get<uint64_t>())
        return refuse("an integer this system's size_t holds");
      return {flag + "=" + v.dump()};
    case ConfigValue::decimal:
      if (!v.is_number()) return refuse("a number");
      return {flag + "=" + v.dump()};  // the shortest text that reads back as the same double
    case ConfigValue::list: {
      if (!v.is_array()) return refuse("a list of strings");
      std::string joined;
      for (const nlohmann::json& item : v) {
        if (!item.is_string() || item.get<std::string>().empty() || item.get<std::string>().find(',') != std::string::npos)
          return refuse("a list of non-empty strings without commas");
        joined += (joined.empty() ? "" : ",") + item.get<std::string>();
      }
      // As "--categories ''" is refused: leaving the key out asks for the default.
      if (joined.empty()) return refuse("at least one name (leave the key out for the default)");
      return {flag + "=" + joined};
    }
  }
  return {};
}

}  // namespace detail

// Parses the command line; with --config FILE, the file's value of each option the
// command line leaves out is parsed as though typed before the command line. Unknown
// keys and values of the wrong type are usage errors naming the file and the key.
inline cxxopts::ParseResult parse_with_config(cxxopts::Options& options, int argc, const char* const* argv,
                                              const ConfigKinds& kinds) {
  config_sources().clear();  // this command line's sources only (a test parses many)
  cxxopts::ParseResult typed = options.parse(argc, argv);
  if (!typed.count("config") || typed.count("help") || typed.count("version")) return typed;
  // Files do not merge: a second one would silently drop the first's values.
  if (typed.count("config") > 1) throw UsageError("--config: given more than once; give one config file");
  const std::string path = typed["config"].as<std::string>();
  const nlohmann::json file = detail::read_json_file(path);
  if (!file.is_object())
    throw UsageError(str(path, ": expected a JSON object of options ({\"epochs\": 30, ...}), got ", file.type_name()));
  const std::map<std::string, bool> known = detail::option_switches(options);
  std::vector<std::string> words = {argc > 0 ? argv[0] : "app"};
  for (const auto& [name, value] : file.items()) {
    const auto option = known.find(name);
    if (option == known.end())
      throw UsageError(str(path, ": ", name, ": ",
                           detail::kept_out_of_config(name) ? "cannot be set in a config file"
                                                            : "unknown key (expected an option's name as in --help, "
                                                              "without the '--')"));
    const std::vector<std::string> w = detail::config_words(path, name, value, option->second, detail::kind_of(kinds, name));
    if (typed.count(name)) continue;  // the command line wins
    words.insert(words.end(), w.begin(), w.end());
    config_sources()[name] = path;
  }
  for (int i = 1; i < argc; ++i) words.emplace_back(argv[i]);
  std::vector<const char*> pointers;
  for (const std::string& w : words) pointers.push_back(w.c_str());
  return options.parse(static_cast<int>(pointers.size()), pointers.data());
}

// A folder option (DATA_DIR, --root) whose value came from a config file and is
// not there: the error names the file and the key, and where a relative path is read
// from (the working folder, as on the command line, so that a run's config.json
// repeats it from where it ran). Exit 1, as for any missing file.
inline void check_config_path(const std::string& name, const std::string& value) {
  const auto source = config_sources().find(name);
  if (source == config_sources().end()) return;
  std::error_code ec;
  if (value.empty() || std::filesystem::exists(value, ec)) return;
  throw Error(str(source->second, ": ", name, ": ", value, ": not found",
                  std::filesystem::path(value).is_relative() ? " (a relative path is read from the working folder)" : ""));
}

// Every option's value as parsed (the defaults included), in the format
// parse_with_config reads; an option without a value and without a default is left out.
inline nlohmann::json effective_config(const cxxopts::Options& options, const cxxopts::ParseResult& args,
                                       const ConfigKinds& kinds) {
  nlohmann::json config = nlohmann::json::object();
  for (const auto& [name, is_switch] : detail::option_switches(options)) {
    const ConfigValue kind = detail::kind_of(kinds, name);
    if (is_switch) {
      config[name] = args[name].as<bool>();
    } else if (kind == ConfigValue::list) {
      if (!args.count(name)) continue;  // an empty list is refused when read: the key's absence is the default
      config[name] = args[name].as<std::vector<std::string>>();
    } else if (!args.count(name) && !args[name].has_default()) {
      continue;
    } else if (kind == ConfigValue::integer) {
      config[name] = args[name].as<int>();
    } else if (kind == ConfigValue::unsigned64) {
      config[name] = args[name].as<uint64_t>();
    } else if (kind == ConfigValue::size) {
      config[name] = args[name].as<size_t>();
    } else if (kind == ConfigValue::decimal) {
      config[name] = parse_decimal<double>("--" + name, args[name].as<std::string>());
    } else {
      config[name] = args[name].as<std::string>();
    }
  }
  return config;
}

}  // namespace gan::app
