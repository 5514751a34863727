#pragma once
// Weight initialisers: PyTorch's defaults and the GANomaly authors' N(0, 0.02).
#include "nn/module.h"
#include "tensor/random.h"

namespace gan::nn {

void fill_uniform(Tensor& t, float lo, float hi, Rng& rng);
void fill_normal(Tensor& t, float mean, float stddev, Rng& rng);
// PyTorch's reset_parameters(): conv weights kaiming-uniform with a = sqrt(5), i.e.
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)), the same bound for biases; BatchNorm weight 1,
// bias 0, running mean 0, running var 1. fan_in = weight.size(1) * K * K, as PyTorch
// computes it for both Conv2d and ConvTranspose2d.
void init_pytorch_default(Module& m, Rng& rng);
// The authors' weights_init: conv weights N(0, 0.02), BatchNorm weight N(1, 0.02), bias 0.
void init_gan_normal(Module& m, Rng& rng);

}  // namespace gan::nn
