// Devices where no GPU is needed: names, the CPU build refusing CUDA with one clear line,
// a CUDA build without a visible GPU saying why, and the apps' --device option.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <string>

#include "support/run_app.h"
#include "tensor/device.h"
#include "tensor/ops.h"

using namespace gan;

namespace {
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

bool cuda_usable() { return device_available(Device::cuda); }
}  // namespace

TEST_CASE("device names parse and a wrong one names the option") {
  CHECK(parse_device("cpu", "--device") == Device::cpu);
  CHECK(parse_device("cuda", "--device") == Device::cuda);
  CHECK(std::string(device_name(Device::cuda)) == "cuda");
  CHECK(error_of([] { parse_device("gpu", "--device"); }) == "--device: expected cpu or cuda, got 'gpu'");
}

TEST_CASE("CPU tensors: to(cpu) is the tensor itself, move_to(cpu) keeps the values") {
  Tensor t = Tensor::from_vector(Shape{3}, {1, 2, 3});
  CHECK(t.device() == Device::cpu);
  CHECK(t.to(Device::cpu).impl_ptr() == t.impl_ptr());
  t.move_to(Device::cpu);
  CHECK(t.to_vector() == std::vector<float>{1, 2, 3});
  CHECK(device_available(Device::cpu));
}

TEST_CASE("without a usable CUDA device, asking for one fails with one line saying why") {
  if (cuda_usable()) {
    MESSAGE("a CUDA device is usable here: test_cuda covers it");
    return;
  }
  std::string why;
  CHECK_FALSE(device_available(Device::cuda, &why));
  if (!cuda_built()) {
    CHECK(why == "built without CUDA: rebuild with -DGANOMALY_CUDA=ON (make cuda)");
    CHECK(error_of([] { Tensor::zeros(Shape{4}, Device::cuda); }) == why);
    CHECK(error_of([] { Tensor::scalar(1.0f).to(Device::cuda); }) == why);
  } else {
    MESSAGE("CUDA build, no usable device: ", why);
    CHECK(!why.empty());
  }
  const std::string refused = error_of([] { require_device(Device::cuda, "--device"); });
  CHECK(refused == "cannot use --device cuda: " + why);
  CHECK(refused.find('\n') == std::string::npos);
}

TEST_CASE("the apps take --device cpu|cuda") {
  testing::TempDir dir("device_cli");
  // A misspelt device is a usage error (exit 2), before any file is read.
  auto bad = testing::run_app("ganomaly_infer", dir / "missing.gnm" + " " + dir / "x.png" + " --device gpu");
  CHECK(bad.exit_code == 2);
  CHECK(bad.output.find("--device: expected cpu or cuda, got 'gpu'") != std::string::npos);
  if (cuda_usable()) return;
  for (const std::string app : {"ganomaly_train", "ganomaly_test", "ganomaly_infer"}) {
    const std::string args = app == "ganomaly_train" ? dir / "data" : dir / "missing.gnm" + " " + dir / "data";
    auto r = testing::run_app(app, args + " --device cuda");
    CAPTURE(app);
    CAPTURE(r.output);
    CHECK(r.exit_code == 1);
    CHECK(r.output.find(app + ": cannot use --device cuda: ") != std::string::npos);
    CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
  }
}
