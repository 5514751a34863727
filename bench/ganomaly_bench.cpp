// ganomaly_bench: training and scoring speed of the GANomaly network, and its peak
// memory; with --compare-torch, the same work in PyTorch (tools/torch_bench.py) timed in
// the same run, in alternating repetitions (ours, PyTorch, ours, PyTorch, ...), each
// side held to the same thread count and checked for it by its CPU time over wall time.
// The result is a Markdown table (bench_stats.h) that tools/update_speed_table.py pastes
// into the README.
#include <sys/resource.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <chrono>
#include <cstdio>
#include <ctime>
#include <cxxopts.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "bench_stats.h"
#include "ganomaly/model/ganomaly.h"
#include "tensor/device.h"
#include "tensor/storage.h"
#ifdef GANOMALY_OPENMP
#include <omp.h>
#endif

using namespace gan;
using bench::Config;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// User plus system time of every thread of this process.
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

// A field of /proc/self/status as a number (kB for the memory fields); -1 if absent.
double proc_status(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.compare(0, field.size() + 1, field + ":") == 0) return std::stod(line.substr(field.size() + 1));
  return -1;
}

// Sets this process's peak RSS (VmHWM) back to its current RSS (Linux >= 4.0), so that
// each configuration's peak is its own, as PyTorch's is in its own process.
bool reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

// Returns the pool's cached buffers and malloc's free pages to the system, so that the
// next repetition starts from the RSS of a process without a model.
void release_memory() {
  pool::release_cached();
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

std::string first_line_of(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    if (line.compare(0, key.size(), key) == 0) {
      const auto colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  return "";
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

// One repetition of one side.
struct Measure {
  double train = 0, score = 0;          // images per second
  double cpu_train = 0, cpu_score = 0;  // CPU time / wall time over the timed steps
  double rss_mib = 0, rss_before_mib = 0;
  int os_threads = 0;
  int64_t params = 0;
};

// Our side: a fresh model, `warmup` untimed steps, `steps` timed training steps, then
// the same for scoring. The batch is put on `device` once, as a training loop on a GPU
// would keep it there. Every timed call ends with host reads of its results (losses,
// scores), so the clock sees finished work on either device. Scoring is
// Ganomaly::score without the feature score: one generator pass and the latent,
// reconstruction and residual_max scores, what tools/torch_bench.py computes.
Measure time_ours(const Config& c, int steps, int warmup, Device device, bool peak_reset) {
  Measure m;
  m.rss_before_mib = proc_status("VmRSS") / 1024.0;
  {
    ModelConfig config;
    config.image_size = c.size;
    Ganomaly model(config, Recipe::of(RecipeName::anomalib), 42);
    model.to(device);
    for (const auto* net : {static_cast<nn::Module*>(&model.generator), static_cast<nn::Module*>(&model.discriminator)})
      for (const Tensor& p : net->parameters()) m.params += p.numel();
    Rng rng(1);
    Tensor host = Tensor::empty(Shape{c.batch, 3, c.size, c.size});
    for (int64_t i = 0; i < host.numel(); ++i) host.data()[i] = rng.uniform(-1.0f, 1.0f);
    const Tensor x = host.to(device);
    auto timed = [&](auto&& fn, double& cpu_per_wall) {
      for (int s = 0; s < warmup; ++s) fn();
      const double cpu0 = cpu_seconds();
      const auto t = Clock::now();
      for (int s = 0; s < steps; ++s) fn();
      const double wall = seconds_since(t);
      cpu_per_wall = (cpu_seconds() - cpu0) / wall;
      return c.batch * steps / wall;
    };
    m.train = timed([&] { model.train_step(x); }, m.cpu_train);
    m.score = timed([&] { model.score(x, c.batch, nullptr, FeatureScore::skip); }, m.cpu_score);
    m.os_threads = static_cast<int>(proc_status("Threads"));
  }
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  m.rss_mib = peak_reset ? proc_status("VmHWM") / 1024.0 : u.ru_maxrss / 1024.0;
  return m;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

// PyTorch's side: one process of tools/torch_bench.py, the thread variables set in its
// environment (the script checks them before importing torch, and re-executes itself
// if they are not set); its last line "torch_bench {json}" holds the figures.
bool time_torch(const std::string& python, const std::string& script, const Config& c, int steps, int warmup,
                Measure& m, nlohmann::json& raw) {
  const std::string n = std::to_string(c.threads);
  const std::string cmd = "env OMP_NUM_THREADS=" + n + " OPENBLAS_NUM_THREADS=" + n + " MKL_NUM_THREADS=" + n + " " +
                          shell_quote(python) + " " + shell_quote(script) + " --size " + std::to_string(c.size) +
                          " --batch " + std::to_string(c.batch) + " --steps " + std::to_string(steps) + " --warmup " +
                          std::to_string(warmup) + " --threads " + n + " 2>&1";
  std::FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return false;
  std::string out, line;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, pipe)) out += buf;
  const bool ok = pclose(pipe) == 0;
  const auto at = out.rfind("torch_bench {");
  if (!ok || at == std::string::npos) {
    std::fprintf(stderr, "ganomaly_bench: the PyTorch side failed (%s):\n%s\n", cmd.c_str(), out.c_str());
    return false;
  }
  raw = nlohmann::json::parse(out.substr(at + 12, out.find('\n', at) - at - 12));
  m.train = raw.at("train_img_s");
  m.score = raw.at("score_img_s");
  m.cpu_train = raw.at("train_cpu_per_wall");
  m.cpu_score = raw.at("score_cpu_per_wall");
  m.rss_mib = raw.at("peak_rss_mib");
  m.rss_before_mib = raw.at("rss_before_model_mib");
  m.os_threads = raw.at("os_threads");
  m.params = raw.at("params");
  // The thread counts it was given and the ones it reports must be the one asked for.
  for (const char* v : {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"})
    if (raw.at("env").value(v, std::string()) != n)
      throw std::runtime_error(std::string("the PyTorch side ran with ") + v + " != " + n);
  if (raw.at("torch_num_threads") != c.threads || raw.at("torch_num_interop_threads") != c.threads)
    throw std::runtime_error("the PyTorch side reports other thread counts than " + n);
  return true;
}

void print_measure(const char* side, const Config& c, int rep, int reps, const Measure& m) {
  std::printf("%4d px, batch %d, %d thread%s, repetition %d/%d, %-5s: train %8.2f img/s (CPU/wall %.2f%s), score %8.2f img/s "
              "(CPU/wall %.2f%s), %d OS threads, peak RSS %.0f MiB (%.0f before the model)\n",
              c.size, c.batch, c.threads, c.threads == 1 ? "" : "s", rep, reps, side, m.train, m.cpu_train,
              bench::over_threads(m.cpu_train, c.threads) ? " (!)" : "", m.score, m.cpu_score,
              bench::over_threads(m.cpu_score, c.threads) ? " (!)" : "", m.os_threads, m.rss_mib, m.rss_before_mib);
  std::fflush(stdout);
}

double max_of(const std::vector<Measure>& ms, double Measure::*field) {
  double v = 0;
  for (const Measure& m : ms) v = std::max(v, m.*field);
  return v;
}

bench::Summary summary_of(const std::vector<Measure>& ms, double Measure::*field) {
  std::vector<double> v;
  for (const Measure& m : ms) v.push_back(m.*field);
  return bench::summarize(v);
}

std::string utc_now() {
  char buf[64];
  const std::time_t t = std::time(nullptr);
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", std::gmtime(&t));
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options options("ganomaly_bench", "GANomaly training and scoring speed, optionally against PyTorch");
  options.add_options()("configs", "SIZE:BATCH:THREADS,... (overrides --sizes, --batch and --threads)",
                        cxxopts::value<std::vector<std::string>>()->default_value(""))(
      "sizes", "image sizes (powers of two)", cxxopts::value<std::vector<int>>()->default_value("64"))(
      "batch", "batch size", cxxopts::value<int>()->default_value("32"))(
      "threads", "thread counts to measure", cxxopts::value<std::vector<int>>()->default_value("2"))(
      "steps", "timed steps per repetition (below 20 the run is marked quick)", cxxopts::value<int>()->default_value("20"))(
      "warmup", "untimed steps before the timed ones", cxxopts::value<int>()->default_value("2"))(
      "reps", "repetitions of each side, alternating (below 3 the run is marked quick)",
      cxxopts::value<int>()->default_value("3"))(
      "compare-torch", "also time PyTorch (needs /usr/bin/python3 with python3-torch)")(
      "torch-script", "the PyTorch side", cxxopts::value<std::string>()->default_value("tools/torch_bench.py"))(
      "python", "the interpreter that has torch", cxxopts::value<std::string>()->default_value("/usr/bin/python3"))(
      "markdown", "also write the table and its notes to this file (tools/update_speed_table.py reads it)",
      cxxopts::value<std::string>()->default_value(""))(
      "json", "also write every figure to this JSON file", cxxopts::value<std::string>()->default_value(""))(
      "device", "cpu or cuda (a CUDA build)", cxxopts::value<std::string>()->default_value("cpu"))("h,help", "show this help");
  try {
    const auto args = options.parse(argc, argv);
    if (args.count("help")) {
      std::printf("%s\n", options.help().c_str());
      return 0;
    }
    const int steps = args["steps"].as<int>(), warmup = args["warmup"].as<int>(), reps = args["reps"].as<int>();
    if (steps < 1 || warmup < 0 || reps < 1) throw std::invalid_argument("expected --steps >= 1, --warmup >= 0, --reps >= 1");
    const bool torch = args.count("compare-torch") > 0;
    const Device device = parse_device(args["device"].as<std::string>(), "--device");
    require_device(device, "--device");
    if (torch && device != Device::cpu) throw std::invalid_argument("--compare-torch: the PyTorch side runs on the CPU only");
    std::vector<Config> configs;
    for (const std::string& text : args["configs"].as<std::vector<std::string>>())
      if (!text.empty()) configs.push_back(bench::parse_config(text));
    if (configs.empty())
      for (int size : args["sizes"].as<std::vector<int>>())
        for (int threads : args["threads"].as<std::vector<int>>())
          configs.push_back(bench::parse_config(std::to_string(size) + ":" + std::to_string(args["batch"].as<int>()) +
                                                ":" + std::to_string(threads)));
    std::string command = "ganomaly_bench";
    for (int i = 1; i < argc; ++i) command += std::string(" ") + argv[i];
    const std::string machine = first_line_of("/proc/cpuinfo", "model name");
    const std::string load_before = load_average();
    const bool peak_reset = reset_peak_rss();
    std::printf("gemm kernels: %s; %s, %u cores; load average %s\n", gemm_kernel_description().c_str(),
                machine.c_str(), std::thread::hardware_concurrency(), load_before.c_str());
    if (!peak_reset) std::printf("note: /proc/self/clear_refs is not writable: our peak RSS is the process's so far\n");
    std::fflush(stdout);

    std::vector<bench::Row> rows;
    nlohmann::json results = nlohmann::json::array();
    std::string torch_version;
    for (const Config& c : configs) {
#ifdef GANOMALY_OPENMP
      omp_set_num_threads(c.threads);
      if (omp_get_max_threads() != c.threads) throw std::runtime_error("OpenMP does not take the thread count");
#else
      if (c.threads != 1) throw std::invalid_argument("--threads: this build has no OpenMP: 1 thread only");
#endif
      std::vector<Measure> ours, theirs;
      nlohmann::json row_json = {{"image_size", c.size}, {"batch", c.batch}, {"threads", c.threads}, {"steps", steps},
                                 {"warmup", warmup},     {"ours", nlohmann::json::array()}};
      for (int r = 1; r <= reps; ++r) {
        release_memory();
        if (peak_reset) reset_peak_rss();
        ours.push_back(time_ours(c, steps, warmup, device, peak_reset));
        release_memory();
        print_measure("ours", c, r, reps, ours.back());
        row_json["ours"].push_back({{"train_img_s", ours.back().train},
                                    {"score_img_s", ours.back().score},
                                    {"train_cpu_per_wall", ours.back().cpu_train},
                                    {"score_cpu_per_wall", ours.back().cpu_score},
                                    {"peak_rss_mib", ours.back().rss_mib},
                                    {"rss_before_model_mib", ours.back().rss_before_mib},
                                    {"os_threads", ours.back().os_threads}});
        if (torch) {
          Measure m;
          nlohmann::json raw;
          if (!time_torch(args["python"].as<std::string>(), args["torch-script"].as<std::string>(), c, steps, warmup, m,
                          raw))
            throw std::runtime_error("the PyTorch side failed (above)");
          if (m.params != ours.back().params)
            throw std::runtime_error("the PyTorch side's network has " + std::to_string(m.params) + " parameters, ours " +
                                     std::to_string(ours.back().params));
          torch_version = raw.value("torch_version", std::string());
          theirs.push_back(m);
          print_measure("torch", c, r, reps, m);
          row_json["torch"].push_back(raw);
        }
      }
      bench::Row row;
      row.size = c.size;
      row.batch = c.batch;
      row.threads = c.threads;
      row.train = summary_of(ours, &Measure::train);
      row.score = summary_of(ours, &Measure::score);
      row.cpu_train = max_of(ours, &Measure::cpu_train);
      row.cpu_score = max_of(ours, &Measure::cpu_score);
      row.rss_mib = max_of(ours, &Measure::rss_mib);
      row.rss_before_mib = summary_of(ours, &Measure::rss_before_mib).median;
      // The former keys, medians now, for tools that read them (tools/cuda_check.sh).
      row_json["train_img_s"] = row.train.median;
      row_json["score_img_s"] = row.score.median;
      row_json["peak_rss_mb"] = row.rss_mib;
      if (torch) {
        row.torch_train = summary_of(theirs, &Measure::train);
        row.torch_score = summary_of(theirs, &Measure::score);
        row.torch_cpu_train = max_of(theirs, &Measure::cpu_train);
        row.torch_cpu_score = max_of(theirs, &Measure::cpu_score);
        row.torch_rss_mib = max_of(theirs, &Measure::rss_mib);
        row.torch_rss_before_mib = summary_of(theirs, &Measure::rss_before_mib).median;
        row_json["torch_train_img_s"] = row.torch_train.median;
        row_json["torch_score_img_s"] = row.torch_score.median;
        row_json["torch_peak_rss_mb"] = row.torch_rss_mib;
      }
      rows.push_back(row);
      results.push_back(row_json);
    }

    const bool quick = bench::quick_run(steps, reps);
    std::ostringstream md;
    md << "<!-- ganomaly_bench table; quick=" << (quick ? 1 : 0) << " -->\n";
    md << bench::markdown_table(rows, torch) << "\n";
    md << "`" << command << "`, " << utc_now() << ": " << machine << ", " << std::thread::hardware_concurrency()
       << " cores, GEMM kernels " << gemm_kernel_description();
    if (torch) md << ", PyTorch " << torch_version << " (`" << args["torch-script"].as<std::string>() << "`)";
    md << "; load average " << load_before << " before, " << load_average() << " after. ";
    md << "Each figure: median (min-max) of " << reps << " repetition" << (reps == 1 ? "" : "s")
       << (torch ? ", ours and PyTorch alternating," : "") << " of " << steps << " timed steps after " << warmup
       << " warm-up step" << (warmup == 1 ? "" : "s") << "; images per second. ";
    if (torch)
      md << "Ratio: ours' median over PyTorch's (range: ours' min over PyTorch's max to ours' max over PyTorch's "
            "min; bold when all of it is at or above 1). ";
    md << "CPU/wall: the process's CPU time over wall time in the timed steps, the largest of the repetitions; "
          "(!) marks a side that used more than its threads + 0.2 cores. Peak RSS: the process's VmHWM for "
          "that configuration (in brackets, RSS before the model is built"
       << (torch ? "; for PyTorch, the interpreter with torch imported" : "") << ").\n";
    if (bench::any_over_threads(rows))
      md << "\n**Warning: a side used more cores than its thread count (!); its figures are not comparable.**\n";
    if (quick)
      md << "\n**Quick run** (fewer than 20 timed steps or 3 repetitions): a smoke test, not for the README.\n";
    std::printf("\n%s", md.str().c_str());
    std::fflush(stdout);

    const std::string md_path = args["markdown"].as<std::string>();
    if (!md_path.empty()) {
      std::ofstream out(md_path);
      out << md.str();
      if (!out) throw std::runtime_error(md_path + ": cannot write");
    }
    const std::string json_path = args["json"].as<std::string>();
    if (!json_path.empty()) {
      std::ofstream out(json_path);
      out << results.dump(2) << "\n";
      if (!out) throw std::runtime_error(json_path + ": cannot write");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ganomaly_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
