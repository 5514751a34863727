#pragma once
// What every app shares: one-line errors with a non-zero exit, and thread settings.
//
// Exit codes: 0 success, 2 a bad option or usage, 1 any other error (a missing or
// corrupt file, a failed write). Every error is one line on stderr, "<app>: <what>".
#include <cerrno>
#include <cfloat>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cxxopts.hpp>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>
#include <xsimd/xsimd.hpp>

#include "ganomaly/eval/calibration.h"
#include "ganomaly/io/json_text.h"
#include "ganomaly/train/options.h"
#include "tensor/check.h"
#include "tensor/device.h"
#include "tensor/thread_defaults.h"  // every app waits passively unless OMP_WAIT_POLICY is set
#ifdef GANOMALY_OPENMP
#include <omp.h>
#endif

// The build options, from CMakeLists.txt (GANOMALY_BUILD_INFO).
#ifndef GANOMALY_VERSION
#define GANOMALY_VERSION "unknown"
#endif
#ifndef GANOMALY_BUILD_TYPE
#define GANOMALY_BUILD_TYPE "unknown"
#endif
#ifndef GANOMALY_BUILD_SYSTEM
#define GANOMALY_BUILD_SYSTEM "unknown"
#endif
#ifndef GANOMALY_BUILD_NATIVE
#define GANOMALY_BUILD_NATIVE 0
#endif
#ifndef GANOMALY_BUILD_SANITIZE
#define GANOMALY_BUILD_SANITIZE 0
#endif
#ifndef GANOMALY_BUILD_STATIC
#define GANOMALY_BUILD_STATIC 0
#endif

namespace gan::app {

// A bad command line (a missing positional argument, an option out of range): exit 2.
struct UsageError : Error {
  using Error::Error;
};

// The command-line flag of each library field that an error can name (gan::FieldError:
// TrainOptions' fields, the data set's, the decision threshold's, the tiles'). One table
// for every app: a library error shows the flag in any app, however it was reached (a
// model file's bad image size in ganomaly_infer too).
inline const std::map<std::string, std::string>& field_flags() {
  static const std::map<std::string, std::string> flags = {
      {"data", "DATA_DIR"},
      {"format", "--format"},
      {"resume", "--resume"},
      {"out_dir", "--out"},
      {"overwrite", "--overwrite"},
      {"model.image_size", "--image-size"},
      {"model.channels", "--channels"},
      {"model.n_features", "--n-features"},
      {"model.latent_size", "--latent-size"},
      {"model.extra_layers", "--extra-layers"},
      {"recipe", "--recipe"},
      {"epochs", "--epochs"},
      {"batch_size", "--batch-size"},
      {"learning_rate", "--lr"},
      {"lr_schedule", "--lr-schedule"},
      {"loss_weights", "--w-adv, --w-con, --w-enc"},
      {"loss_weights.adversarial", "--w-adv"},
      {"loss_weights.contextual", "--w-con"},
      {"loss_weights.encoder", "--w-enc"},
      {"stabilisers.discriminator_lr_scale", "--d-lr-scale"},
      {"stabilisers.real_label", "--real-label"},
      {"stabilisers.instance_noise", "--instance-noise"},
      {"stabilisers.clip_grad_norm", "--clip-grad-norm"},
      {"stabilisers.reinit_saturated_d", "--reinit-saturated-d"},
      {"augment", "--augment"},
      {"seed", "--seed"},
      {"patience", "--patience"},
      {"min_steps", "--min-steps"},
      {"selection_tolerance", "--selection-tolerance"},
      {"fusion_margin", "--fusion-margin"},
      {"harden_at", "--harden-at"},
      {"validation_fraction", "--validation-fraction"},
      {"score", "--score"},
      {"ema_decay", "--ema"},
      {"validate_on", "--validate-on"},
      {"on_nan", "--on-nan"},
      {"weights", "--weights"},
      {"photometric", "--photometric"},
      {"threshold_rule", "--threshold-rule"},
      {"target_fpr", "--target-fpr"},
      {"map", "--map"},
      {"max_pixels", "--max-pixels"},
      {"device", "--device"},
      {"threshold", "--threshold"},
      {"sensitivity", "--sensitivity"},
      {"threshold_or_sensitivity", "--threshold, --sensitivity"},
      {"tile", "--tile"},
      {"stride", "--stride"}};
  return flags;
}

// A field's flag; the field itself when no flag sets it.
inline std::string flag_of(const std::string& field) {
  const auto flag = field_flags().find(field);
  return flag == field_flags().end() ? field : flag->second;
}

// An error's message as the command line's user reads it: fields named by their flags.
inline std::string message_of(const std::exception& e) {
  if (const auto* f = dynamic_cast<const FieldError*>(&e)) return f->message(flag_of);
  return e.what();
}

// The config file (--config, apps/config_file.h) that gave each option its value, by the
// option's long name; run() then names an error about that option "<file>: <name>"
// instead of "--<name>", since the flag was never typed.
inline std::map<std::string, std::string>& config_sources() {
  static std::map<std::string, std::string> sources;
  return sources;
}

namespace detail {

// "--epochs: expected ..." -> "run.json: epochs: expected ..." when --epochs came from a
// config file; any other message unchanged.
inline std::string named_by_source(const std::string& what) {
  if (what.rfind("--", 0) != 0) return what;
  const size_t colon = what.find(':');
  if (colon == std::string::npos) return what;
  const std::string name = what.substr(2, colon - 2);
  const auto source = config_sources().find(name);
  if (source == config_sources().end()) return what;
  return source->second + ": " + name + what.substr(colon);
}

// cxxopts quotes with U+2018/U+2019; our errors are plain ASCII.
inline std::string ascii_quotes(std::string s) {
  for (const char* q : {"\xE2\x80\x98", "\xE2\x80\x99"})
    for (size_t at; (at = s.find(q)) != std::string::npos;) s.replace(at, 3, "'");
  return s;
}

// Our own command line, read back on the error path only: cxxopts says "Argument 'nan'
// failed to parse" without naming the option, and not every app passes argv here.
inline std::vector<std::string> own_arguments() {
  std::vector<std::string> args;
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (size_t b = 0, e; b < all.size(); b = e + 1) {
    e = all.find('\0', b);
    if (e == std::string::npos) e = all.size();
    args.push_back(all.substr(b, e - b));
  }
  return args;
}

// "--lr: 'nan' is not a valid value" for a value that failed to parse, when the
// command line shows which option it was given to; else cxxopts' own words.
inline std::string describe_bad_value(const std::string& what) {
  const std::vector<std::string> args = own_arguments();
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.size() < 2 || a[0] != '-') continue;
    std::string option = a, value;
    const size_t eq = a.find('=');
    if (eq != std::string::npos) {
      option = a.substr(0, eq);
      value = a.substr(eq + 1);
    } else if (i + 1 < args.size()) {
      value = args[i + 1];
    } else {
      continue;
    }
    if (what.find("'" + value + "'") != std::string::npos)
      return option + ": '" + value + "' is not a valid value";
  }
  return what;
}

// Messages that name a flag first ("--image-size: expected ...", a library FieldError
// shown with flags), and usage errors ending with "(see --help)": both are the caller's
// command line.
inline bool names_an_option(const std::string& what) {
  const std::string help = "(see --help)";
  return what.rfind("--", 0) == 0 ||
         (what.size() >= help.size() && what.compare(what.size() - help.size(), help.size(), help) == 0);
}

// "[json.exception.type_error.316] invalid UTF-8 byte ..." -> "invalid UTF-8 byte ...".
inline std::string without_json_prefix(const std::string& what) {
  const size_t end = what.rfind("[json.exception.", 0) == 0 ? what.find("] ") : std::string::npos;
  return end == std::string::npos ? what : what.substr(end + 2);
}

}  // namespace detail

// Runs body(); a bad option exits 2, any other error 1, each with one line on stderr (a
// name's line feed or stray bytes escaped: line_text).
template <typename Body>
int run(const char* name, Body body) {
  try {
    // A bad GANOMALY_KERNELS is a usage error, reported before any work (and never from
    // inside a parallel region, where the first product would otherwise choose the set).
    try {
      gemm_kernel_set();
    } catch (const Error& e) {
      throw UsageError(e.what());
    }
    return body();
  } catch (const cxxopts::exceptions::incorrect_argument_type& e) {
    const std::string what = detail::ascii_quotes(e.what());
    std::fprintf(stderr, "%s: %s (see --help)\n", name, line_text(detail::describe_bad_value(what)).c_str());
    return 2;
  } catch (const cxxopts::exceptions::exception& e) {
    std::fprintf(stderr, "%s: %s (see --help)\n", name, line_text(detail::ascii_quotes(e.what())).c_str());
    return 2;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "%s: %s\n", name, line_text(detail::named_by_source(e.what())).c_str());
    return 2;
  } catch (const OptionError& e) {
    std::fprintf(stderr, "%s: %s\n", name, line_text(detail::named_by_source(message_of(e))).c_str());
    return 2;
  } catch (const nlohmann::json::exception& e) {
    // Every JSON the apps write goes through dump_json (io/json_text.h) and every JSON they
    // read is checked where the file is known; one that still escapes is a bug, told
    // without the library's "[json.exception...]" prefix.
    std::fprintf(stderr, "%s: internal error in JSON handling: %s\n", name,
                 line_text(detail::without_json_prefix(e.what())).c_str());
    return 1;
  } catch (const std::exception& e) {
    const std::string what = message_of(e);
    std::fprintf(stderr, "%s: %s\n", name, line_text(detail::named_by_source(what)).c_str());
    return detail::names_an_option(what) ? 2 : 1;
  } catch (...) {
    std::fprintf(stderr, "%s: unknown error\n", name);
    return 1;
  }
}

// The words given for a positional argument that takes many (IMAGE...), each whole:
// cxxopts splits a std::vector value on commas, which would turn the file "a,b.png" into
// "a" and "b.png". The parse's sequence keeps each word as typed.
inline std::vector<std::string> positional_words(const cxxopts::ParseResult& args, const std::string& name) {
  std::vector<std::string> words;
  for (const cxxopts::KeyValue& kv : args.arguments())
    if (kv.key() == name) words.push_back(kv.value());
  return words;
}

// A decimal option's value, read whole: "0,5", "1e-3abc", "nan" and hex are refused (a
// stream or strtod would stop at the first odd character and keep the leading number), and
// so is a value that T cannot hold (1e-300 would become 0 as a float). Errors quote the
// value as typed.
template <typename T>
T parse_decimal(const std::string& option, const std::string& text) {
  static_assert(std::is_floating_point_v<T>);
  const char* bits = sizeof(T) == 4 ? "32-bit" : "64-bit";
  const bool plain = !text.empty() && text.find_first_not_of("0123456789+-.eE") == std::string::npos;
  char* end = nullptr;
  errno = 0;
  const double v = plain ? std::strtod(text.c_str(), &end) : 0.0;
  if (!plain || end != text.c_str() + text.size())
    throw UsageError(str(option, ": '", text, "' is not a decimal number (see --help)"));
  const double lowest = sizeof(T) == 4 ? FLT_MIN : DBL_MIN, highest = sizeof(T) == 4 ? FLT_MAX : DBL_MAX;
  if (!(std::fabs(v) <= highest))  // strtod's overflow is infinity
    throw UsageError(str(option, ": '", text, "' is too large for a ", bits, " float (see --help)"));
  if (v != 0 ? std::fabs(v) < lowest : errno == ERANGE)
    throw UsageError(str(option, ": '", text, "' is too close to 0 for a ", bits, " float (see --help)"));
  return static_cast<T>(v);
}

template <typename T>
T decimal_option(const cxxopts::ParseResult& args, const std::string& name) {
  return parse_decimal<T>("--" + name, args[name].as<std::string>());
}

// --threshold and --sensitivity (ganomaly_infer, ganomaly_test): the decision threshold
// moved from the calibrated one (gan::with_decision_threshold, which checks them).
struct DecisionThreshold {
  std::optional<float> raw, sensitivity;
};

inline void add_threshold_options(cxxopts::Options& options) {
  options.add_options()
    ("threshold", "decide at this raw score instead of the calibrated threshold (anomalous at or above it)",
     cxxopts::value<std::string>())
    ("sensitivity", "0 to 1 (anomalib's): anomalous when the normalised score is at or above 1 - this; 0.5 keeps "
                    "the calibrated threshold, higher flags more. Not with --threshold", cxxopts::value<std::string>());
}

// Checked now, by the library's own checks, so that a bad value fails before any file is read.
inline DecisionThreshold read_threshold_options(const cxxopts::ParseResult& args) {
  DecisionThreshold t;
  if (args.count("threshold")) t.raw = decimal_option<float>(args, "threshold");
  if (args.count("sensitivity")) t.sensitivity = decimal_option<float>(args, "sensitivity");
  with_decision_threshold(Calibration{}, t.raw, t.sensitivity);
  return t;
}

// Creates `dir` (and its parents) and checks that it is writable; the error names the
// folder and the option it came from.
inline void make_output_dir(const std::string& dir, const char* option) {
  namespace fs = std::filesystem;
  if (dir.empty()) throw UsageError(str(option, ": expected a folder, got ''"));
  // Room for what is written inside (the longest: a benchmark's
  // <dir>/<dataset>/<category>/plots/training_curves.svg.tmp.<pid>), so that a path
  // near the system's limit fails now, not when the results are written after training.
  constexpr size_t kRoomInside = 256;
  if (dir.size() + kRoomInside >= PATH_MAX)
    throw UsageError(str(option, ": the folder's path is ", dir.size(), " characters; with the files inside it would pass "
                         "the system's limit of ", PATH_MAX, " (PATH_MAX): choose a shorter path"));
  std::error_code ec;
  const fs::file_status st = fs::status(dir, ec);
  if (fs::exists(st) && !fs::is_directory(st)) {
    const char* kind = fs::is_regular_file(st) ? "a file" : fs::is_fifo(st) ? "a FIFO" : fs::is_socket(st) ? "a socket"
                       : fs::is_block_file(st) || fs::is_character_file(st) ? "a device" : "not a folder";
    throw Error(str(dir, ": cannot use as the output folder (", option, "): it is ", kind));
  }
  fs::create_directories(dir, ec);
  if (ec) throw Error(str(dir, ": cannot create the output folder (", option, "): ", ec.message()));
  if (::access(dir.c_str(), W_OK) != 0)
    throw Error(str(dir, ": output folder is not writable (", option, ")"));
}

// --version: the version, the build options, the GEMM kernel set chosen at run time (see
// tensor/device.h) and the instruction set of everything else (xsimd's default
// architecture under this build's flags).
inline std::string version_text(const char* name) {
  auto on = [](bool b) { return b ? "on" : "off"; };
#ifdef GANOMALY_OPENMP
  const std::string openmp = str("on (OpenMP ", _OPENMP, ", ", omp_get_max_threads(), " threads, wait policy ",
                                 wait_policy(), wait_policy_origin_text(), ")");
#else
  const std::string openmp = "off";
#endif
#if defined(__clang__)
  const std::string compiler = str("clang ", __clang_major__, ".", __clang_minor__, ".", __clang_patchlevel__);
#elif defined(__GNUC__)
  const std::string compiler = str("GCC ", __GNUC__, ".", __GNUC_MINOR__, ".", __GNUC_PATCHLEVEL__);
#else
  const std::string compiler = "unknown compiler";
#endif
  return str(name, " ", GANOMALY_VERSION, "\n", "build: ", GANOMALY_BUILD_TYPE, ", ", GANOMALY_BUILD_SYSTEM, ", ",
             compiler, "\n", "options: openmp ", openmp, ", native ", on(GANOMALY_BUILD_NATIVE),
             GANOMALY_BUILD_NATIVE ? "" : " (portable)", ", sanitizers ", on(GANOMALY_BUILD_SANITIZE), ", static ",
             on(GANOMALY_BUILD_STATIC), ", cuda ", on(cuda_built()), "\n", "gemm kernels: ", gemm_kernel_description(), "\n",
             "other kernels: ", xsimd::default_arch::name(), "\n");
}

inline int print_version(const char* name) {
  std::printf("%s", version_text(name).c_str());
  return 0;
}

// --device: cpu or cuda. A misspelt name is a usage error; a device this build or
// machine cannot use is an error naming why (exit 1).
inline Device read_device(const cxxopts::ParseResult& args, bool require = true) {
  const std::string name = args["device"].as<std::string>();
  if (name != "cpu" && name != "cuda") throw UsageError(str("--device: expected cpu or cuda, got '", name, "'"));
  const Device device = parse_device(name, "--device");
  if (require) require_device(device, "--device");
  return device;
}

inline void set_threads(int threads) {
  if (!(threads >= 0 && threads <= 1024))
    throw UsageError(str("--threads: expected 0 (all cores) to 1024, got ", threads));
#ifdef GANOMALY_OPENMP
  if (threads > 0) omp_set_num_threads(threads);
#endif
}

}  // namespace gan::app
