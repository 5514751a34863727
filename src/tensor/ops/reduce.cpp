// sum and mean over all elements. Sums run in fixed-size blocks combined in order, in
// double, so the result does not depend on the thread count.
#include "tensor/backend.h"
#include "tensor/cpu/vec.h"
#include "tensor/ops.h"

namespace gan {
namespace {
double sum_all(const float* x, int64_t n) {
  constexpr int64_t kBlock = 4096;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> partial(blocks);
#pragma omp parallel for schedule(static) if (n >= cpu::kParallelMin)
  for (int64_t b = 0; b < blocks; ++b) {
    double acc = 0.0;
    for (int64_t i = b * kBlock; i < std::min(n, (b + 1) * kBlock); ++i) acc += x[i];
    partial[b] = acc;
  }
  double total = 0.0;
  for (double p : partial) total += p;
  return total;
}

Tensor reduce(const Tensor& x, float scale, const char* name) {
  Tensor out;
  if (on_cuda(x)) {
    out = Tensor::empty(Shape{}, x.device());
    GANOMALY_CUDA_CALL(cuda::sum(x.numel(), x.data(), scale, out.data()));
  } else {
    out = Tensor::scalar(static_cast<float>(sum_all(x.data(), x.numel()) * scale));
  }
  return autograd::record(out, name, {x}, [x, scale](TensorImpl& o) {
    float* dx = autograd::grad_sink(x);
    if (!dx) return;
    if (on_cuda(x)) {
      GANOMALY_CUDA_CALL(cuda::add_broadcast(x.numel(), o.grad->data(), scale, dx));
      return;
    }
    const float g = o.grad->data()[0] * scale;
    cpu::map_add(x.numel(), dx, [g](cpu::Batch) { return cpu::Batch(g); }, x.data());
  });
}
}  // namespace

Tensor sum(const Tensor& x) { return reduce(x, 1.0f, "sum"); }

Tensor mean(const Tensor& x) {
  GANOMALY_CHECK(x.numel() > 0, "mean: empty tensor of shape ", x.shape());
  return reduce(x, 1.0f / static_cast<float>(x.numel()), "mean");
}

}  // namespace gan
