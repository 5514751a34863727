#pragma once
// The GANomaly network as anomalib builds it (see docs/ALGORITHM.md):
//   generator     = encoder1 -> decoder -> encoder2, returning fake, z = enc1(x), z_hat = enc2(fake)
//   discriminator = an encoder with a 1-value latent, split into features and classifier.
#include <memory>
#include <string>

#include "nn/layers.h"
#include "tensor/random.h"

namespace gan {

struct ModelConfig {
  int image_size = 64;   // images are resized to this square size
  int channels = 3;
  int n_features = 64;
  int latent_size = 100;
  int extra_layers = 0;
  bool spectral_norm = false;  // the discriminator's convolutions (a stabiliser, off in both recipes)
  // The network's side: image_size padded up to a power of two (pad_nextpow2).
  int network_size() const;
  void validate() const;  // throws OptionError naming the field as TrainOptions has it ("model.image_size")
};

// Layer stacks, named as PyTorch's nn.Sequential indices.
std::shared_ptr<nn::Sequential> make_encoder(int size, int latent, int channels, int n_features, int extra_layers,
                                             bool final_conv);
std::shared_ptr<nn::Sequential> make_decoder(int size, int latent, int channels, int n_features, int extra_layers);

class Generator : public nn::Module {
 public:
  explicit Generator(const ModelConfig& config);
  struct Output {
    Tensor fake, z, z_hat;
  };
  Output run(const Tensor& padded_images);
  Tensor forward(const Tensor& x) override { return run(x).fake; }

  std::shared_ptr<nn::Sequential> encoder1, decoder, encoder2;
};

class Discriminator : public nn::Module {
 public:
  explicit Discriminator(const ModelConfig& config);
  struct Output {
    Tensor probability;  // [N]
    Tensor features;     // [N, F, 4, 4], after the last LeakyReLU
  };
  Output run(const Tensor& padded_images);
  Tensor forward(const Tensor& x) override { return run(x).probability; }

  std::shared_ptr<nn::Sequential> features, classifier;
};

// Zero-pads images to the network's side when image_size is not a power of two.
Tensor pad_to_network(const Tensor& images, const ModelConfig& config);

}  // namespace gan
