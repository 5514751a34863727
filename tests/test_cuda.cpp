// The CUDA backend against the CPU one: every op forward and backward, the GEMM, Adam,
// one whole GANomaly training step (both recipes), and checkpoints moving between
// devices. Without a usable CUDA device (a CPU build, or no GPU visible) the binary
// prints why and exits 77, which CTest reports as skipped.
//
// Errors are normalised: max |cuda - cpu| / max |cpu| over a tensor. Tolerances: 1e-5
// for elementwise ops (the same float formula; FMA contraction may differ), 1e-4 for
// reductions, convolutions, batch norm and losses (other summation orders), 1e-3 for the
// gradients of a whole training step (errors compound through 20-odd layers).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>

#include "ganomaly/model/ganomaly.h"
#include "ganomaly/io/model_file.h"
#include "support/fixtures.h"
#include "support/gradcheck.h"
#include "support/run_app.h"
#include "support/set_grad.h"
#include "tensor/backend.h"
#include "tensor/cpu/kernels.h"

using namespace gan;
using gan::testing::PoisonScope;
using gan::testing::random_tensor;

namespace {

const bool kSkipWithoutDevice = [] {
  std::string why;
  if (!device_available(Device::cuda, &why)) {
    std::printf("test_cuda: skipped: %s\n", why.c_str());
    std::fflush(stdout);
    std::exit(77);
  }
  return true;
}();

constexpr double kElementwise = 1e-5, kReduced = 1e-4, kTrainingStep = 1e-3;

double normalised_error(const Tensor& got, const Tensor& want) {
  REQUIRE(got.shape() == want.shape());
  const std::vector<float> g = got.to_vector(), w = want.to_vector();
  double worst = 0.0, scale = 0.0;
  for (size_t i = 0; i < g.size(); ++i) {
    if (!std::isfinite(g[i]) && std::isfinite(w[i])) return INFINITY;  // NaN poison read, or overflow
    worst = std::max(worst, std::fabs(static_cast<double>(g[i]) - w[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(w[i])));
  }
  return scale > 0 ? worst / scale : worst;
}

using Op = std::function<Tensor(const std::vector<Tensor>&)>;

// Runs `op` on copies of `inputs` on `device`: the output, and each input's gradient of
// sum(output * projection) added onto a random pre-filled gradient (so a backward that
// overwrites instead of accumulating shows).
struct Run {
  Tensor out;
  std::vector<Tensor> grads;
};
Run run_op(Device device, const std::vector<Tensor>& inputs, const Op& op) {
  PoisonScope poison;
  std::vector<Tensor> on_device;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Tensor t = inputs[i].clone().to(device);
    t.set_requires_grad(true);
    gan::testing::set_grad(t, random_tensor(t.shape(), 500 + i).to_vector());
    on_device.push_back(t);
  }
  Tensor out = op(on_device);
  CHECK(out.device() == device);
  Tensor projection = random_tensor(out.shape(), 7).to(device);
  sum(mul(out, projection)).backward();
  Run r{out.to(Device::cpu), {}};
  for (const Tensor& t : on_device) r.grads.push_back(t.grad().to(Device::cpu));
  return r;
}

void check_op(const std::string& name, const std::vector<Tensor>& inputs, const Op& op, double tolerance) {
  CAPTURE(name);
  const Run cpu = run_op(Device::cpu, inputs, op);
  const Run gpu = run_op(Device::cuda, inputs, op);
  const double forward = normalised_error(gpu.out, cpu.out);
  CAPTURE(forward);
  CHECK(forward <= tolerance);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const double backward = normalised_error(gpu.grads[i], cpu.grads[i]);
    CAPTURE(i);
    CAPTURE(backward);
    CHECK(backward <= tolerance);
  }
}

Tensor uniform(const Shape& shape, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  return random_tensor(shape, seed, lo, hi);
}

}  // namespace

TEST_CASE("tensors move between devices and back unchanged") {
  Tensor host = uniform(Shape{3, 5, 7}, 1);
  Tensor device = host.to(Device::cuda);
  CHECK(device.device() == Device::cuda);
  CHECK(device.to(Device::cpu).to_vector() == host.to_vector());
  CHECK(device.to_vector() == host.to_vector());
  CHECK(device.clone().to_vector() == host.to_vector());
  Tensor filled = Tensor::full(Shape{1000}, 2.5f, Device::cuda);
  CHECK(filled.to_vector() == std::vector<float>(1000, 2.5f));
  CHECK(Tensor::scalar(4.0f, Device::cuda).item() == 4.0f);
  Tensor moved = host.clone();
  moved.move_to(Device::cuda);
  CHECK(moved.device() == Device::cuda);
  CHECK(moved.to_vector() == host.to_vector());
  Tensor back = Tensor::zeros(host.shape());
  back.copy_from(moved);
  CHECK(back.to_vector() == host.to_vector());
  CHECK(pool::bytes_in_use(Device::cuda) > 0);
}

TEST_CASE("ops refuse tensors on different devices") {
  Tensor a = uniform(Shape{4}, 1), b = uniform(Shape{4}, 2).to(Device::cuda);
  CHECK_THROWS_WITH_AS(add(a, b), "add: tensors on different devices (cpu and cuda)", Error);
  CHECK_THROWS_AS(conv2d(uniform(Shape{1, 2, 4, 4}, 3), uniform(Shape{2, 2, 3, 3}, 4).to(Device::cuda), Tensor(), 1, 1),
                  Error);
}

TEST_CASE("GEMM through cuBLAS matches the naive CPU GEMM in every transposition") {
  const int64_t m = 37, n = 53, k = 29, pad = 3;
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (float beta : {0.0f, 1.0f}) {
        CAPTURE(ta);
        CAPTURE(tb);
        CAPTURE(beta);
        const int64_t lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
        Tensor a = uniform(Shape{(ta ? k : m) * lda}, 11), b = uniform(Shape{(tb ? n : k) * ldb}, 12);
        Tensor c = uniform(Shape{m * ldc}, 13);
        Tensor want = c.clone();
        cpu::gemm_naive(ta, tb, m, n, k, 0.75f, a.data(), lda, b.data(), ldb, beta, want.data(), ldc);
        Tensor ga = a.to(Device::cuda), gb = b.to(Device::cuda), gc = c.to(Device::cuda);
        backend::gemm(Device::cuda, ta, tb, m, n, k, 0.75f, ga.data(), lda, gb.data(), ldb, beta, gc.data(), ldc);
        // Only the m x n block is written: compare it, and the padding left alone.
        const std::vector<float> got = gc.to_vector(), expected = want.to_vector();
        double worst = 0.0;
        for (int64_t i = 0; i < m * ldc; ++i) worst = std::max(worst, double(std::fabs(got[i] - expected[i])));
        CHECK(worst <= 1e-5 * k);
      }
}

TEST_CASE("elementwise ops and activations match the CPU") {
  const Shape s{3, 4, 5, 7};  // 420 values: a SIMD tail on the CPU
  const Tensor a = uniform(s, 1), b = uniform(s, 2);
  check_op("add", {a, b}, [](const auto& t) { return add(t[0], t[1]); }, kElementwise);
  check_op("sub", {a, b}, [](const auto& t) { return sub(t[0], t[1]); }, kElementwise);
  check_op("mul", {a, b}, [](const auto& t) { return mul(t[0], t[1]); }, kElementwise);
  check_op("add_scalar", {a}, [](const auto& t) { return add_scalar(t[0], 0.25f); }, kElementwise);
  check_op("mul_scalar", {a}, [](const auto& t) { return mul_scalar(t[0], -1.5f); }, kElementwise);
  check_op("relu", {a}, [](const auto& t) { return relu(t[0]); }, kElementwise);
  check_op("leaky_relu", {a}, [](const auto& t) { return leaky_relu(t[0], 0.2f); }, kElementwise);
  const Tensor wide = uniform(s, 3, -4.0f, 4.0f);
  check_op("tanh", {wide}, [](const auto& t) { return gan::tanh(t[0]); }, kElementwise);
  check_op("sigmoid", {wide}, [](const auto& t) { return sigmoid(t[0]); }, kElementwise);
  check_op("abs", {a}, [](const auto& t) { return gan::abs(t[0]); }, kElementwise);
}

TEST_CASE("reductions, reshapes and padding match the CPU") {
  const Tensor big = uniform(Shape{300001}, 4);  // several blocks of partial sums
  check_op("sum", {big}, [](const auto& t) { return sum(t[0]); }, kReduced);
  check_op("mean", {big}, [](const auto& t) { return mean(t[0]); }, kReduced);
  const Tensor x = uniform(Shape{2, 3, 5, 7}, 5);
  check_op("reshape", {x}, [](const auto& t) { return mul_scalar(reshape(t[0], Shape{6, 35}), 2.0f); }, kElementwise);
  check_op("flatten", {x}, [](const auto& t) { return mul_scalar(flatten(t[0]), 2.0f); }, kElementwise);
  check_op("pad_center", {x}, [](const auto& t) { return pad_center(t[0], 8, 8); }, kElementwise);
  check_op("pad_center 5x7 to 12x9", {x}, [](const auto& t) { return pad_center(t[0], 12, 9); }, kElementwise);
  // Sums over dimensions: the same order on both devices, so only the float rounding of
  // the inputs' gradients may differ.
  const Tensor wide = uniform(Shape{7, 6, 33, 31}, 6);
  check_op("sum over 0, 2, 3", {wide}, [](const auto& t) { return sum(t[0], {0, 2, 3}); }, kReduced);
  check_op("mean over 1, keepdim", {wide}, [](const auto& t) { return mean(t[0], {1}, true); }, kReduced);
  check_op("mean over -1, -2", {wide}, [](const auto& t) { return mean(t[0], {-1, -2}); }, kReduced);
  check_op("sum over nothing", {x}, [](const auto& t) { return sum(t[0], {}); }, kElementwise);
}

TEST_CASE("narrow, index_select and cat along dimension 0 match the CPU") {
  const Tensor x = uniform(Shape{6, 3, 5, 7}, 7), y = uniform(Shape{2, 3, 5, 7}, 8);
  check_op("narrow", {x}, [](const auto& t) { return narrow(t[0], 1, 4); }, kElementwise);
  check_op("index_select", {x}, [](const auto& t) { return index_select(t[0], {5, 0, 2, 2}); }, kElementwise);
  check_op("cat", {x, y}, [](const auto& t) { return cat({t[0], t[1], t[0]}); }, kElementwise);
}

TEST_CASE("conv2d matches the CPU in the geometries GANomaly uses and more") {
  struct Case {
    Shape x, w;
    bool bias;
    int stride, padding;
  };
  const Case cases[] = {
      {Shape{3, 5, 9, 9}, Shape{6, 5, 4, 4}, true, 2, 1},      // encoder pyramid
      {Shape{2, 3, 16, 16}, Shape{8, 3, 4, 4}, false, 2, 4},   // the first encoder layer
      {Shape{3, 6, 4, 4}, Shape{7, 6, 4, 4}, false, 1, 0},     // the final 4x4 -> 1x1
      {Shape{2, 4, 7, 5}, Shape{3, 4, 3, 3}, true, 1, 1},      // extra layers, not square
      {Shape{8, 16, 64, 64}, Shape{32, 16, 4, 4}, false, 2, 1},  // > one grid of threads
  };
  for (const Case& c : cases) {
    CAPTURE(c.x);
    CAPTURE(c.w);
    std::vector<Tensor> in{uniform(c.x, 21), uniform(c.w, 22, -0.3f, 0.3f)};
    if (c.bias) in.push_back(uniform(Shape{c.w[0]}, 23));
    const int stride = c.stride, padding = c.padding;
    check_op("conv2d", in,
             [stride, padding](const auto& t) { return conv2d(t[0], t[1], t.size() > 2 ? t[2] : Tensor(), stride, padding); },
             kReduced);
  }
}

TEST_CASE("conv_transpose2d matches the CPU") {
  struct Case {
    Shape x, w;
    bool bias;
    int stride, padding;
  };
  const Case cases[] = {
      {Shape{3, 8, 1, 1}, Shape{8, 6, 4, 4}, false, 1, 0},    // the decoder's first layer
      {Shape{3, 5, 4, 4}, Shape{5, 6, 4, 4}, true, 2, 1},     // the decoder pyramid
      {Shape{2, 4, 5, 3}, Shape{4, 3, 3, 3}, true, 1, 1},     // extra layers, not square
      {Shape{8, 32, 32, 32}, Shape{32, 16, 4, 4}, false, 2, 1},  // > one grid of threads
  };
  for (const Case& c : cases) {
    CAPTURE(c.x);
    CAPTURE(c.w);
    std::vector<Tensor> in{uniform(c.x, 31), uniform(c.w, 32, -0.3f, 0.3f)};
    if (c.bias) in.push_back(uniform(Shape{c.w[1]}, 33));
    const int stride = c.stride, padding = c.padding;
    check_op("conv_transpose2d", in,
             [stride, padding](const auto& t) {
               return conv_transpose2d(t[0], t[1], t.size() > 2 ? t[2] : Tensor(), stride, padding);
             },
             kReduced);
  }
}

TEST_CASE("batch_norm2d matches the CPU in training and eval, running statistics included") {
  for (bool training : {true, false})
    for (bool affine : {true, false}) {
      CAPTURE(training);
      CAPTURE(affine);
      const Shape s{4, 6, 9, 7};
      const Tensor mean0 = uniform(Shape{6}, 41), var0 = uniform(Shape{6}, 42, 0.5f, 2.0f);
      Tensor running[2][2];  // [device][mean, var]
      auto op_on = [&](int d) {
        return [&, d, training](const std::vector<Tensor>& t) {
          const Device device = d ? Device::cuda : Device::cpu;
          running[d][0] = mean0.clone().to(device);
          running[d][1] = var0.clone().to(device);
          return batch_norm2d(t[0], affine ? t[1] : Tensor(), affine ? t[2] : Tensor(), running[d][0], running[d][1],
                              training, 0.1f, 1e-5f);
        };
      };
      const std::vector<Tensor> in{uniform(s, 43, -2.0f, 3.0f), uniform(Shape{6}, 44, 0.5f, 1.5f), uniform(Shape{6}, 45)};
      const Run cpu = run_op(Device::cpu, in, op_on(0));
      const Run gpu = run_op(Device::cuda, in, op_on(1));
      CHECK(normalised_error(gpu.out, cpu.out) <= kReduced);
      for (size_t i = 0; i < (affine ? 3u : 1u); ++i) {
        CAPTURE(i);
        CHECK(normalised_error(gpu.grads[i], cpu.grads[i]) <= kReduced);
      }
      CHECK(normalised_error(running[1][0], running[0][0]) <= kElementwise);
      CHECK(normalised_error(running[1][1], running[0][1]) <= kElementwise);
    }
}

TEST_CASE("spectral_normalize matches the CPU, its u and v included") {
  // Staged through the host on CUDA: the same arithmetic, so the same values.
  for (bool power_iteration : {true, false}) {
    CAPTURE(power_iteration);
    const Shape s{16, 8, 4, 4};
    Tensor vectors[2][2];  // [device][u, v], fresh on the first call
    auto op_on = [&](int d) {
      return [&, d, power_iteration](const std::vector<Tensor>& t) {
        const Device device = d ? Device::cuda : Device::cpu;
        vectors[d][0] = Tensor::zeros(Shape{16}, device);
        vectors[d][1] = Tensor::zeros(Shape{128}, device);
        spectral_normalize(t[0].detach(), vectors[d][0], vectors[d][1], true);  // the estimate to start from
        return spectral_normalize(t[0], vectors[d][0], vectors[d][1], power_iteration);
      };
    };
    const std::vector<Tensor> in{uniform(s, 46)};
    const Run cpu = run_op(Device::cpu, in, op_on(0));
    const Run gpu = run_op(Device::cuda, in, op_on(1));
    CHECK(normalised_error(gpu.out, cpu.out) <= kReduced);
    CHECK(normalised_error(gpu.grads[0], cpu.grads[0]) <= kReduced);
    for (int k = 0; k < 2; ++k) CHECK(normalised_error(vectors[1][k], vectors[0][k]) <= kElementwise);
  }
}

TEST_CASE("losses match the CPU, target gradients included") {
  const Shape s{5, 3, 7, 11};
  const Tensor a = uniform(s, 51, -2.0f, 2.0f), b = uniform(s, 52, -2.0f, 2.0f);
  check_op("l1_loss", {a, b}, [](const auto& t) { return l1_loss(t[0], t[1]); }, kReduced);
  check_op("mse_loss", {a, b}, [](const auto& t) { return mse_loss(t[0], t[1]); }, kReduced);
  check_op("smooth_l1_loss", {a, b}, [](const auto& t) { return smooth_l1_loss(t[0], t[1]); }, kReduced);
  check_op("smooth_l1_loss beta 0.5", {a, b}, [](const auto& t) { return smooth_l1_loss(t[0], t[1], 0.5f); },
           kReduced);
  const Tensor p = uniform(s, 53, 0.02f, 0.98f), target = uniform(s, 54, 0.0f, 1.0f);
  check_op("bce_loss", {p, target}, [](const auto& t) { return bce_loss(t[0], t[1]); }, kReduced);
  // Saturated probabilities: the clamped logs and the 1e-12 floor of the gradient.
  const Tensor edge = Tensor::from_vector(Shape{4}, {0.0f, 1.0f, 1e-30f, 0.5f});
  const Tensor edge_target = Tensor::from_vector(Shape{4}, {1.0f, 0.0f, 1.0f, 0.0f});
  check_op("bce_loss at 0 and 1", {edge, edge_target}, [](const auto& t) { return bce_loss(t[0], t[1]); }, kReduced);
}

TEST_CASE("Adam and the weight average match the CPU") {
  const Tensor start = uniform(Shape{1031}, 61);
  nn::NamedTensors finals[2];
  Tensor averages[2];
  for (int d = 0; d < 2; ++d) {
    const Device device = d ? Device::cuda : Device::cpu;
    Tensor w = start.clone().to(device);
    w.set_requires_grad(true);
    nn::Adam adam({w}, nn::AdamOptions{});
    averages[d] = start.clone().to(device);
    for (int step = 0; step < 3; ++step) {
      gan::testing::set_grad(w, uniform(w.shape(), 70 + step).to_vector());
      adam.step();
      ema_update(averages[d], w, 0.9f);
    }
    finals[d] = adam.state();
    finals[d].emplace_back("w", w);
  }
  for (size_t i = 0; i < finals[0].size(); ++i) {
    CAPTURE(finals[0][i].first);
    CHECK(normalised_error(finals[1][i].second, finals[0][i].second) <= kElementwise);
  }
  CHECK(normalised_error(averages[1], averages[0]) <= kElementwise);
}

namespace {

ModelConfig small_config() {
  ModelConfig c = testing::tiny_model_config();
  c.latent_size = 16;
  return c;
}

// The parameters with their names, then the buffers, as host copies.
std::vector<std::pair<std::string, Tensor>> host_state(const nn::NamedTensors& state) {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& [name, t] : state) out.emplace_back(name, t.to(Device::cpu));
  return out;
}

void check_scores_close(const Scores& got, const Scores& want, double tolerance) {
  REQUIRE(got.size() == want.size());
  for (const Score score : kScores) {
    if (score == Score::fused) continue;  // the model's own scores: fusing needs a calibration
    for (size_t i = 0; i < want.size(); ++i) {
      CAPTURE(to_string(score));
      CAPTURE(i);
      const double g = got.get(score)[i], w = want.get(score)[i];
      CHECK(std::fabs(g - w) <= tolerance * std::max(1e-6, std::fabs(w)));
    }
  }
}

}  // namespace

TEST_CASE("one GANomaly training step on CUDA matches the CPU (both recipes)") {
  const Tensor images = uniform(Shape{4, 3, 32, 32}, 81);
  for (const RecipeName recipe : {RecipeName::paper, RecipeName::anomalib}) {
    CAPTURE(to_string(recipe));
    Ganomaly cpu_model(small_config(), Recipe::of(recipe), 3);
    Ganomaly gpu_model(small_config(), Recipe::of(recipe), 3);
    gpu_model.to(Device::cuda);
    cpu_model.enable_ema(0.9f);
    gpu_model.enable_ema(0.9f);
    // Initialised on the CPU generator and moved: the same weights, bit for bit.
    const auto before_cpu = host_state(cpu_model.state()), before_gpu = host_state(gpu_model.state());
    for (size_t i = 0; i < before_cpu.size(); ++i) CHECK(before_gpu[i].second.to_vector() == before_cpu[i].second.to_vector());

    const StepLosses lc = cpu_model.train_step(images), lg = gpu_model.train_step(images);
    REQUIRE_FALSE(lg.skipped);
    for (auto [got, want] : {std::pair{lg.generator, lc.generator}, std::pair{lg.discriminator, lc.discriminator},
                             std::pair{lg.adversarial, lc.adversarial}, std::pair{lg.contextual, lc.contextual},
                             std::pair{lg.encoder, lc.encoder}})
      CHECK(std::fabs(got - want) <= kReduced * std::max(1e-3f, std::fabs(want)));

    // The gradients the step used: G's from the generator loss, D's from its own.
    const auto named_cpu = nn::add_prefix("G.", cpu_model.generator.named_parameters());
    const auto named_gpu = nn::add_prefix("G.", gpu_model.generator.named_parameters());
    auto d_cpu = nn::add_prefix("D.", cpu_model.discriminator.named_parameters());
    auto d_gpu = nn::add_prefix("D.", gpu_model.discriminator.named_parameters());
    auto all_cpu = named_cpu, all_gpu = named_gpu;
    all_cpu.insert(all_cpu.end(), d_cpu.begin(), d_cpu.end());
    all_gpu.insert(all_gpu.end(), d_gpu.begin(), d_gpu.end());
    const float lr = cpu_model.optimizer_g.options.lr;
    for (size_t i = 0; i < all_cpu.size(); ++i) {
      CAPTURE(all_cpu[i].first);
      CHECK(normalised_error(all_gpu[i].second.grad(), all_cpu[i].second.grad()) <= kTrainingStep);
      // Adam's first step moves each weight by about lr * sign(g): where a gradient is
      // near zero its sign may differ, so weights agree to within two steps.
      const std::vector<float> w_gpu = all_gpu[i].second.to_vector(), w_cpu = all_cpu[i].second.to_vector();
      for (size_t j = 0; j < w_cpu.size(); ++j) REQUIRE(std::fabs(w_gpu[j] - w_cpu[j]) <= 2.0f * lr + 1e-6f);
    }
    const auto buffers_cpu = cpu_model.generator.named_buffers(), buffers_gpu = gpu_model.generator.named_buffers();
    for (size_t i = 0; i < buffers_cpu.size(); ++i) {
      CAPTURE(buffers_cpu[i].first);
      CHECK(normalised_error(buffers_gpu[i].second, buffers_cpu[i].second) <= kReduced);
    }
  }
}

TEST_CASE("a checkpoint saved on one device loads on the other and scores the same") {
  testing::TempDir dir("cuda_checkpoint");
  const Tensor images = uniform(Shape{6, 3, 32, 32}, 91);
  for (const Device trained_on : {Device::cuda, Device::cpu}) {
    CAPTURE(device_name(trained_on));
    Ganomaly model(small_config(), Recipe::of(RecipeName::paper), 5);
    model.to(trained_on);
    model.enable_ema(0.5f);
    model.train_step(images);
    model.train_step(images);
    const Scores original = model.score(images, 4);
    const std::string path = dir / (std::string(device_name(trained_on)) + ".gnm");
    save_model(path, model, Calibration{}, nlohmann::json::object(), nlohmann::json{{"epoch", 1}});
    for (const Device load_on : {Device::cpu, Device::cuda}) {
      CAPTURE(device_name(load_on));
      LoadedModel loaded = load_model(path);
      loaded.model->to(load_on);
      CHECK(loaded.model->device() == load_on);
      const Scores again = loaded.model->score(images, 4);
      // Same device: the same kernels on the same weights. Other device: float rounding.
      check_scores_close(again, original, load_on == trained_on ? 1e-6 : kTrainingStep);
      // The optimizer state came along: a resumed step runs on the new device.
      CHECK(loaded.model->optimizer_g.steps() == 2);
      CHECK_FALSE(loaded.model->train_step(images).skipped);
    }
  }
}
