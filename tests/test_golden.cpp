// Our ops against PyTorch, op by op: forward values and the gradients of
// sum(out * dout), from the golden files tools/make_golden.py writes (the llm.c habit).
//
// Tolerance: |ours - ref| <= atol + rtol * |ref| elementwise, atol 1e-5, rtol 1e-4
// unless a case says otherwise. New buffers are poisoned with NaN, so a kernel that
// leaves an output element unwritten fails here (NaN never compares close).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/golden_io.h"
#include "nn/adam.h"
#include "support/set_grad.h"
#include "tensor/ops.h"
#include "tensor/storage.h"

using gan::Tensor;
using gan::golden::GoldenFile;
using gan::golden::GoldenTensor;
using gan::golden::path_of;

namespace {

const bool kPoisoned = (gan::pool::set_poison(true), true);

struct Tol {
  double atol = 1e-5;
  double rtol = 1e-4;
};

// GANOMALY_GOLDEN_TOL_SCALE=0.1 (say) scales every tolerance, to see how much margin
// each case has; unset means 1.
double tol_scale() {
  static const double scale = [] {
    const char* s = std::getenv("GANOMALY_GOLDEN_TOL_SCALE");
    return s ? std::atof(s) : 1.0;
  }();
  return scale;
}

// Compares shape and values; one CHECK per tensor, whose message names the case, the
// tensor, how many elements failed and the worst one.
void expect_close(const std::string& what, const Tensor& got, const GoldenTensor& ref, Tol tol = {}) {
  tol.atol *= tol_scale();
  tol.rtol *= tol_scale();
  std::vector<int64_t> dims;
  for (int d = 0; d < got.ndim(); ++d) dims.push_back(got.size(d));
  CHECK_MESSAGE(dims == ref.dims, what, ": shape ", got.shape().str(), ", reference ", ref.shape_str());
  if (dims != ref.dims) return;
  const float* a = got.data();
  int64_t bad = 0, worst = -1;
  double worst_excess = -1.0;
  for (int64_t i = 0; i < ref.numel(); ++i) {
    const double r = ref.data[i], v = a[i];
    const double allowed = tol.atol + tol.rtol * std::fabs(r);
    const double err = std::fabs(v - r);
    if (!(err <= allowed)) {  // NaN fails too
      ++bad;
      const double excess = std::isnan(err) ? INFINITY : err / allowed;
      if (excess > worst_excess) worst_excess = excess, worst = i;
    }
  }
  std::ostringstream msg;
  msg << std::setprecision(9) << what << ": " << bad << " of " << ref.numel() << " elements differ";
  if (worst >= 0)
    msg << "; worst [" << worst << "] ours " << a[worst] << " ref " << ref.data[worst] << " |diff| "
        << std::fabs(static_cast<double>(a[worst]) - ref.data[worst]) << " allowed "
        << tol.atol + tol.rtol * std::fabs(ref.data[worst]);
  msg << " (atol " << tol.atol << ", rtol " << tol.rtol << ")";
  CHECK_MESSAGE(bad == 0, msg.str());
}

void expect_close(const GoldenFile& g, const std::string& name, const Tensor& got, Tol tol = {}) {
  expect_close(g.path() + ": " + name, got, g.get(name), tol);
}

// A leaf from the file that asks for its gradient.
Tensor leaf(const GoldenFile& g, const std::string& name) {
  Tensor t = g.tensor(name);
  t.set_requires_grad(true);
  return t;
}

// Backward of sum(out * dout), the reduction the generator used.
void backward_with_dout(const GoldenFile& g, const Tensor& out) {
  Tensor loss = gan::sum(gan::mul(out, g.tensor("dout")));
  loss.backward();
}

// ---------------------------------------------------------------- case lists
// Kept in step with tools/make_golden.py; "every golden file is tested" below fails
// when a file has no entry here.
const std::vector<std::string> kConv2d = {
    "conv2d_k4s2p1_bias_b1",   "conv2d_k4s2p1_nobias_b3", "conv2d_k4s2p4_nobias_b3",
    "conv2d_k4s2p4_bias_b1",   "conv2d_k4s1p0_nobias_b3", "conv2d_k4s1p0_bias_b1",
    "conv2d_k3s1p1_bias_b3",   "conv2d_k3s1p1_nobias_b1",
};
const std::vector<std::string> kConvTranspose2d = {
    "conv_transpose2d_k4s1p0_nobias_b3", "conv_transpose2d_k4s1p0_bias_b1",
    "conv_transpose2d_k4s2p1_bias_b3",   "conv_transpose2d_k4s2p1_nobias_b1",
    "conv_transpose2d_k4s2p1_nobias_b3_nonsquare",
};
const std::vector<std::string> kBatchNorm = {
    "batch_norm2d_train_b4", "batch_norm2d_train_b1", "batch_norm2d_train_1x1", "batch_norm2d_eval_b3",
};
const std::vector<std::string> kActivations = {"leaky_relu", "relu", "tanh", "sigmoid"};
const std::vector<std::string> kPad = {"pad_center_5x7", "pad_center_6x3", "pad_center_9x16", "pad_center_4x4"};
const std::vector<std::string> kRegressionLosses = {"l1_loss", "mse_loss", "smooth_l1_loss"};
const std::vector<std::string> kSpectralNorm = {"spectral_norm_train", "spectral_norm_eval"};
const std::vector<std::string> kOther = {"bce_loss", "bce_loss_clamp", "adam_3steps"};

template <typename Conv>
void run_conv(const std::string& name, Conv conv) {
  const GoldenFile g(path_of(name));
  Tensor x = leaf(g, "x"), w = leaf(g, "weight");
  Tensor b = g.has("bias") ? leaf(g, "bias") : Tensor();
  Tensor out = conv(x, w, b, static_cast<int>(g.integer("stride")), static_cast<int>(g.integer("padding")));
  expect_close(g, "out", out);
  backward_with_dout(g, out);
  expect_close(g, "dx", x.grad());
  expect_close(g, "dweight", w.grad());
  if (b.defined()) expect_close(g, "dbias", b.grad());
}

}  // namespace

TEST_CASE("golden: conv2d") {
  for (const auto& name : kConv2d) {
    CAPTURE(name);
    run_conv(name, [](const Tensor& x, const Tensor& w, const Tensor& b, int s, int p) {
      return gan::conv2d(x, w, b, s, p);
    });
  }
}

TEST_CASE("golden: conv_transpose2d") {
  for (const auto& name : kConvTranspose2d) {
    CAPTURE(name);
    run_conv(name, [](const Tensor& x, const Tensor& w, const Tensor& b, int s, int p) {
      return gan::conv_transpose2d(x, w, b, s, p);
    });
  }
}

TEST_CASE("golden: batch_norm2d") {
  for (const auto& name : kBatchNorm) {
    CAPTURE(name);
    const GoldenFile g(path_of(name));
    Tensor x = leaf(g, "x"), w = leaf(g, "weight"), b = leaf(g, "bias");
    Tensor running_mean = g.tensor("running_mean"), running_var = g.tensor("running_var");
    const bool training = g.scalar("training") != 0.0f;
    Tensor out = gan::batch_norm2d(x, w, b, running_mean, running_var, training, g.scalar("momentum"),
                                   g.scalar("eps"));
    expect_close(g, "out", out);
    // Eval mode must leave them as they were; training applies momentum 0.1 with the
    // unbiased batch variance.
    expect_close(g, "running_mean_out", running_mean);
    expect_close(g, "running_var_out", running_var);
    backward_with_dout(g, out);
    expect_close(g, "dx", x.grad());
    expect_close(g, "dweight", w.grad());
    expect_close(g, "dbias", b.grad());
  }
}

TEST_CASE("golden: spectral_normalize as torch.nn.utils.spectral_norm") {
  for (const auto& name : kSpectralNorm) {
    CAPTURE(name);
    const GoldenFile g(path_of(name));
    Tensor w = leaf(g, "weight"), u = g.tensor("u"), v = g.tensor("v");
    Tensor out = gan::spectral_normalize(w, u, v, /*power_iteration=*/g.scalar("training") != 0.0f);
    expect_close(g, "out", out);
    expect_close(g, "u_out", u);  // eval mode leaves them as they were
    expect_close(g, "v_out", v);
    backward_with_dout(g, out);
    expect_close(g, "dweight", w.grad());
  }
}

TEST_CASE("golden: activations") {
  for (const auto& name : kActivations) {
    CAPTURE(name);
    const GoldenFile g(path_of(name));
    Tensor x = leaf(g, "x");
    Tensor out;
    if (name == "leaky_relu") out = gan::leaky_relu(x, g.scalar("negative_slope"));
    if (name == "relu") out = gan::relu(x);
    if (name == "tanh") out = gan::tanh(x);
    if (name == "sigmoid") out = gan::sigmoid(x);
    REQUIRE(out.defined());
    expect_close(g, "out", out);
    backward_with_dout(g, out);
    expect_close(g, "dx", x.grad());
  }
}

TEST_CASE("golden: pad_center matches anomalib's pad_nextpow2") {
  for (const auto& name : kPad) {
    CAPTURE(name);
    const GoldenFile g(path_of(name));
    Tensor x = leaf(g, "x");
    Tensor out = gan::pad_center(x, g.integer("height"), g.integer("width"));
    // Pure data movement: exact.
    expect_close(g, "out", out, {0.0, 0.0});
    backward_with_dout(g, out);
    expect_close(g, "dx", x.grad(), {0.0, 0.0});
  }
}

TEST_CASE("golden: l1, mse and smooth_l1 losses, gradients to input and target") {
  for (const auto& name : kRegressionLosses) {
    CAPTURE(name);
    const GoldenFile g(path_of(name));
    // Both sides need gradients in GANomaly: SmoothL1(z, z_hat) and MSE(D(x), D(fake)).
    Tensor x = leaf(g, "x"), t = leaf(g, "target");
    Tensor out;
    if (name == "l1_loss") out = gan::l1_loss(x, t);
    if (name == "mse_loss") out = gan::mse_loss(x, t);
    if (name == "smooth_l1_loss") out = gan::smooth_l1_loss(x, t, g.scalar("beta"));
    REQUIRE(out.defined());
    expect_close(g, "out", out);
    backward_with_dout(g, out);
    expect_close(g, "dx", x.grad());
    expect_close(g, "dtarget", t.grad());
  }
}

TEST_CASE("golden: bce_loss") {
  // Probabilities down to 1e-6 and up to 1 - 1e-6: gradients reach 3e4, so the relative
  // term carries the comparison there.
  const GoldenFile g(path_of("bce_loss"));
  Tensor p = leaf(g, "x");
  Tensor out = gan::bce_loss(p, g.tensor("target"));
  expect_close(g, "out", out);
  backward_with_dout(g, out);
  expect_close(g, "dx", p.grad());
}

TEST_CASE("golden: bce_loss clamps the log at -100") {
  // p = 0, 1 and 1e-44 (a denormal, log = -101.3). PyTorch's gradient there is
  // (p - t) / max(p (1 - p), 1e-12): finite, about 1e12 / N, not the zero slope of the
  // clamped log. Compared separately so a difference in that convention is easy to see.
  const GoldenFile g(path_of("bce_loss_clamp"));
  Tensor p = leaf(g, "x");
  Tensor out = gan::bce_loss(p, g.tensor("target"));
  expect_close(g, "out", out);
  backward_with_dout(g, out);
  expect_close(g, "dx", p.grad());
}

TEST_CASE("golden: Adam, 3 steps with lr 2e-4, betas (0.5, 0.999)") {
  // Tolerance atol 1e-6, rtol 1e-6: a step moves a parameter by about lr = 2e-4, so the
  // default atol 1e-5 (5% of a step) and rtol 1e-4 (half a step at |p| = 1) would hide a
  // wrong bias correction. 1e-6 is a few float32 ulps of |p| <= 4 after three steps.
  const Tol tol{1e-6, 1e-6};
  const GoldenFile g(path_of("adam_3steps"));
  std::vector<Tensor> params;
  for (int i = 0; i < 4; ++i) params.push_back(leaf(g, "param" + std::to_string(i)));
  gan::nn::AdamOptions options;
  options.lr = g.scalar("lr");
  options.beta1 = g.scalar("beta1");
  options.beta2 = g.scalar("beta2");
  options.eps = g.scalar("eps");
  gan::nn::Adam adam(params, options);
  const int64_t steps = g.integer("steps");
  for (int64_t step = 1; step <= steps; ++step) {
    CAPTURE(step);
    // param3 never gets a gradient: Adam must skip it, as PyTorch does.
    for (int i = 0; i < 3; ++i)
      gan::testing::set_grad(params[i], g.get("grad" + std::to_string(i) + "_step" + std::to_string(step)).data);
    adam.step();
    for (int i = 0; i < 4; ++i)
      expect_close(g, "param" + std::to_string(i) + "_step" + std::to_string(step), params[i], tol);
  }
  CHECK(adam.steps() == steps);
}

TEST_CASE("golden: every golden file is tested") {
  // Op goldens live directly in tests/golden/; other sets (the whole network) go in
  // subfolders with their own tests.
  std::set<std::string> known;
  for (const auto* list : {&kConv2d, &kConvTranspose2d, &kBatchNorm, &kActivations, &kPad, &kRegressionLosses, &kSpectralNorm,
                            &kOther})
    known.insert(list->begin(), list->end());
  const std::filesystem::path dir = std::filesystem::path(path_of("x")).parent_path();
  REQUIRE_MESSAGE(std::filesystem::is_directory(dir), dir.string(), " is missing: run /usr/bin/python3 tools/make_golden.py");
  size_t seen = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".bin") continue;
    ++seen;
    CHECK_MESSAGE(known.count(entry.path().stem().string()) == 1, entry.path().string(),
                  " has no test in tests/test_golden.cpp");
  }
  CHECK(seen == known.size());
}

TEST_CASE("golden_io: missing and corrupt files throw naming the file") {
  CHECK_THROWS_WITH_AS(GoldenFile(path_of("no_such_case")), doctest::Contains("no_such_case.bin"), gan::Error);
  const std::string tmp = (std::filesystem::temp_directory_path() / "ganomaly_golden_io_test.bin").string();
  // Round trip through the writer, then damage the file in two ways.
  const Tensor t = Tensor::from_vector(gan::Shape{2, 3}, {1, 2, 3, 4, 5, -6.5f});
  gan::golden::save(tmp, {{"a", t}, {"s", Tensor::scalar(7)}});
  {
    const GoldenFile g(tmp);
    CHECK(g.size() == 2);
    CHECK(g.get("a").dims == std::vector<int64_t>{2, 3});
    CHECK(g.tensor("a").to_vector() == t.to_vector());
    CHECK(g.integer("s") == 7);
    CHECK_THROWS_WITH_AS(g.get("b"), doctest::Contains("no tensor named 'b'"), gan::Error);
  }
  std::string bytes;
  {
    std::ifstream in(tmp, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  auto write = [&](const std::string& b) { std::ofstream(tmp, std::ios::binary).write(b.data(), b.size()); };
  write(bytes.substr(0, bytes.size() - 3));
  CHECK_THROWS_WITH_AS(GoldenFile{tmp}, doctest::Contains("truncated"), gan::Error);
  write("GNGOLDEX" + bytes.substr(8));
  CHECK_THROWS_WITH_AS(GoldenFile{tmp}, doctest::Contains("bad magic"), gan::Error);
  write(bytes + "x");
  CHECK_THROWS_WITH_AS(GoldenFile{tmp}, doctest::Contains("trailing"), gan::Error);
  std::filesystem::remove(tmp);
}
