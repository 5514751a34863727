#pragma once
// The arithmetic of a GANomaly training step and scoring pass, computed from the network's
// shapes (the anomalib GANomaly that ganomaly_bench times on every side), so that each
// side's images per second can be read as GFLOP/s beside the machine's FMA peak.
//
// Only convolutions and transposed convolutions are counted (a multiply-add is 2 FLOPs):
// batch norm, activations, losses and Adam are a few FLOPs per element, not per weight,
// and would not change the figures' first digit. Per image, with F(net) a network's
// forward multiply-adds and F1(net) its first layer's:
//   scoring:  encoder1, decoder, encoder2 forward                   2 F(E) + F(Dec)
//   training: forward G(x), D(x), D(G(x)) and D(G(x).detach())      2 F(E) + F(Dec) + 3 F(D)
//             G's backward: through the frozen D (input gradient only), then every layer
//             of encoder2 and the decoder (weight and input gradients), encoder1's weight
//             gradients and its input gradients but the first layer's (the images need none)
//                                                                   F(D) + 2 F(E) + 2 F(Dec) + 2 F(E) - F1(E)
//             D's backward, twice (real and fake batches): weight gradients, and input
//             gradients but the first layer's                       2 (2 F(D) - F1(D))
// A layer's backward is two products of its forward's size (weight and input gradients).
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace gan::bench {

struct Layer {
  int64_t in_c = 0, out_c = 0, in_side = 0, out_side = 0, k = 0;
  bool transposed = false, batch_norm = false;
  // Multiply-adds per image: every output pixel of a convolution takes in_c * k * k of
  // them per output channel; a transposed one spreads each input pixel over out_c * k * k.
  int64_t macs() const {
    return transposed ? in_c * in_side * in_side * out_c * k * k : out_c * out_side * out_side * in_c * k * k;
  }
  int64_t params() const { return in_c * out_c * k * k + (batch_norm ? 2 * out_c : 0); }
};

// The anomalib encoder (tools/torch_bench.py's build()): a 4x4 stride-2 convolution with
// padding 4 from the image's channels to nf, stride-2 convolutions doubling the channels
// (with batch norm) while the pyramid side size/2, halved each time, is above 4, then a
// 4x4 valid convolution to out_channels.
inline std::vector<Layer> encoder_layers(int64_t size, int64_t channels, int64_t nf, int64_t out_channels) {
  std::vector<Layer> layers;
  auto conv = [&](int64_t in_c, int64_t out_c, int64_t in_side, int64_t k, int64_t s, int64_t p, bool bn) {
    layers.push_back({in_c, out_c, in_side, (in_side + 2 * p - k) / s + 1, k, false, bn});
    return layers.back().out_side;
  };
  int64_t side = conv(channels, nf, size, 4, 2, 4, false), f = nf;
  for (int64_t pyramid = size / 2; pyramid > 4; pyramid /= 2, f *= 2) side = conv(f, 2 * f, side, 4, 2, 1, true);
  conv(f, out_channels, side, 4, 1, 0, false);
  return layers;
}

// The anomalib decoder: a 4x4 transposed convolution from the latent to 4x4, transposed
// stride-2 convolutions halving the channels (with batch norm) up to size/2, and a last
// one to the image's channels at full size.
inline std::vector<Layer> decoder_layers(int64_t size, int64_t channels, int64_t nf, int64_t nz) {
  int64_t log2_half = 0;
  while ((int64_t{1} << (log2_half + 1)) <= size / 2) ++log2_half;
  int64_t f = nf << (log2_half - 2), side = 4;
  std::vector<Layer> layers{{nz, f, 1, 4, 4, true, true}};
  for (int64_t pyramid = size / 2; pyramid > 4; pyramid /= 2, f /= 2, side *= 2)
    layers.push_back({f, f / 2, side, 2 * side, 4, true, true});
  layers.push_back({f, channels, side, 2 * side, 4, true, false});
  return layers;
}

struct StepFlops {
  double train = 0, score = 0;  // FLOPs per image
  int64_t params = 0;           // generator and discriminator: weights and batch norm's scale and shift
};

// Per image, for a power-of-two `size` >= 16 (module comment).
inline StepFlops step_flops(int64_t size, int64_t channels = 3, int64_t nf = 64, int64_t nz = 100) {
  if (size < 16 || (size & (size - 1))) throw std::invalid_argument("step_flops: expected a power-of-two size >= 16");
  const auto encoder = encoder_layers(size, channels, nf, nz), decoder = decoder_layers(size, channels, nf, nz),
             discriminator = encoder_layers(size, channels, nf, 1);
  auto sum = [](const std::vector<Layer>& layers) {
    int64_t macs = 0;
    for (const Layer& l : layers) macs += l.macs();
    return static_cast<double>(macs);
  };
  const double e = sum(encoder), dec = sum(decoder), d = sum(discriminator);
  const double e1 = static_cast<double>(encoder.front().macs()), d1 = static_cast<double>(discriminator.front().macs());
  StepFlops out;
  out.score = 2 * (2 * e + dec);
  out.train = 2 * ((2 * e + dec + 3 * d) + (d + 2 * e + 2 * dec + 2 * e - e1) + 2 * (2 * d - d1));
  for (const auto* net : {&encoder, &decoder, &encoder, &discriminator})
    for (const Layer& l : *net) out.params += l.params();
  return out;
}

}  // namespace gan::bench
