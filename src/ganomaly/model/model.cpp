#include "ganomaly/model/model.h"

#include <cmath>

namespace gan {

namespace {
int next_pow2(int v) {
  int p = 1;
  while (p < v) p *= 2;
  return p;
}
std::shared_ptr<nn::Module> conv(int in, int out, int k, int s, int p) {
  return std::make_shared<nn::Conv2d>(in, out, k, s, p, /*bias=*/false);
}
std::shared_ptr<nn::Module> deconv(int in, int out, int k, int s, int p) {
  return std::make_shared<nn::ConvTranspose2d>(in, out, k, s, p, /*bias=*/false);
}
std::shared_ptr<nn::Module> norm(int c) { return std::make_shared<nn::BatchNorm2d>(c); }
std::shared_ptr<nn::Module> leaky() { return std::make_shared<nn::LeakyReLU>(0.2f, /*in_place=*/true); }
}  // namespace

int ModelConfig::network_size() const { return next_pow2(image_size); }

void ModelConfig::validate() const {
  auto check = [](bool ok, const char* field, const std::string& problem) {
    if (!ok) throw OptionError(field, problem);
  };
  check(image_size >= 32 && image_size <= 512, "model.image_size", str("expected 32 to 512, got ", image_size));
  check(channels == 1 || channels == 3, "model.channels", str("expected 1 or 3, got ", channels));
  check(n_features >= 1 && n_features <= 1024, "model.n_features", str("expected 1 to 1024, got ", n_features));
  check(latent_size >= 1 && latent_size <= 4096, "model.latent_size", str("expected 1 to 4096, got ", latent_size));
  check(extra_layers >= 0 && extra_layers <= 8, "model.extra_layers", str("expected 0 to 8, got ", extra_layers));
}

std::shared_ptr<nn::Sequential> make_encoder(int size, int latent, int channels, int n_features, int extra_layers,
                                             bool final_conv) {
  auto s = std::make_shared<nn::Sequential>();
  // anomalib's first conv pads by 4 (the authors' code pads by 1); reproduced on purpose.
  s->add(conv(channels, n_features, 4, 2, 4)).add(leaky());
  for (int i = 0; i < extra_layers; ++i) s->add(conv(n_features, n_features, 3, 1, 1)).add(norm(n_features)).add(leaky());
  int f = n_features;
  for (int d = size / 2; d > 4; d /= 2, f *= 2) s->add(conv(f, 2 * f, 4, 2, 1)).add(norm(2 * f)).add(leaky());
  if (final_conv) s->add(conv(f, latent, 4, 1, 0));
  return s;
}

std::shared_ptr<nn::Sequential> make_decoder(int size, int latent, int channels, int n_features, int extra_layers) {
  auto s = std::make_shared<nn::Sequential>();
  int f = n_features * (1 << (static_cast<int>(std::ceil(std::log2(size / 2))) - 2));
  s->add(deconv(latent, f, 4, 1, 0)).add(norm(f)).add(std::make_shared<nn::ReLU>(/*in_place=*/true));
  for (int d = size / 2; d > 4; d /= 2, f /= 2)
    s->add(deconv(f, f / 2, 4, 2, 1)).add(norm(f / 2)).add(std::make_shared<nn::ReLU>(/*in_place=*/true));
  for (int i = 0; i < extra_layers; ++i) s->add(conv(f, f, 3, 1, 1)).add(norm(f)).add(leaky());
  s->add(deconv(f, channels, 4, 2, 1)).add(std::make_shared<nn::Tanh>());
  return s;
}

Generator::Generator(const ModelConfig& c) {
  c.validate();
  const int s = c.network_size();
  encoder1 = register_module("enc1", make_encoder(s, c.latent_size, c.channels, c.n_features, c.extra_layers, true));
  decoder = register_module("dec", make_decoder(s, c.latent_size, c.channels, c.n_features, c.extra_layers));
  encoder2 = register_module("enc2", make_encoder(s, c.latent_size, c.channels, c.n_features, c.extra_layers, true));
}

Generator::Output Generator::run(const Tensor& x) {
  Output out;
  out.z = encoder1->forward(x);
  out.fake = decoder->forward(out.z);
  out.z_hat = encoder2->forward(out.fake);
  return out;
}

Discriminator::Discriminator(const ModelConfig& c) {
  c.validate();
  auto stack = make_encoder(c.network_size(), 1, c.channels, c.n_features, c.extra_layers, false);
  features = register_module("features", stack);
  const int f = static_cast<int>(stack->named_parameters().back().second.size(0));  // last BN's channels
  classifier = std::make_shared<nn::Sequential>();
  classifier->add(conv(f, 1, 4, 1, 0)).add(std::make_shared<nn::Sigmoid>());
  register_module("classifier", classifier);
  if (c.spectral_norm)
    for (auto& [name, m] : named_modules())
      if (auto* conv = dynamic_cast<nn::Conv2d*>(m)) conv->use_spectral_norm();
}

Discriminator::Output Discriminator::run(const Tensor& x) {
  Output out;
  out.features = features->forward(x);
  Tensor p = classifier->forward(out.features);
  out.probability = reshape(p, Shape{p.size(0)});
  return out;
}

Tensor pad_to_network(const Tensor& images, const ModelConfig& config) {
  const int s = config.network_size();
  if (images.size(2) == s && images.size(3) == s) return images;
  return pad_center(images, s, s);
}

}  // namespace gan
