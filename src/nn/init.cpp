#include "nn/init.h"

#include <cmath>

#include "nn/layers.h"

namespace gan::nn {

// Values are drawn on the host and copied to the tensor's device, so a seed gives the
// same weights on every device.
void fill_uniform(Tensor& t, float lo, float hi, Rng& rng) {
  std::vector<float> d(t.numel());
  for (int64_t i = 0; i < t.numel(); ++i) d[i] = rng.uniform(lo, hi);
  t.copy_from(Tensor::from_vector(t.shape(), d));
}

void fill_normal(Tensor& t, float mean, float stddev, Rng& rng) {
  std::vector<float> d(t.numel());
  for (int64_t i = 0; i < t.numel(); ++i) d[i] = mean + stddev * rng.normal();
  t.copy_from(Tensor::from_vector(t.shape(), d));
}

namespace {
Tensor own(Module& m, const std::string& name) {
  for (auto& [n, t] : m.named_parameters())
    if (n == name) return t;
  for (auto& [n, t] : m.named_buffers())
    if (n == name) return t;
  return Tensor();
}

// Visits conv and batch-norm layers in registration order, so a seed fixes every weight.
template <typename ConvFn, typename NormFn>
void for_each_layer(Module& root, ConvFn on_conv, NormFn on_norm) {
  for (auto& [name, m] : root.named_modules()) {
    if (dynamic_cast<Conv2d*>(m) || dynamic_cast<ConvTranspose2d*>(m)) {
      on_conv(*m);
      // New weights: a spectral-norm estimate of the old ones would be wrong; zeros restart it.
      if (auto* c = dynamic_cast<Conv2d*>(m); c && c->spectral_norm())
        for (const char* buffer : {"weight_u", "weight_v"}) own(*m, buffer).fill(0.0f);
    } else if (dynamic_cast<BatchNorm2d*>(m)) {
      on_norm(*m);
    }
  }
}
}  // namespace

void init_pytorch_default(Module& root, Rng& rng) {
  for_each_layer(
      root,
      [&](Module& conv) {
        Tensor w = own(conv, "weight");
        const float fan_in = static_cast<float>(w.size(1) * w.size(2) * w.size(3));
        const float bound = 1.0f / std::sqrt(fan_in);  // kaiming_uniform(a = sqrt(5))
        fill_uniform(w, -bound, bound, rng);
        Tensor b = own(conv, "bias");
        if (b.defined()) fill_uniform(b, -bound, bound, rng);
      },
      [&](Module& norm) {
        own(norm, "weight").fill(1.0f);
        own(norm, "bias").fill(0.0f);
        own(norm, "running_mean").fill(0.0f);
        own(norm, "running_var").fill(1.0f);
      });
}

void init_gan_normal(Module& root, Rng& rng) {
  for_each_layer(
      root,
      [&](Module& conv) {
        Tensor w = own(conv, "weight");
        fill_normal(w, 0.0f, 0.02f, rng);
      },
      [&](Module& norm) {
        Tensor w = own(norm, "weight");
        fill_normal(w, 1.0f, 0.02f, rng);
        own(norm, "bias").fill(0.0f);
        own(norm, "running_mean").fill(0.0f);
        own(norm, "running_var").fill(1.0f);
      });
}

}  // namespace gan::nn
