// ganomaly_bench: training and scoring speed of the GANomaly network at several image
// sizes, the GFLOP/s of its conv GEMMs, and peak memory; with --compare-torch, the
// PyTorch reference timed in the same run, and the ratios (the result that matters on a
// shared, noisy machine).
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cxxopts.hpp>
#include <sstream>

#include "ganomaly/ganomaly.h"
#include "tensor/backend.h"
#include "tensor/cpu/kernel_sets.h"
#include "tensor/storage.h"
#include <fstream>
#include <nlohmann/json.hpp>
#ifdef GANOMALY_OPENMP
#include <omp.h>
#endif

using namespace gan;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;
}

struct Speed {
  double train = 0, infer = 0, peak_rss_mb = 0;
};

// The batch is put on `device` once, as a training loop on a GPU would keep it there.
// Every timed call ends with host reads of its results (losses, scores), so the clock
// sees finished work on either device.
Speed time_model(int size, int batch, int steps, Device device) {
  ModelConfig config;
  config.image_size = size;
  Ganomaly model(config, Recipe::named("anomalib"), 42);
  model.to(device);
  Rng rng(1);
  Tensor host = Tensor::empty(Shape{batch, 3, size, size});
  for (int64_t i = 0; i < host.numel(); ++i) host.data()[i] = rng.uniform(-1.0f, 1.0f);
  const Tensor x = host.to(device);
  model.train_step(x);  // warm-up: fills the buffer pool
  auto t = Clock::now();
  for (int s = 0; s < steps; ++s) model.train_step(x);
  Speed speed;
  speed.train = batch * steps / seconds_since(t);
  // Scoring times the paper's latent score, the work the PyTorch reference times (a
  // generator pass); the feature score's two discriminator passes would add 2/3 to it.
  model.score(x, batch, nullptr, FeatureScore::skip);
  t = Clock::now();
  for (int s = 0; s < steps; ++s) model.score(x, batch, nullptr, FeatureScore::skip);
  speed.infer = batch * steps / seconds_since(t);
  return speed;
}

// The forward GEMMs of one encoder (M = out channels, K = in channels * 16, N = batch * pixels).
double encoder_gemm_gflops(int size, int batch) {
  struct Layer { int64_t m, k, n; };
  std::vector<Layer> layers;
  int64_t side = (size + 8 - 4) / 2 + 1, f = 64;
  layers.push_back({64, 3 * 16, batch * side * side});
  for (int d = size / 2; d > 4; d /= 2, f *= 2) {
    side = (side + 2 - 4) / 2 + 1;
    layers.push_back({2 * f, f * 16, batch * side * side});
  }
  layers.push_back({100, f * 16, batch});
  double flops = 0, time = 0;
  for (const Layer& l : layers) {
    std::vector<float> a(l.m * l.k, 0.5f), b(l.k * l.n, 0.25f), c(l.m * l.n);
    backend::gemm(false, false, l.m, l.n, l.k, 1.0f, a.data(), l.k, b.data(), l.n, 0.0f, c.data(), l.n);
    const auto t = Clock::now();
    const int reps = 3;
    for (int r = 0; r < reps; ++r)
      backend::gemm(false, false, l.m, l.n, l.k, 1.0f, a.data(), l.k, b.data(), l.n, 0.0f, c.data(), l.n);
    time += seconds_since(t);
    flops += 2.0 * l.m * l.n * l.k * reps;
  }
  return flops / time / 1e9;
}

// Runs the PyTorch reference and reads its "train_img_per_s=... infer_img_per_s=..." line.
bool time_torch(const std::string& script, int size, int batch, int steps, int threads, Speed& speed) {
  const std::string cmd = "/usr/bin/time -f peak_rss_kb=%M /usr/bin/python3 " + script + " --size " + std::to_string(size) + " --batch " +
                          std::to_string(batch) + " --steps " + std::to_string(steps) + " --threads " +
                          std::to_string(threads) + " 2>&1";
  std::FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return false;
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, pipe)) out += buf;
  const bool ok = pclose(pipe) == 0;
  const auto train = out.find("train_img_per_s="), infer = out.find("infer_img_per_s=");
  if (!ok || train == std::string::npos || infer == std::string::npos) {
    std::fprintf(stderr, "ganomaly_bench: the PyTorch reference failed: %s\n", out.c_str());
    return false;
  }
  speed.train = std::stod(out.substr(train + 16));
  speed.infer = std::stod(out.substr(infer + 16));
  const auto rss = out.find("peak_rss_kb=");
  if (rss != std::string::npos) speed.peak_rss_mb = std::stod(out.substr(rss + 12)) / 1024.0;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options options("ganomaly_bench", "GANomaly training and scoring speed, optionally against PyTorch");
  options.add_options()("sizes", "image sizes", cxxopts::value<std::vector<int>>()->default_value("32,64,128,256"))(
      "batch", "batch size", cxxopts::value<int>()->default_value("32"))(
      "steps", "timed steps per measurement", cxxopts::value<int>()->default_value("3"))(
      "compare-torch", "also time the PyTorch reference (needs /usr/bin/python3 with python3-torch)")(
      "threads", "thread counts to measure", cxxopts::value<std::vector<int>>()->default_value("2"))(
      "json", "also write the figures to this JSON file", cxxopts::value<std::string>()->default_value(""))(
      "device", "cpu or cuda (a CUDA build)", cxxopts::value<std::string>()->default_value("cpu"))(
      "torch-script", "the PyTorch reference script",
      cxxopts::value<std::string>()->default_value("../shared/reference/ganomaly_torch.py"))("h,help", "show this help");
  try {
    const auto args = options.parse(argc, argv);
    if (args.count("help")) {
      std::printf("%s\n", options.help().c_str());
      return 0;
    }
    const int batch = args["batch"].as<int>(), steps = args["steps"].as<int>();
    const bool torch = args.count("compare-torch") > 0;
    const Device device = parse_device(args["device"].as<std::string>(), "--device");
    backend::require_device(device, "--device");
    std::printf("gemm kernels: %s\n\n", gan::cpu::kernel_set_description().c_str());
    std::printf("| size | threads | train img/s | score img/s | conv GEMM GFLOP/s | peak RSS MiB |%s\n",
                torch ? " torch train | torch score | torch RSS MiB | train ratio | score ratio |" : "");
    std::printf("|---|---|---|---|---|---|%s\n", torch ? "---|---|---|---|---|" : "");
    nlohmann::json results = nlohmann::json::array();
    for (int size : args["sizes"].as<std::vector<int>>())
      for (int threads : args["threads"].as<std::vector<int>>()) {
#ifdef GANOMALY_OPENMP
        omp_set_num_threads(threads);
#endif
        // The GEMM timing first: its operands (malloc'd, returned on free) must not sit on
        // top of the model's cached buffers in the peak, which is the model's alone.
        const double gflops = device == Device::cpu ? encoder_gemm_gflops(size, batch) : 0.0;  // CPU GEMM only
        const Speed ours = time_model(size, batch, steps, device);
        // Peak RSS is per process and only grows: sizes run in increasing order.
        const double rss = peak_rss_mib();
        pool::release_cached();
        std::printf("| %d | %d | %.2f | %.2f | %.0f | %.0f |", size, threads, ours.train, ours.infer, gflops, rss);
        nlohmann::json row = {{"image_size", size},    {"threads", threads},       {"batch", batch},
                              {"train_img_s", ours.train}, {"score_img_s", ours.infer}, {"gemm_gflops", gflops},
                              {"peak_rss_mb", rss}};
        Speed ref;
        if (torch && time_torch(args["torch-script"].as<std::string>(), size, batch, steps, threads, ref)) {
          std::printf(" %.2f | %.2f | %.0f | %.2fx | %.2fx |", ref.train, ref.infer, ref.peak_rss_mb,
                      ours.train / ref.train, ours.infer / ref.infer);
          row["torch_peak_rss_mb"] = ref.peak_rss_mb;
          row["torch_train_img_s"] = ref.train;
          row["torch_score_img_s"] = ref.infer;
        }
        std::printf("\n");
        std::fflush(stdout);
        results.push_back(row);
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
