#include "ganomaly/model/ganomaly.h"

#include <cmath>

#include "nn/clip_grad.h"
#include "nn/init.h"
#include "tensor/ops.h"

namespace gan {

Recipe Recipe::of(RecipeName name) {
  if (name == RecipeName::anomalib) return {RecipeName::anomalib, false, false, false, false, "imagenet"};
  return {RecipeName::paper, true, true, true, true, "tanh"};
}

template <>
RecipeName parse_choice<RecipeName>(const std::string& field, const std::string& name) {
  if (const std::optional<RecipeName> r = find_named<RecipeName>(name)) return *r;
  throw OptionError(field, str("expected 'anomalib' or 'paper', got '", name, "'"));
}

const std::vector<float>& Scores::get(Score score) const {
  switch (score) {
    case Score::latent: return latent;
    case Score::reconstruction: return reconstruction;
    case Score::feature:
      GANOMALY_CHECK(feature.size() == latent.size(), "the feature score was not computed (FeatureScore::skip)");
      return feature;
    case Score::residual_max: return residual_max;
    case Score::residual_z:
      GANOMALY_CHECK(residual_z.size() == latent.size(),
                     "the residual_z score needs the model's residual statistics (model files written before it have none)");
      return residual_z;
    case Score::residual_nn:
      GANOMALY_CHECK(residual_nn.size() == latent.size(),
                     "the residual_nn score needs the model's neighbour residuals (model files written before it have none)");
      return residual_nn;
    case Score::image_z:
      GANOMALY_CHECK(image_z.size() == latent.size(),
                     "the image_z score needs the model's image statistics (model files written before it have none)");
      return image_z;
    case Score::image_nn:
      GANOMALY_CHECK(image_nn.size() == latent.size(),
                     "the image_nn score needs the model's neighbour images (model files written before it have none)");
      return image_nn;
    case Score::fused:
      GANOMALY_CHECK(fused_.size() == latent.size(), "the fused score needs the model's calibration");
      return fused_;
  }
  throw Error("Scores::get: not a score");
}

bool Scores::has(Score score) const {
  switch (score) {
    case Score::feature: return feature.size() == latent.size();
    case Score::residual_z: return residual_z.size() == latent.size();
    case Score::residual_nn: return residual_nn.size() == latent.size();
    case Score::image_z: return image_z.size() == latent.size();
    case Score::image_nn: return image_nn.size() == latent.size();
    case Score::fused: return fused_.size() == latent.size();
    default: return true;
  }
}

FeatureScore feature_score_for(Score score) {
  return score == Score::feature || score == Score::fused ? FeatureScore::compute : FeatureScore::skip;
}

Scores Scores::image(size_t i) const {
  auto pick = [i](const std::vector<float>& v) { return v.empty() ? std::vector<float>() : std::vector<float>{v.at(i)}; };
  Scores out;
  out.latent = pick(latent);
  out.reconstruction = pick(reconstruction);
  out.feature = pick(feature);
  out.residual_max = pick(residual_max);
  out.residual_z = pick(residual_z);
  out.residual_nn = pick(residual_nn);
  out.image_z = pick(image_z);
  out.image_nn = pick(image_nn);
  out.fused_ = pick(fused_);
  return out;
}

void Scores::append(const Scores& other) {
  latent.insert(latent.end(), other.latent.begin(), other.latent.end());
  reconstruction.insert(reconstruction.end(), other.reconstruction.begin(), other.reconstruction.end());
  feature.insert(feature.end(), other.feature.begin(), other.feature.end());
  residual_max.insert(residual_max.end(), other.residual_max.begin(), other.residual_max.end());
  residual_z.insert(residual_z.end(), other.residual_z.begin(), other.residual_z.end());
  residual_nn.insert(residual_nn.end(), other.residual_nn.begin(), other.residual_nn.end());
  image_z.insert(image_z.end(), other.image_z.begin(), other.image_z.end());
  image_nn.insert(image_nn.end(), other.image_nn.begin(), other.image_nn.end());
  fused_.insert(fused_.end(), other.fused_.begin(), other.fused_.end());
}

namespace {
// Images [begin, begin + count) of a batch, cut on the batch's own device, then on `device`.
Tensor slice_images(const Tensor& images, int64_t begin, int64_t count, Device device) {
  return narrow(images, begin, count).to(device);
}

Tensor squared(const Tensor& t) { return mul(t, t); }

// The mean over every dimension but the first: one value per image.
std::vector<float> mean_per_image(const Tensor& t) {
  std::vector<int> dims;
  for (int d = 1; d < t.ndim(); ++d) dims.push_back(d);
  return mean(t, dims).to_vector();
}

void append(std::vector<float>& to, const std::vector<float>& values) {
  to.insert(to.end(), values.begin(), values.end());
}

nn::AdamOptions scaled_lr(nn::AdamOptions adam, float scale) {
  adam.lr *= scale;
  return adam;
}
}  // namespace

Ganomaly::Ganomaly(const ModelConfig& config, const Recipe& recipe, uint64_t seed, nn::AdamOptions adam,
                   LossWeights weights, Stabilisers stabilisers)
    : config(config),
      recipe(recipe),
      weights(weights),
      stabilisers(stabilisers),
      generator(config),
      discriminator(config),
      optimizer_g(generator.parameters(), adam),
      optimizer_d(discriminator.parameters(), scaled_lr(adam, stabilisers.discriminator_lr_scale)),
      rng(seed) {
  initialise(generator);
  initialise(discriminator);
}

void Ganomaly::to(Device device) {
  generator.to(device);
  discriminator.to(device);
  if (ema_) ema_->to(device);
  optimizer_g.to(device);
  optimizer_d.to(device);
  device_ = device;
}

void Ganomaly::initialise(nn::Module& m) {
  if (recipe.gan_normal_init)
    nn::init_gan_normal(m, rng);
  else
    nn::init_pytorch_default(m, rng);
}

void Ganomaly::enable_ema(float decay) {
  if (!(decay >= 0.0f && decay < 1.0f)) throw OptionError("ema_decay", str("expected a decay in [0, 1), got ", decay));
  GANOMALY_CHECK(!scoring_only_, "enable_ema: this model was loaded for scoring only (a model file)");
  ema_decay_ = decay;
  if (decay == 0.0f) {
    ema_.reset();
    return;
  }
  ema_ = std::make_unique<Generator>(config);
  ema_->to(device_);
  ema_->load_state(generator.state(), "ema");
}

void Ganomaly::update_ema() {
  if (!ema_) return;
  const auto live = generator.named_parameters();
  auto avg = ema_->named_parameters();
  for (size_t i = 0; i < live.size(); ++i) ema_update(avg[i].second, live[i].second, ema_decay_);
  // Batch-norm running statistics are averages already: take the live ones.
  const auto live_buffers = generator.named_buffers();
  auto avg_buffers = ema_->named_buffers();
  for (size_t i = 0; i < live_buffers.size(); ++i) avg_buffers[i].second.copy_from(live_buffers[i].second);
}

void Ganomaly::recalibrate_ema_batch_norm(const Tensor& images, int batch_size) {
  if (!ema_) return;
  NoGradGuard no_grad;
  std::vector<nn::BatchNorm2d*> norms;
  for (auto& [name, m] : ema_->named_modules())
    if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(m)) norms.push_back(bn);
  for (auto& [name, t] : ema_->named_buffers()) {
    Tensor buffer = t;
    buffer.fill(name.find("running_var") != std::string::npos ? 1.0f : 0.0f);
  }
  ema_->train();
  const int64_t n = images.size(0);
  int batches = 0;
  for (int64_t b0 = 0; b0 + 1 < n; b0 += batch_size, ++batches) {  // batch norm needs two images
    const int64_t b = std::min<int64_t>(batch_size, n - b0);
    if (b < 2) break;
    // Momentum 1/(k+1) makes the running estimates the plain mean over the k+1 batches.
    for (nn::BatchNorm2d* bn : norms) bn->momentum = 1.0f / static_cast<float>(batches + 1);
    ema_->run(pad_to_network(slice_images(images, b0, b, device_), config));
  }
  for (nn::BatchNorm2d* bn : norms) bn->momentum = 0.1f;
  ema_->eval();
}

nn::NamedTensors Ganomaly::state() const {
  if (scoring_only_) return scoring_state();
  nn::NamedTensors out = nn::add_prefix("G.", generator.state());
  if (ema_)
    for (auto& t : nn::add_prefix("E.", ema_->state())) out.push_back(t);
  for (auto& t : nn::add_prefix("D.", discriminator.state())) out.push_back(t);
  for (auto& t : nn::add_prefix("R.", residual_z.state())) out.push_back(t);
  for (auto& t : nn::add_prefix("N.", residual_nn.state())) out.push_back(t);
  for (auto& t : nn::add_prefix("I.", image_z.state())) out.push_back(t);
  for (auto& t : nn::add_prefix("M.", image_nn.state())) out.push_back(t);
  for (auto& t : nn::add_prefix("P.", photometric.state())) out.push_back(t);
  return out;
}

nn::NamedTensors Ganomaly::scoring_state() const {
  // A scoring-only model's `generator` holds the average when ema_decay_ > 0.
  const bool averaged = ema_ != nullptr || (scoring_only_ && ema_decay_ > 0.0f);
  const Generator& scoring = ema_ ? *ema_ : generator;
  nn::NamedTensors out = nn::add_prefix(averaged ? "E." : "G.", scoring.state());
  for (auto& t : nn::add_prefix("D.", discriminator.state())) out.push_back(t);
  for (auto& t : nn::add_prefix("R.", residual_z.state())) out.push_back(t);
  for (auto& t : nn::add_prefix("N.", residual_nn.state())) out.push_back(t);
  for (auto& t : nn::add_prefix("I.", image_z.state())) out.push_back(t);
  for (auto& t : nn::add_prefix("M.", image_nn.state())) out.push_back(t);
  for (auto& t : nn::add_prefix("P.", photometric.state())) out.push_back(t);
  return out;
}

void Ganomaly::load_state(const nn::NamedTensors& tensors, const std::string& what) {
  GANOMALY_CHECK(!scoring_only_, what, ": a model loaded for scoring only cannot take a training state");
  generator.load_state(nn::take_prefix("G.", tensors), what);
  if (ema_) ema_->load_state(nn::take_prefix("E.", tensors), what);
  load_fits(tensors, what);
}

void Ganomaly::load_scoring_state(const nn::NamedTensors& tensors, float ema_decay, const std::string& what) {
  if (!(ema_decay >= 0.0f && ema_decay < 1.0f))
    throw Error(str(what, ": bad model config: expected an ema_decay in [0, 1), got ", ema_decay));
  generator.load_state(nn::take_prefix(ema_decay > 0.0f ? "E." : "G.", tensors), what);
  ema_.reset();
  ema_decay_ = ema_decay;
  scoring_only_ = true;
  load_fits(tensors, what);
}

void Ganomaly::load_fits(const nn::NamedTensors& tensors, const std::string& what) {
  discriminator.load_state(nn::take_prefix("D.", tensors), what);
  residual_z.load_state(nn::take_prefix("R.", tensors), what);
  GANOMALY_CHECK(residual_z.empty() ||
                     (residual_z.height() == config.image_size && residual_z.width() == config.image_size),
                 what, ": residual statistics of ", residual_z.height(), "x", residual_z.width(),
                 " do not fit image size ", config.image_size);
  residual_nn.load_state(nn::take_prefix("N.", tensors), what);
  image_z.load_state(nn::take_prefix("I.", tensors), what);
  image_nn.load_state(nn::take_prefix("M.", tensors), what);
  GANOMALY_CHECK(image_nn.empty() || (image_nn.channels() == config.channels && image_nn.height() == config.image_size &&
                                       image_nn.width() == config.image_size),
                 what, ": neighbour images of ", image_nn.channels(), "x", image_nn.height(), "x", image_nn.width(),
                 " do not fit ", config.channels, " channels of ", config.image_size, "x", config.image_size);
  GANOMALY_CHECK(image_z.empty() || (image_z.channels() == config.channels &&
                                      image_z.pixels() == int64_t(config.image_size) * config.image_size),
                 what, ": image statistics of ", image_z.channels(), " channels of ", image_z.pixels(),
                 " pixels do not fit ", config.channels, " channels of ", config.image_size, "x", config.image_size);
  photometric.load_state(nn::take_prefix("P.", tensors), config.channels, what);
  const int64_t s = config.image_size;
  GANOMALY_CHECK(residual_nn.empty() ||
                     (residual_nn.height() == s && residual_nn.width() == s &&
                      residual_nn.key_size() == image_key_size(config.channels, s, s)),
                 what, ": neighbour residuals of ", residual_nn.height(), "x", residual_nn.width(),
                 " with keys of ", residual_nn.key_size(), " values do not fit image size ", s, " and ",
                 config.channels, " channels");
}

void Ganomaly::fit_residuals(const Tensor& normals, int batch_size) {
  const int64_t n = normals.size(0), per_image = normals.numel() / std::max<int64_t>(1, n);
  const int64_t used = std::min(n, kResidualFitImages);
  Tensor subset = normals;
  if (used < n) {  // evenly spread, so the statistics do not come from one end of the folder
    std::vector<int64_t> spread(used);
    for (int64_t i = 0; i < used; ++i) spread[i] = i * n / used;
    subset = index_select(normals, spread);
  }
  std::vector<float> maps;
  // The old statistics would only score residual_z and residual_nn for nothing.
  residual_z = ResidualZ();
  residual_nn = ResidualNN();
  image_z = ImageZ();
  image_nn = ImageNN();
  score(subset, batch_size, &maps, FeatureScore::skip);
  const int64_t c = normals.size(1), h = normals.size(2), w = normals.size(3);
  residual_z = ResidualZ::fit(maps, used, h, w);
  const Tensor host = subset.to(Device::cpu);
  std::vector<float> keys;
  for (int64_t i = 0; i < used; ++i) {
    const std::vector<float> key = image_key(host.data() + i * per_image, c, h, w);
    keys.insert(keys.end(), key.begin(), key.end());
  }
  residual_nn = ResidualNN::fit(maps, keys, used, h, w);
  // As score() sees them: after the photometric normalisation, when there is one.
  const std::vector<float> seen = photometric.apply(subset).to(Device::cpu).to_vector();
  image_z = ImageZ::fit(seen, used, c, h, w);
  image_nn = ImageNN::fit(seen, used, c, h, w);
}

void Ganomaly::reinitialise_discriminator() {
  // As the authors' code: fresh weights, the optimizer's moments kept.
  initialise(discriminator);
}

// Above this, one half of D's loss is at BCE's clamp of 100 for most of the batch.
constexpr float kSaturatedDiscriminatorLoss = 40.0f;

// What the forward pass leaves for the two updates. The graph behind the losses stays
// alive until both have run.
struct Ganomaly::StepForward {
  Tensor x;                     // the batch on the model's device, padded to the network
  Tensor fake_seen;             // G(x) as D saw it (with the instance noise, when any)
  Discriminator::Output real;   // D on the images as it saw them; D's update reuses it
  Tensor adversarial, contextual, encoder, generator_loss;
};

Ganomaly::StepForward Ganomaly::forward_generator(const Tensor& images, const StepInputs& inputs) {
  generator.train();
  discriminator.train();
  StepForward f;
  f.x = pad_to_network(images.to(device_), config);
  const Tensor& x = f.x;

  Generator::Output g = generator.run(x);
  // What D sees: the images, plus instance noise when asked (the generator's losses
  // other than the adversarial one compare the clean images).
  Tensor x_seen = x;
  f.fake_seen = g.fake;
  const InstanceNoise& instance_noise = inputs.instance_noise;
  if (instance_noise.sigma > 0) {
    Rng noise_rng(instance_noise.seed);
    auto noise = [&](const Shape& shape) {
      Tensor t = Tensor::zeros(shape);
      nn::fill_normal(t, 0.0f, instance_noise.sigma, noise_rng);
      return t.to(device_);
    };
    x_seen = add(x, noise(x.shape()));
    f.fake_seen = add(g.fake, noise(x.shape()));
  }
  f.real = discriminator.run(x_seen);
  Discriminator::Output fake = discriminator.run(f.fake_seen);
  f.adversarial = recipe.feature_matching ? mse_loss(f.real.features, fake.features)
                                          : mse_loss(f.real.probability, fake.probability);
  f.contextual = l1_loss(x, g.fake);
  f.encoder = recipe.mse_encoder_loss ? mse_loss(g.z, g.z_hat) : smooth_l1_loss(g.z, g.z_hat);
  f.generator_loss =
      add(add(mul_scalar(f.adversarial, weights.adversarial), mul_scalar(f.contextual, weights.contextual)),
          mul_scalar(f.encoder, weights.encoder));
  if (inputs.inject_nan) {
    f.generator_loss = add_scalar(f.generator_loss, std::nanf(""));
  }
  return f;
}

bool Ganomaly::update_generator(StepForward& f, StepLosses& losses) {
  losses.generator = f.generator_loss.item();
  if (!std::isfinite(losses.generator)) return false;
  optimizer_g.zero_grad();
  {
    // D's gradients from the generator loss are zeroed before D's own update, so D is
    // frozen for this pass: backward then skips D's weight gradients and the whole D(x)
    // branch (about 15% of a step's work), with the same result. The skipped D(x) branch
    // is not released, so the D update below can reuse it while the rest of the graph
    // (G's and D(G(x))'s saved activations) is freed as backward walks it.
    discriminator.set_requires_grad(false);
    struct Unfreeze {
      Discriminator& d;
      ~Unfreeze() { d.set_requires_grad(true); }
    } unfreeze{discriminator};
    f.generator_loss.backward();
  }
  if (stabilisers.clip_grad_norm > 0)
    losses.generator_grad_norm = nn::clip_grad_norm(generator.parameters(), stabilisers.clip_grad_norm);
  optimizer_g.step();
  optimizer_g.zero_grad();  // frees G's gradients: they would sit through D's update
  update_ema();
  return true;
}

bool Ganomaly::update_discriminator(const StepForward& f, StepLosses& losses) {
  Discriminator::Output fake_detached = discriminator.run(f.fake_seen.detach());
  const int64_t n = f.x.size(0);
  Tensor discriminator_loss =
      mul_scalar(add(bce_loss(f.real.probability, Tensor::full(Shape{n}, stabilisers.real_label, device_)),
                     bce_loss(fake_detached.probability, Tensor::zeros(Shape{n}, device_))),
                 0.5f);
  losses.discriminator = discriminator_loss.item();
  if (!std::isfinite(losses.discriminator)) return false;
  optimizer_d.zero_grad();
  discriminator_loss.backward();
  if (stabilisers.clip_grad_norm > 0)
    losses.discriminator_grad_norm = nn::clip_grad_norm(discriminator.parameters(), stabilisers.clip_grad_norm);
  optimizer_d.step();
  optimizer_d.zero_grad();  // frees D's gradients: they would sit through the next G step
  return true;
}

StepLosses Ganomaly::train_step(const Tensor& images, const StepInputs& inputs) {
  GANOMALY_CHECK(!scoring_only_, "train_step: this model was loaded for scoring only (a model file); train from last.gnm");
  StepLosses losses;
  StepForward f = forward_generator(images, inputs);
  if (!update_generator(f, losses) || !update_discriminator(f, losses)) {
    losses.skipped = true;
    return losses;
  }
  losses.adversarial = f.adversarial.item();
  losses.contextual = f.contextual.item();
  losses.encoder = f.encoder.item();
  // The paper's rule catches a discriminator that wins outright. The collapse seen in
  // practice is the other one: its outputs saturate on the wrong side and the loss is
  // pinned at BCE's clamp (log >= -100, so 50 for the mean of the two halves).
  const bool won = recipe.reinit_collapsed_d && losses.discriminator < 1e-5f;
  const bool saturated = stabilisers.reinit_saturated_d && losses.discriminator > kSaturatedDiscriminatorLoss;
  if (won || saturated) {
    reinitialise_discriminator();
    losses.discriminator_reinitialised = true;
  }
  return losses;
}

Scores Ganomaly::score(const Tensor& raw_images, int batch_size, std::vector<float>* residuals, FeatureScore feature) {
  NoGradGuard no_grad;
  const Tensor images = photometric.apply(raw_images);
  Generator& g_net = scoring_generator();
  g_net.eval();
  discriminator.eval();
  const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  Scores scores;
  if (residuals) residuals->assign(n * h * w, 0.0f);
  GANOMALY_CHECK(residual_z.empty() || (residual_z.height() == h && residual_z.width() == w),
                 "residual_z: images of ", h, "x", w, ", residual statistics of ", residual_z.height(), "x",
                 residual_z.width());
  GANOMALY_CHECK(residual_nn.empty() || (residual_nn.height() == h && residual_nn.width() == w),
                 "residual_nn: images of ", h, "x", w, ", neighbour residuals of ", residual_nn.height(), "x",
                 residual_nn.width());
  GANOMALY_CHECK(image_z.empty() || (image_z.channels() == c && image_z.pixels() == h * w), "image_z: images of ", c,
                 "x", h, "x", w, ", image statistics of ", image_z.channels(), " channels of ", image_z.pixels(), " pixels");
  GANOMALY_CHECK(image_nn.empty() || (image_nn.channels() == c && image_nn.height() == h && image_nn.width() == w),
                 "image_nn: images of ", c, "x", h, "x", w, ", neighbour images of ", image_nn.channels(), "x",
                 image_nn.height(), "x", image_nn.width());
  const bool unpad = !residual_nn.empty() || !image_z.empty() || !image_nn.empty();
  std::vector<float> unpadded(unpad ? c * h * w : 0);
  for (int64_t b0 = 0; b0 < n; b0 += batch_size) {
    const int64_t b = std::min<int64_t>(batch_size, n - b0);
    const Tensor x = pad_to_network(slice_images(images, b0, b, device_), config);
    const Generator::Output g = g_net.run(x);
    // Per-image means on the device; the host gets a few numbers and the residual maps.
    const Tensor residual = abs(sub(x, g.fake));
    append(scores.latent, mean_per_image(squared(sub(g.z, g.z_hat))));
    append(scores.reconstruction, mean_per_image(residual));
    if (feature == FeatureScore::compute) {
      const Tensor real = discriminator.run(x).features, fake = discriminator.run(g.fake).features;
      append(scores.feature, mean_per_image(squared(sub(real, fake))));
    }
    const std::vector<float> channel_mean = mean(residual, {1}).to_vector();  // [b, s, s]
    const Tensor x_host = unpad ? x.to(Device::cpu) : Tensor();
    const int64_t s = x.size(2), top = (s - h + 1) / 2, left = (s - w + 1) / 2;
    for (int64_t i = 0; i < b; ++i) {
      std::vector<float> own_map(residuals ? 0 : h * w);
      float* map = residuals ? residuals->data() + (b0 + i) * h * w : own_map.data();
      for (int64_t y = 0; y < h; ++y)  // the map of the image as given, without the padding
        std::copy_n(channel_mean.data() + (i * s + top + y) * s + left, w, map + y * w);
      scores.residual_max.push_back(window_max(map, h, w, residual_max_window(h, w)));
      if (!residual_z.empty()) scores.residual_z.push_back(residual_z.score(map));
      if (unpad)  // the image as given, without the padding
        for (int64_t ch = 0; ch < c; ++ch)
          for (int64_t y = 0; y < h; ++y)
            std::copy_n(x_host.data() + ((i * c + ch) * s + top + y) * s + left, w, unpadded.data() + (ch * h + y) * w);
      if (!residual_nn.empty()) scores.residual_nn.push_back(residual_nn.score(map, image_key(unpadded.data(), c, h, w)));
      if (!image_z.empty()) scores.image_z.push_back(image_z.score(unpadded.data(), h, w));
      if (!image_nn.empty()) scores.image_nn.push_back(image_nn.score(unpadded.data(), h, w));
    }
  }
  return scores;
}

Tensor Ganomaly::reconstruct(const Tensor& images) {
  NoGradGuard no_grad;
  scoring_generator().eval();
  return scoring_generator().run(pad_to_network(photometric.apply(images).to(device_), config)).fake.to(Device::cpu);
}

}  // namespace gan
