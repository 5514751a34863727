// GFLOP/s of gan::cpu::gemm (called through the facade, backend::gemm on Device::cpu) on a
// square product and on the GANomaly encoder's conv GEMMs (batch 32, forward / dW /
// dcol), next to OpenBLAS's cblas_sgemm when libopenblas.so.0 can be dlopen'ed at run
// time (no link-time dependency).
//
//   OMP_NUM_THREADS=2 ./bench_gemm [--sizes 64,256] [--square 2048] [--min-time 0.3]
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <cxxopts.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "tensor/backend.h"
#include "tensor/device.h"

namespace {

struct Shape {
  std::string name;
  bool ta, tb;
  int64_t m, n, k;
};

// cblas_sgemm with OpenBLAS's 32-bit integers; CblasRowMajor = 101, NoTrans = 111, Trans = 112.
using cblas_sgemm_fn = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int, float,
                                float*, int);
using set_threads_fn = void (*)(int);

struct OpenBlas {
  cblas_sgemm_fn sgemm = nullptr;
  std::string config;
  OpenBlas() {
    void* lib = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return;
    sgemm = reinterpret_cast<cblas_sgemm_fn>(dlsym(lib, "cblas_sgemm"));
    // Same thread count as ours, whatever OpenBLAS picked up from the environment.
    if (auto set = reinterpret_cast<set_threads_fn>(dlsym(lib, "openblas_set_num_threads"))) {
#ifdef _OPENMP
      set(omp_get_max_threads());
#else
      set(1);
#endif
    }
    if (auto get = reinterpret_cast<char* (*)()>(dlsym(lib, "openblas_get_config"))) config = get();
  }
};

// GANomaly encoder (DCGAN): 4x4 stride-2 convs from 3 channels to 64, doubling the
// channels and halving the size down to 4x4, then a 4x4 valid conv to nz = 100.
// Conv as GEMM, batch B side by side: forward Y[OC, B*OHW] = W[OC, IC*16] col[IC*16, B*OHW];
// dW = dY col^T (B transposed, K = B*OHW); dcol = W^T dY (A transposed, K = OC).
std::vector<Shape> ganomaly_shapes(int64_t isize, int64_t batch) {
  std::vector<Shape> shapes;
  int64_t ic = 3, oc = 64, size = isize;
  auto add = [&](int64_t in_c, int64_t out_c, int64_t out_hw) {
    const int64_t ckk = in_c * 16, cols = batch * out_hw;
    std::ostringstream tag;
    tag << "i" << isize << " " << in_c << "->" << out_c << "@" << static_cast<int64_t>(std::sqrt(out_hw));
    shapes.push_back({tag.str() + " fwd", false, false, out_c, cols, ckk});
    shapes.push_back({tag.str() + " dW", false, true, out_c, ckk, cols});
    shapes.push_back({tag.str() + " dcol", true, false, ckk, cols, out_c});
  };
  while (size / 2 > 4) {
    add(ic, oc, (size / 2) * (size / 2));
    size /= 2, ic = oc, oc *= 2;
  }
  add(ic, oc, 16);  // last stride-2 conv down to 4x4
  add(oc, 100, 1);  // 4x4 valid conv to the latent
  return shapes;
}

// Best of the calls made within min_time (at least 3): the machine is shared, and the
// fastest call is the one least disturbed by other processes.
// With cpu_time, calls are timed by the process's CPU time instead of the wall clock:
// single-threaded, that ignores the time other processes hold the core (for tuning).
bool cpu_time = false;
double now() {
  if (!cpu_time) return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

template <class F>
double seconds_per_call(F&& f, double min_time) {
  f();  // warm-up: workspaces, page faults, thread pool
  double best = 1e30, total = 0.0;
  for (int reps = 0; reps < 3 || total < min_time; ++reps) {
    const double t0 = now();
    f();
    const double t = now() - t0;
    best = std::min(best, t), total += t;
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options options("bench_gemm", "GFLOP/s of gan::cpu::gemm vs OpenBLAS");
  options.add_options()("sizes", "GANomaly image sizes", cxxopts::value<std::vector<int>>()->default_value("64,256"))(
      "square", "square size (0: skip)", cxxopts::value<int>()->default_value("2048"))(
      "batch", "batch size", cxxopts::value<int>()->default_value("32"))(
      "min-time", "seconds per measurement", cxxopts::value<double>()->default_value("0.3"))(
      "no-blas", "skip OpenBLAS")("cpu-time", "time by process CPU time (use with 1 thread on a busy machine)")("h,help", "help");
  const auto args = options.parse(argc, argv);
  if (args.count("help")) {
    std::printf("%s\n", options.help().c_str());
    return 0;
  }
  const double min_time = args["min-time"].as<double>();
  cpu_time = args.count("cpu-time") > 0;

  std::vector<Shape> shapes;
  if (const int s = args["square"].as<int>(); s > 0)
    shapes.push_back({"square " + std::to_string(s), false, false, s, s, s});
  shapes.push_back({"brief fwd 128x1024x(32*17*17)", false, false, 128, 32 * 17 * 17, 1024});
  shapes.push_back({"brief fwd 512x4096x512", false, false, 512, 512, 4096});
  shapes.push_back({"brief fwd 100x8192x32", false, false, 100, 32, 8192});
  for (int size : args["sizes"].as<std::vector<int>>()) {
    const auto more = ganomaly_shapes(size, args["batch"].as<int>());
    shapes.insert(shapes.end(), more.begin(), more.end());
  }

  OpenBlas blas;
  if (args.count("no-blas")) blas.sgemm = nullptr;
  int threads = 1;
#ifdef _OPENMP
  threads = omp_get_max_threads();
#endif
  std::printf("gemm kernels %s; ", gan::gemm_kernel_description().c_str());
  std::printf("threads %d; OpenBLAS: %s\n", threads,
              blas.sgemm ? (blas.config.empty() ? "yes" : blas.config.c_str()) : "not found");
  std::printf("%-28s %5s %6s %7s %7s %9s %9s %7s %9s\n", "shape", "trans", "M", "N", "K", "ours", "openblas", "ratio",
              "max diff");

  // Two phases, ours on every shape and then OpenBLAS on every shape, with a pause in
  // between: each library's idle threads spin for a while after a call, and on a 2-core
  // machine interleaving the two would time one library against the other's spinners.
  struct Operands {
    std::vector<float> a, b, c;
  };
  auto make = [](const Shape& s) {
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    Operands o{std::vector<float>(s.m * s.k), std::vector<float>(s.k * s.n), std::vector<float>(s.m * s.n)};
    for (float& x : o.a) x = dist(rng);
    for (float& x : o.b) x = dist(rng);
    return o;
  };
  // Stored shapes: A is [m,k] or [k,m], B is [k,n] or [n,k]; tight leading dimensions.
  auto ours = [](const Shape& s, Operands& o) {
    gan::backend::gemm(gan::Device::cpu, s.ta, s.tb, s.m, s.n, s.k, 1.0f, o.a.data(), s.ta ? s.m : s.k, o.b.data(),
                       s.tb ? s.k : s.n, 0.0f, o.c.data(), s.n);
  };
  auto theirs = [&blas](const Shape& s, Operands& o) {
    blas.sgemm(101, s.ta ? 112 : 111, s.tb ? 112 : 111, static_cast<int>(s.m), static_cast<int>(s.n),
               static_cast<int>(s.k), 1.0f, o.a.data(), static_cast<int>(s.ta ? s.m : s.k), o.b.data(),
               static_cast<int>(s.tb ? s.k : s.n), 0.0f, o.c.data(), static_cast<int>(s.n));
  };

  std::vector<double> g_ours, g_blas, diffs;
  for (const Shape& s : shapes) {
    Operands o = make(s);
    g_ours.push_back(2.0 * s.m * s.n * s.k / seconds_per_call([&] { ours(s, o); }, min_time) * 1e-9);
  }
  if (blas.sgemm) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    for (const Shape& s : shapes) {
      Operands o = make(s);
      g_blas.push_back(2.0 * s.m * s.n * s.k / seconds_per_call([&] { theirs(s, o); }, min_time) * 1e-9);
      // Sanity check (untimed): both results agree up to float rounding.
      const std::vector<float> ref = o.c;
      ours(s, o);
      double diff = 0.0;
      for (size_t i = 0; i < ref.size(); ++i) diff = std::max(diff, static_cast<double>(std::fabs(o.c[i] - ref[i])));
      diffs.push_back(diff);
    }
  }

  double log_ratio_sum = 0.0;
  int ratio_count = 0;
  for (size_t i = 0; i < shapes.size(); ++i) {
    const Shape& s = shapes[i];
    std::printf("%-28s %c%c    %6lld %7lld %7lld %9.1f", s.name.c_str(), s.ta ? 'T' : 'N', s.tb ? 'T' : 'N',
                static_cast<long long>(s.m), static_cast<long long>(s.n), static_cast<long long>(s.k), g_ours[i]);
    if (blas.sgemm) {
      std::printf(" %9.1f %7.2f %9.2e", g_blas[i], g_ours[i] / g_blas[i], diffs[i]);
      log_ratio_sum += std::log(g_ours[i] / g_blas[i]);
      ++ratio_count;
    }
    std::printf("\n");
  }
  if (ratio_count) std::printf("geometric mean ratio ours/OpenBLAS: %.2f\n", std::exp(log_ratio_sum / ratio_count));
  return 0;
}
