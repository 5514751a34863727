// spectral_normalize: weight / sigma, sigma the largest singular value by power
// iteration, forward and backward. The weights are small next to the activations, so the
// math runs on the host; CUDA tensors are staged through host copies.
#include <algorithm>
#include <cmath>
#include <vector>

#include "tensor/backend.h"
#include "tensor/ops.h"

namespace gan {
namespace {

constexpr int kStartIterations = 15;

// A host copy of n values at p on `device`, or nothing when they are on the host already.
struct HostView {
  HostView(Device device, const float* p, int64_t n) : data(p) {
    if (device == Device::cpu) return;
    staged.resize(n);
    backend::copy(Device::cpu, staged.data(), device, p, n);
    data = staged.data();
  }
  std::vector<float> staged;
  const float* data;
};

// Writes n host values to p on `device`: added to what is there when accumulate is set.
void store(Device device, float* p, const float* values, int64_t n, bool accumulate) {
  if (device == Device::cpu) {
    if (accumulate)
      for (int64_t i = 0; i < n; ++i) p[i] += values[i];
    else
      std::copy(values, values + n, p);
    return;
  }
  std::vector<float> sum(values, values + n);
  if (accumulate) {
    std::vector<float> old(n);
    backend::copy(Device::cpu, old.data(), device, p, n);
    for (int64_t i = 0; i < n; ++i) sum[i] += old[i];
  }
  backend::copy(device, p, Device::cpu, sum.data(), n);
}

// out = W x (rows) or W' x (cols), in double, W row-major [rows, cols].
std::vector<double> times(const float* w, int64_t rows, int64_t cols, const std::vector<double>& x, bool transpose) {
  std::vector<double> out(transpose ? cols : rows, 0.0);
  if (!transpose) {
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      double s = 0.0;
      for (int64_t c = 0; c < cols; ++c) s += double(w[r * cols + c]) * x[c];
      out[r] = s;
    }
  } else {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) out[c] += double(w[r * cols + c]) * x[r];
  }
  return out;
}

// x / max(|x|, eps), as F.normalize.
void normalize(std::vector<double>& x, double eps) {
  double ss = 0.0;
  for (double e : x) ss += e * e;
  const double norm = std::max(std::sqrt(ss), eps);
  for (double& e : x) e /= norm;
}

}  // namespace

Tensor spectral_normalize(const Tensor& weight, Tensor& u, Tensor& v, bool power_iteration, float eps) {
  GANOMALY_CHECK(weight.ndim() >= 2, "spectral_normalize: expected a weight with at least 2 dimensions, got ",
                 weight.shape());
  const int64_t rows = weight.size(0), cols = weight.numel() / rows;
  GANOMALY_CHECK(u.defined() && u.numel() == rows && v.defined() && v.numel() == cols, "spectral_normalize: weight ",
                 weight.shape(), " needs u of ", rows, " and v of ", cols, " values");
  GANOMALY_CHECK(std::isfinite(eps) && eps > 0, "spectral_normalize: expected a positive eps, got ", eps);
  check_same_device("spectral_normalize", {&weight, &u, &v});
  const Device device = weight.device();

  const HostView w(device, weight.data(), weight.numel());
  const HostView u_in(device, u.data(), rows), v_in(device, v.data(), cols);
  std::vector<double> uu(u_in.data, u_in.data + rows), vv(v_in.data, v_in.data + cols);
  const bool fresh = std::all_of(uu.begin(), uu.end(), [](double e) { return e == 0.0; });
  if (fresh) std::fill(uu.begin(), uu.end(), 1.0 / std::sqrt(double(rows)));
  const int steps = fresh ? kStartIterations : (power_iteration ? 1 : 0);
  std::vector<double> wv;  // W v for the final v: the last step's, or computed below
  for (int i = 0; i < steps; ++i) {
    vv = times(w.data, rows, cols, uu, /*transpose=*/true);
    normalize(vv, eps);
    wv = times(w.data, rows, cols, vv, /*transpose=*/false);
    uu = wv;
    normalize(uu, eps);
  }
  if (steps > 0) {
    const std::vector<float> uf(uu.begin(), uu.end()), vf(vv.begin(), vv.end());
    store(device, u.data(), uf.data(), rows, false);
    store(device, v.data(), vf.data(), cols, false);
  } else {
    wv = times(w.data, rows, cols, vv, /*transpose=*/false);
  }
  double sigma = 0.0;
  for (int64_t r = 0; r < rows; ++r) sigma += uu[r] * wv[r];
  // Negative only for u, v that power iteration did not make (PyTorch divides all the same).
  GANOMALY_CHECK(std::isfinite(sigma) && sigma != 0, "spectral_normalize: weight ", weight.shape(),
                 " gives a singular value estimate of ", sigma, "; expected a non-zero number");

  Tensor out = Tensor::empty(weight.shape(), device);
  std::vector<float> staged(device == Device::cpu ? 0 : weight.numel());  // on the host: written in place
  float* normalized = device == Device::cpu ? out.data() : staged.data();
  for (int64_t i = 0; i < weight.numel(); ++i) normalized[i] = static_cast<float>(w.data[i] / sigma);
  if (device != Device::cpu) store(device, out.data(), normalized, weight.numel(), false);

  // dW = G / sigma - (<G, W> / sigma^2) u v'  (d sigma / dW = u v' with u, v fixed)
  return autograd::record(out, "spectral_normalize", {weight}, [weight, uu, vv, sigma, rows, cols](TensorImpl& o) {
    float* dw = autograd::grad_sink(weight);
    if (!dw) return;
    const Device device = weight.device();
    const HostView g(device, o.grad->data(), weight.numel());
    const HostView w(device, weight.data(), weight.numel());
    double g_dot_w = 0.0;
    for (int64_t i = 0; i < weight.numel(); ++i) g_dot_w += double(g.data[i]) * w.data[i];
    const double k = g_dot_w / (sigma * sigma);
    std::vector<float> grad(weight.numel());
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        const int64_t at = r * cols + c;
        grad[at] = static_cast<float>(g.data[at] / sigma - k * uu[r] * vv[c]);
      }
    store(device, dw, grad.data(), weight.numel(), true);
  });
}

}  // namespace gan
