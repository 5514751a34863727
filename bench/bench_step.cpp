// Times GANomaly's training step and scoring pass at one image size (see make bench).
#include <chrono>
#include <cstdio>
#include <cxxopts.hpp>

#include "ganomaly/ganomaly.h"

using namespace gan;

int main(int argc, char** argv) {
  cxxopts::Options options("bench_step", "Time one GANomaly training step and scoring pass");
  options.add_options()("size", "image size", cxxopts::value<int>()->default_value("64"))(
      "batch", "batch size", cxxopts::value<int>()->default_value("32"))(
      "steps", "timed steps", cxxopts::value<int>()->default_value("3"))(
      "recipe", "anomalib or paper", cxxopts::value<std::string>()->default_value("anomalib"));
  auto args = options.parse(argc, argv);
  ModelConfig config;
  config.image_size = args["size"].as<int>();
  const int batch = args["batch"].as<int>(), steps = args["steps"].as<int>();
  Ganomaly model(config, Recipe::named(args["recipe"].as<std::string>()), 42);
  Rng rng(1);
  Tensor x = Tensor::empty(Shape{batch, 3, config.image_size, config.image_size});
  for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] = rng.uniform(-1.0f, 1.0f);
  using clock = std::chrono::steady_clock;
  model.train_step(x);  // warm-up
  auto t0 = clock::now();
  for (int s = 0; s < steps; ++s) model.train_step(x);
  const double train = batch * steps / std::chrono::duration<double>(clock::now() - t0).count();
  model.score(x, batch);
  t0 = clock::now();
  for (int s = 0; s < steps; ++s) model.score(x, batch);
  const double infer = batch * steps / std::chrono::duration<double>(clock::now() - t0).count();
  std::printf("ganomaly.cpp size=%d batch=%d train_img_per_s=%.2f infer_img_per_s=%.2f\n", config.image_size, batch,
              train, infer);
}
