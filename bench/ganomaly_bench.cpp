// ganomaly_bench: training and scoring speed of the GANomaly network, and its peak
// memory; with --compare-torch, the same work in PyTorch (tools/torch_bench.py), and with
// --compare-onnxruntime the same scoring in ONNX Runtime (bench/ort_bench.js, on the graph
// ganomaly_export --features never writes), timed in the same run in alternating
// repetitions (ours, PyTorch, ONNX Runtime, ours, ...), each side held to the same thread
// count and checked for it by its CPU time over wall time. Before its repetitions PyTorch
// tries its configurations (tools/torch_bench.py --probe: BLAS library, OpenBLAS kernels,
// BLAS threads, ATen kernels) and is timed in its fastest. Each side's GFLOP/s (the
// step's FLOPs from the network's shapes, step_flops.h) is printed beside the machine's
// FMA peak (fma_peak.h), with the CPU and the environment variables that change BLAS or
// OpenMP behaviour. The result is Markdown (bench_stats.h) that
// tools/update_speed_table.py pastes into the README.
#include <sys/resource.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <cxxopts.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "bench_process.h"
#include "bench_stats.h"
#include "fma_peak.h"
#include "machine_info.h"
#include "reference_sides.h"
#include "ganomaly/eval/calibration.h"
#include "ganomaly/io/onnx_export.h"
#include "ganomaly/model/ganomaly.h"
#include "step_flops.h"
#include "step_profile.h"
#include "tensor/device.h"
#include "tensor/storage.h"
#include "tensor/thread_defaults.h"  // the apps' OpenMP wait policy, so that the bench measures what they do
#ifdef GANOMALY_OPENMP
#include <omp.h>
#endif

using namespace gan;
using bench::Config;
using namespace gan::bench;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Returns the pool's cached buffers and malloc's free pages to the system, so that the
// next repetition starts from the RSS of a process without a model.
void release_memory() {
  pool::release_cached();
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

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

void print_measure(const char* side, const Config& c, int rep, int reps, const Measure& m) {
  std::printf("%4d px, batch %d, %d thread%s, repetition %d/%d, %-5s: ", c.size, c.batch, c.threads,
              c.threads == 1 ? "" : "s", rep, reps, side);
  if (m.train > 0)  // ONNX Runtime scores only
    std::printf("train %8.2f img/s (CPU/wall %.2f%s), ", m.train, m.cpu_train,
                bench::over_threads(m.cpu_train, c.threads) ? " (!)" : "");
  std::printf("score %8.2f img/s (CPU/wall %.2f%s), %d OS threads, peak RSS %.0f MiB (%.0f before the model)\n",
              m.score, m.cpu_score, bench::over_threads(m.cpu_score, c.threads) ? " (!)" : "", m.os_threads, m.rss_mib,
              m.rss_before_mib);
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



// "label: train 35.2, score 190 img/s" for a probe candidate.
std::string probe_line(const nlohmann::json& entry) {
  if (entry.contains("error")) return entry.at("config").dump() + ": failed";
  return entry.at("label").get<std::string>() + ": train " + bench::figure(entry.at("train_fastest_step_img_s")) +
         ", score " + bench::figure(entry.at("score_fastest_step_img_s")) + " img/s";
}

// "measured" JSON of one side's repetition.
nlohmann::json measure_json(const Measure& m) {
  return {{"train_img_s", m.train},         {"score_img_s", m.score},
          {"train_cpu_per_wall", m.cpu_train}, {"score_cpu_per_wall", m.cpu_score},
          {"peak_rss_mib", m.rss_mib},      {"rss_before_model_mib", m.rss_before_mib},
          {"os_threads", m.os_threads}};
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options options("ganomaly_bench",
                           "GANomaly training and scoring speed, optionally against PyTorch and ONNX Runtime");
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
      "torch-probe-steps", "timed steps of each PyTorch configuration tried before the repetitions (0: no probe, "
      "PyTorch as the environment sets it up)", cxxopts::value<int>()->default_value("3"))(
      "torch-blas-dir", "also try PyTorch with the libblas.so.3 in this folder (repeatable)",
      cxxopts::value<std::vector<std::string>>()->default_value(""))(
      "compare-onnxruntime", "also time ONNX Runtime's scoring (needs node and --onnxruntime)")(
      "onnxruntime", "the node_modules folder holding onnxruntime-node (tools/onnxruntime/install.sh installs it)",
      cxxopts::value<std::string>()->default_value(""))(
      "ort-script", "the ONNX Runtime side", cxxopts::value<std::string>()->default_value("bench/ort_bench.js"))(
      "node", "the node.js interpreter", cxxopts::value<std::string>()->default_value("node"))(
      "markdown", "also write the table and its notes to this file (tools/update_speed_table.py reads it)",
      cxxopts::value<std::string>()->default_value(""))(
      "json", "also write every figure to this JSON file", cxxopts::value<std::string>()->default_value(""))(
      "device", "cpu or cuda (a CUDA build)", cxxopts::value<std::string>()->default_value("cpu"))(
      "profile", "instead of timing: where the CPU time of our training step and scoring pass goes, per op family")(
      "h,help", "show this help");
  std::vector<std::string> temp_files;
  auto remove_temp_files = [&] {
    for (const std::string& f : temp_files) std::remove(f.c_str());
  };
  try {
    const auto args = options.parse(argc, argv);
    if (args.count("help")) {
      std::printf("%s\n", options.help().c_str());
      return 0;
    }
    const int steps = args["steps"].as<int>(), warmup = args["warmup"].as<int>(), reps = args["reps"].as<int>();
    const int probe_steps = args["torch-probe-steps"].as<int>();
    if (steps < 1 || warmup < 0 || reps < 1 || probe_steps < 0)
      throw std::invalid_argument("expected --steps >= 1, --warmup >= 0, --reps >= 1, --torch-probe-steps >= 0");
    const bool torch = args.count("compare-torch") > 0;
    bool ort = args.count("compare-onnxruntime") > 0;
    const Device device = parse_device(args["device"].as<std::string>(), "--device");
    require_device(device, "--device");
    if ((torch || ort) && device != Device::cpu)
      throw std::invalid_argument("--compare-torch, --compare-onnxruntime: the references run on the CPU only");
    std::vector<std::string> blas_dirs;
    for (const std::string& d : args["torch-blas-dir"].as<std::vector<std::string>>())
      if (!d.empty()) {
        if (!std::filesystem::is_regular_file(std::filesystem::path(d) / "libblas.so.3"))
          throw std::invalid_argument("--torch-blas-dir: expected a folder holding libblas.so.3, got '" + d + "'");
        blas_dirs.push_back(d);
      }
    // ONNX Runtime is skipped, with the reason in the notes, when node or the package is absent.
    std::string ort_skipped;
    const std::string node = args["node"].as<std::string>(), node_path = args["onnxruntime"].as<std::string>();
    if (ort && !executable_on_path(node)) ort_skipped = "node (" + node + ") is not installed";
    else if (ort && !std::filesystem::is_directory(node_path + "/onnxruntime-node"))
      ort_skipped = "--onnxruntime: expected the node_modules folder holding onnxruntime-node, got '" + node_path +
                    "' (tools/onnxruntime/install.sh BUILD_DIR installs it)";
    if (!ort_skipped.empty()) {
      std::printf("ONNX Runtime: skipped: %s\n", ort_skipped.c_str());
      ort = false;
    }
    std::vector<Config> configs;
    for (const std::string& text : args["configs"].as<std::vector<std::string>>())
      if (!text.empty()) configs.push_back(bench::parse_config(text));
    if (configs.empty())
      for (int size : args["sizes"].as<std::vector<int>>())
        for (int threads : args["threads"].as<std::vector<int>>())
          configs.push_back(bench::parse_config(std::to_string(size) + ":" + std::to_string(args["batch"].as<int>()) +
                                                ":" + std::to_string(threads)));
    if (args.count("profile")) {
      if (device != Device::cpu) throw std::invalid_argument("--profile: profiles the CPU kernels only (--device cpu)");
      std::printf("gemm kernels: %s; load average %s\n\n", gemm_kernel_description().c_str(), load_average().c_str());
      for (const Config& c : configs) {
#ifdef GANOMALY_OPENMP
        omp_set_num_threads(c.threads);
#else
        if (c.threads != 1) throw std::invalid_argument("--threads: this build has no OpenMP: 1 thread only");
#endif
        bench::profile_config(c, steps, warmup, reps);
      }
      return 0;
    }
    std::string command = "ganomaly_bench";
    for (int i = 1; i < argc; ++i) command += std::string(" ") + argv[i];
    auto cpu = cpu_fields();
    const std::string machine = cpu["model name"];
    const auto environment = behaviour_environment();
    const std::string load_before = load_average();
    const bool peak_reset = reset_peak_rss();
    std::printf("CPU: %s (vendor %s, family %s, model %s, stepping %s), %u cores\nCPU flags: %s\n", machine.c_str(),
                cpu["vendor_id"].c_str(), cpu["cpu family"].c_str(), cpu["model"].c_str(), cpu["stepping"].c_str(),
                std::thread::hardware_concurrency(), cpu["flags"].c_str());
    std::printf("environment (BLAS, OpenMP, oneDNN, ATen, loader):");
    for (const auto& [k, v] : environment) std::printf(" %s=%s", k.c_str(), v.c_str());
    std::printf("%s\ngemm kernels: %s; load average %s\n", environment.empty() ? " none" : "",
                gemm_kernel_description().c_str(), load_before.c_str());
    if (!peak_reset) std::printf("note: /proc/self/clear_refs is not writable: our peak RSS is the process's so far\n");
    std::fflush(stdout);

    // The FMA peak at each thread count, measured before any side runs.
    std::map<int, double> peak;
    for (const Config& c : configs)
      if (!peak.count(c.threads)) {
        peak[c.threads] = bench::fma_peak_gflops(c.threads);
        std::printf("FMA peak (%s), %d thread%s: %.1f GFLOP/s\n", bench::fma_peak_arch().c_str(), c.threads,
                    c.threads == 1 ? "" : "s", peak[c.threads]);
      }
    std::fflush(stdout);

    std::vector<bench::Row> rows;
    nlohmann::json results = nlohmann::json::array();
    std::string torch_version, ort_version;
    std::vector<std::string> torch_notes;  // one per configuration: what PyTorch ran, and its default
    std::map<int, std::string> onnx_files;  // image size -> exported graph
    for (const Config& c : configs) {
#ifdef GANOMALY_OPENMP
      omp_set_num_threads(c.threads);
      if (omp_get_max_threads() != c.threads) throw std::runtime_error("OpenMP does not take the thread count");
#else
      if (c.threads != 1) throw std::invalid_argument("--threads: this build has no OpenMP: 1 thread only");
#endif
      const bench::StepFlops flops = bench::step_flops(c.size);
      std::vector<Measure> ours, theirs, orts;
      nlohmann::json row_json = {{"image_size", c.size}, {"batch", c.batch}, {"threads", c.threads}, {"steps", steps},
                                 {"warmup", warmup}, {"flops_train_per_image", flops.train},
                                 {"flops_score_per_image", flops.score}, {"fma_peak_gflops", peak[c.threads]},
                                 {"ours", nlohmann::json::array()}};
      // PyTorch's configuration: the probe's fastest for each task, or as the environment has it.
      nlohmann::json train_config = {{"threads", c.threads}, {"blas_threads", c.threads}},
                     score_config = train_config;
      if (torch && probe_steps > 0) {
        std::printf("%4d px, batch %d, %d thread%s: PyTorch's configurations (%d timed steps each):\n", c.size, c.batch,
                    c.threads, c.threads == 1 ? "" : "s", probe_steps);
        std::fflush(stdout);
        const nlohmann::json probe = probe_torch(args["python"].as<std::string>(),
                                                 args["torch-script"].as<std::string>(), c, probe_steps, blas_dirs);
        train_config = probe.at("best_train").at("config");
        score_config = probe.at("best_score").at("config");
        row_json["torch_probe"] = probe;
        const nlohmann::json& def = probe.at("default");
        std::ostringstream note;
        note << c.size << " px, batch " << c.batch << ", " << c.threads << " thread" << (c.threads == 1 ? "" : "s")
             << ": training in " << probe.at("best_train").at("label").get<std::string>() << "; scoring in "
             << probe.at("best_score").at("label").get<std::string>() << "; oneDNN ISA "
             << probe.at("onednn").at("isa").get<std::string>() << ". Tried (the fastest of " << probe_steps
             << " steps each): ";
        bool first = true;
        for (const auto& entry : probe.at("tried")) note << (first ? "" : "; ") << probe_line(entry), first = false;
        note << ".";
        const double def_train = def.value("train_fastest_step_img_s", 0.0),
                     best_train = probe.at("best_train").at("train_fastest_step_img_s");
        if (def_train < 0.8 * best_train)
          note << " **As the machine sets it up, PyTorch trains at " << bench::figure(def_train) << " img/s; at its "
               << "best, " << bench::figure(best_train) << ".**";
        torch_notes.push_back(note.str());
        std::printf("  oneDNN: ISA %s; primitives %s\n", probe.at("onednn").at("isa").get<std::string>().c_str(),
                    probe.at("onednn").at("primitives").dump().c_str());
        std::printf("  training in: %s\n  scoring in:  %s\n", probe.at("best_train").at("label").get<std::string>().c_str(),
                    probe.at("best_score").at("label").get<std::string>().c_str());
        std::fflush(stdout);
      }
      if (ort && !onnx_files.count(c.size)) {
        const std::string path = (std::filesystem::temp_directory_path() /
                                  ("ganomaly_bench_" + std::to_string(getpid()) + "_" + std::to_string(c.size) + ".onnx"))
                                     .string();
        temp_files.push_back(path);
        export_onnx(c, path);
        onnx_files[c.size] = path;
      }
      for (int r = 1; r <= reps; ++r) {
        release_memory();
        if (peak_reset) reset_peak_rss();
        ours.push_back(time_ours(c, steps, warmup, device, peak_reset));
        release_memory();
        print_measure("ours", c, r, reps, ours.back());
        row_json["ours"].push_back(measure_json(ours.back()));
        if (bench::step_flops(c.size).params != ours.back().params)
          throw std::runtime_error("step_flops.h counts " + std::to_string(flops.params) + " parameters at " +
                                   std::to_string(c.size) + " px, the model has " + std::to_string(ours.back().params) +
                                   ": its FLOPs are not this network's");
        if (torch) {
          Measure m;
          nlohmann::json raw;
          const bool same = train_config == score_config;
          for (const char* task : same ? std::vector<const char*>{"both"} : std::vector<const char*>{"train", "score"})
            if (!time_torch(args["python"].as<std::string>(), args["torch-script"].as<std::string>(), c, steps,
                            warmup, std::string(task) == "score" ? score_config : train_config, task, m, raw))
              throw std::runtime_error("the PyTorch side failed (above)");
            else
              row_json["torch"].push_back(raw);
          if (m.params != ours.back().params)
            throw std::runtime_error("the PyTorch side's network has " + std::to_string(m.params) + " parameters, ours " +
                                     std::to_string(ours.back().params));
          torch_version = raw.value("torch_version", std::string());
          theirs.push_back(m);
          print_measure("torch", c, r, reps, m);
        }
        if (ort) {
          Measure m;
          nlohmann::json raw;
          if (!time_ort(node, node_path, args["ort-script"].as<std::string>(), onnx_files[c.size], c, steps, warmup, m,
                        raw))
            throw std::runtime_error("the ONNX Runtime side failed (above)");
          ort_version = raw.value("onnxruntime_version", std::string());
          orts.push_back(m);
          print_measure("ORT", c, r, reps, m);
          row_json["onnxruntime"].push_back(raw);
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
      row.flops_train = flops.train;
      row.flops_score = flops.score;
      row.peak_gflops = peak[c.threads];
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
      if (ort) {
        row.ort_score = summary_of(orts, &Measure::score);
        row.ort_cpu_score = max_of(orts, &Measure::cpu_score);
        row.ort_rss_mib = max_of(orts, &Measure::rss_mib);
        row.ort_rss_before_mib = summary_of(orts, &Measure::rss_before_mib).median;
        row_json["ort_score_img_s"] = row.ort_score.median;
      }
      rows.push_back(row);
      results.push_back(row_json);
    }
    remove_temp_files();

    const bench::Sides sides{torch, ort};
    const bool quick = bench::quick_run(steps, reps);
    std::ostringstream md;
    md << "<!-- ganomaly_bench table; quick=" << (quick ? 1 : 0) << " -->\n";
    md << bench::markdown_table(rows, sides) << "\n";
    md << "`" << command << "`, " << utc_now() << ": " << machine << ", " << std::thread::hardware_concurrency()
       << " cores, GEMM kernels " << gemm_kernel_description();
    if (torch) md << ", PyTorch " << torch_version << " (`" << args["torch-script"].as<std::string>() << "`)";
    if (ort) md << ", ONNX Runtime " << ort_version << " (npm's onnxruntime-node, CPU; `" << args["ort-script"].as<std::string>() << "`)";
    md << "; load average " << load_before << " before, " << load_average() << " after. ";
    md << "Each figure: median (min-max) of " << reps << " repetition" << (reps == 1 ? "" : "s")
       << (torch || ort ? ", the sides alternating," : "") << " of " << steps << " timed steps after " << warmup
       << " warm-up step" << (warmup == 1 ? "" : "s") << "; images per second. ";
    if (torch || ort)
      md << "Ratio: ours' median over the reference's (range: ours' min over its max to ours' max over its "
            "min; bold when all of it is at or above 1). ";
    if (ort)
      md << "ORT: ONNX Runtime at intra_op_num_threads = threads (inter-op 1, sequential, every graph optimisation) on "
            "the graph `ganomaly_export --features never` writes, the reconstruction and residual_max scores computed "
            "from its output in node. ";
    md << "CPU/wall: the process's CPU time over wall time in the timed steps, the largest of the repetitions; "
          "(!) marks a side that used more than its threads + 0.2 cores. Peak RSS: the process's VmHWM for "
          "that configuration (in brackets, RSS before the model is built"
       << (torch ? "; for PyTorch, the interpreter with torch imported" : "")
       << (ort ? "; for ORT, node with ONNX Runtime loaded" : "") << ").\n";
    if (bench::any_over_threads(rows))
      md << "\n**Warning: a side used more cores than its thread count (!); its figures are not comparable.**\n";
    if (!ort_skipped.empty()) md << "\nONNX Runtime: skipped: " << ort_skipped << ".\n";
    md << "\n" << bench::gflops_table(rows, sides) << "\n";
    md << "GFLOP/s: each side's median images per second times the FLOPs of an image's step (`bench/step_flops.h`: "
          "the convolutions and transposed convolutions of both encoders, the decoder and the discriminator, "
          "forward and backward, from the network's shapes; 2 FLOPs a multiply-add), beside the FMA peak "
          "(`bench/fma_peak.h`: independent fused multiply-adds on "
       << bench::fma_peak_arch() << " vectors at that many threads, measured at the start of the run).\n";
    if (torch && !torch_notes.empty()) {
      md << "\nPyTorch, at its fastest of the configurations `tools/torch_bench.py --probe` tried on this machine:\n\n";
      for (const std::string& note : torch_notes) md << "- " << note << "\n";
    }
    md << "\nCPU: " << machine << ", vendor " << cpu["vendor_id"] << ", family " << cpu["cpu family"] << ", model "
       << cpu["model"] << "; vector flags: " << simd_flags(cpu["flags"]) << ". Environment:";
    for (const auto& [k, v] : environment) md << " `" << k << "=" << v << "`";
    md << (environment.empty() ? " no variable that changes BLAS or OpenMP" : "") << ".\n";
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
      nlohmann::json all = {{"cpu", cpu}, {"environment", environment}, {"fma_peak_arch", bench::fma_peak_arch()},
                            {"configs", results}};
      std::ofstream out(json_path);
      out << all.dump(2) << "\n";
      if (!out) throw std::runtime_error(json_path + ": cannot write");
    }
  } catch (const std::exception& e) {
    remove_temp_files();
    std::fprintf(stderr, "ganomaly_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
