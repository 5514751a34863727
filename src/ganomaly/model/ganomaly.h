#pragma once
// GANomaly: the generator and discriminator, the training step and the anomaly scores.
// The training step follows anomalib's order exactly: forward G; D(x) and D(fake);
// update G; then D on fake.detach(), reusing D(x); update D.
#include <memory>
#include <string>
#include <vector>

#include "ganomaly/model/image_neighbours.h"
#include "ganomaly/model/image_z.h"
#include "ganomaly/model/model.h"
#include "ganomaly/model/photometric.h"
#include "ganomaly/model/residual_map.h"
#include "ganomaly/model/residual_neighbours.h"
#include "ganomaly/model/score.h"
#include "nn/adam.h"

namespace gan {

// The two published recipes (REFERENCE.md).
enum class RecipeName { paper, anomalib };
template <>
struct NameTable<RecipeName> {
  static constexpr std::pair<RecipeName, const char*> all[] = {{RecipeName::paper, "paper"},
                                                               {RecipeName::anomalib, "anomalib"}};
};
// The recipe's message predates the other choices' (and says the names quoted, in order).
template <>
RecipeName parse_choice<RecipeName>(const std::string& field, const std::string& name);

// What distinguishes anomalib's published recipe from the paper authors' (REFERENCE.md).
struct Recipe {
  RecipeName name;
  bool feature_matching;       // adversarial loss on D features (paper) or on D probabilities
  bool mse_encoder_loss;       // MSE (paper) or SmoothL1 (anomalib) between z and z_hat
  bool gan_normal_init;        // N(0, 0.02) (paper) or PyTorch's defaults (anomalib)
  bool reinit_collapsed_d;     // re-initialise D when its loss falls below 1e-5 (paper)
  std::string normalization;   // "tanh" ([-1, 1]) or "imagenet"
  static Recipe of(RecipeName name);
};

struct LossWeights {
  float adversarial = 1.0f, contextual = 50.0f, encoder = 1.0f;
};

// Levers against the discriminator's collapse, each an option of ganomaly_train and
// measured in docs/QUALITY.md. The defaults leave the recipe's training step as published.
struct Stabilisers {
  float discriminator_lr_scale = 1.0f;  // D's Adam learning rate = this x G's
  float real_label = 1.0f;              // < 1: one-sided label smoothing of D's target for real images
  bool reinit_saturated_d = false;      // also re-initialise D when its loss is pinned at BCE's clamp
  // Instance noise: N(0, sigma^2) added to every image D sees, real and fake, so their
  // distributions overlap and D cannot win outright. Sigma in the recipe's normalised
  // units at the first step, falling linearly to 0 at the end of training (the loop
  // passes each step's value in StepInputs::instance_noise).
  float instance_noise = 0.0f;
  // > 0: each network's gradients are clipped to this global L2 norm before its Adam
  // step (nn/clip_grad.h), so one wild batch cannot throw the weights far.
  float clip_grad_norm = 0.0f;
};

// This step's instance noise: its sigma and the seed of its draws (the training loop
// keys it by seed, epoch and step, so a resumed run draws the same noise).
struct InstanceNoise {
  float sigma = 0.0f;
  uint64_t seed = 0;
};

// What one train_step takes besides the batch: the training loop's choices for it.
struct StepInputs {
  InstanceNoise instance_noise;  // sigma 0: none
  bool inject_nan = false;       // fault seam (TrainFaults::nan_at_step): a NaN generator loss
};

struct StepLosses {
  float generator = 0, discriminator = 0, adversarial = 0, contextual = 0, encoder = 0;
  bool discriminator_reinitialised = false;
  bool skipped = false;  // a loss was not finite: no weights were updated
  // Global L2 norms of each network's gradients before clipping; measured only when
  // Stabilisers::clip_grad_norm is on (-1 otherwise).
  float generator_grad_norm = -1, discriminator_grad_norm = -1;
};

// Per-image anomaly scores, larger = more anomalous (score.h says what each measures).
// The model computes all but the fused score, which only a calibration fills
// (Calibration::fuse, Calibration::decide), so nothing can decide with an unfused one.
struct Scores {
  std::vector<float> latent, reconstruction, feature, residual_max;
  std::vector<float> residual_z;   // empty for a model without a fitted ResidualZ
  std::vector<float> residual_nn;  // empty for a model without a fitted ResidualNN
  std::vector<float> image_z;      // empty for a model without a fitted ImageZ
  std::vector<float> image_nn;     // empty for a model without a fitted ImageNN
  // Throws when this score was not computed for these images (FeatureScore::skip, a model
  // without its statistics, not fused).
  const std::vector<float>& get(Score score) const;
  bool has(Score score) const;  // computed for these images
  void append(const Scores& other);
  Scores image(size_t i) const;  // image i's scores alone
  size_t size() const { return latent.size(); }

 private:
  friend struct Calibration;
  std::vector<float> fused_;
};

// The feature score needs two discriminator passes, 2/5 of scoring's work; the other
// three come from the generator's pass alone.
enum class FeatureScore { compute, skip };
// Whether deciding with this score needs the feature score.
FeatureScore feature_score_for(Score score);

class Ganomaly {
 public:
  Ganomaly(const ModelConfig& config, const Recipe& recipe, uint64_t seed, nn::AdamOptions adam = {},
           LossWeights weights = {}, Stabilisers stabilisers = {});
  // Moves the networks, the averaged generator and the optimizer state to `device`;
  // training and scoring then run there (images may come from any device). Weights are
  // always initialised on the CPU generator first, so a seed gives the same model anywhere.
  void to(Device device);
  Device device() const { return device_; }
  // One training step on a batch of images in the recipe's normalisation, [N, C, S, S].
  // A step whose generator or discriminator loss is not finite updates nothing and
  // returns skipped = true, so the weights never take a NaN.
  StepLosses train_step(const Tensor& images, const StepInputs& inputs = {});
  // Scores in eval mode without gradients; `residuals`, when given, receives the
  // per-pixel |x - fake| averaged over channels, [N, S, S] at the image size. With
  // FeatureScore::skip, scores.feature stays empty and the discriminator does not run.
  // residual_z, residual_nn, image_z and image_nn need their fit (fit_residuals or a model file).
  Scores score(const Tensor& images, int batch_size = 32, std::vector<float>* residuals = nullptr,
               FeatureScore feature = FeatureScore::compute);
  // The reconstruction of a batch, in the recipe's normalisation, on the CPU.
  Tensor reconstruct(const Tensor& images);
  void reinitialise_discriminator();
  // Fits residual_z (per-pixel statistics of the scoring generator's residual) and
  // residual_nn (the same maps with their thumbnails) on `normals` (the training images;
  // at most kResidualFitImages of them, evenly spread), and image_z and image_nn on the
  // same images.
  // Training refits them whenever it validates, since the generator has moved.
  static constexpr int64_t kResidualFitImages = 256;
  void fit_residuals(const Tensor& normals, int batch_size = 32);
  ResidualZ residual_z;
  ResidualNN residual_nn;
  ImageZ image_z;  // fitted with them, on the same images (as the generator sees them)
  ImageNN image_nn;  // the same images themselves, with their thumbnails
  // Applied to every image score() and reconstruct() see; off unless training chose it.
  Photometric photometric;
  // Keeps an exponential moving average of the generator's weights (decay per step),
  // used for scoring: it smooths the step-to-step swings of adversarial training.
  // A decay outside [0, 1) throws OptionError naming "ema_decay".
  void enable_ema(float decay);
  float ema_decay() const { return ema_decay_; }
  Generator& scoring_generator() { return ema_ ? *ema_ : generator; }
  // The averaged weights see other activations than the live ones, so the live batch-norm
  // statistics do not fit them: recompute them as exact averages over `images` (in the
  // recipe's normalisation) with the averaged generator in training mode, no gradients.
  void recalibrate_ema_batch_norm(const Tensor& images, int batch_size);
  // Every tensor of the model under "G.", "E." (the average, when kept), "D.", "R."
  // (residual_z, once fitted), "N." (residual_nn), "I." (image_z) and "M." (image_nn): the file's keys for them. A model
  // loaded for scoring only has its scoring_state() alone.
  nn::NamedTensors state() const;
  void load_state(const nn::NamedTensors& tensors, const std::string& what);
  // What scoring needs, as a model file keeps it: the scoring generator only (under "E."
  // when it is the average, else "G."), "D." (the feature score), "R." and "N.". The live
  // generator beside an average is for training alone (nearly half of the old files).
  nn::NamedTensors scoring_state() const;
  // Loads a scoring_state() (or a whole state(), as model files before it kept) for
  // scoring only: the scoring generator's weights, averaged with `ema_decay` (0: live
  // ones), go into `generator`, which scoring then uses, and no second generator is kept;
  // ema_decay() still says how they were made. Such a model cannot be trained.
  void load_scoring_state(const nn::NamedTensors& tensors, float ema_decay, const std::string& what);
  bool scoring_only() const { return scoring_only_; }

  ModelConfig config;
  Recipe recipe;
  LossWeights weights;
  Stabilisers stabilisers;
  Generator generator;
  Discriminator discriminator;
  nn::Adam optimizer_g, optimizer_d;
  Rng rng;  // initialisation and re-initialisation

 private:
  // train_step's three parts, in anomalib's order. An update whose loss is not finite
  // changes nothing and returns false.
  struct StepForward;  // the batch, what D saw of it, G's losses (ganomaly.cpp)
  StepForward forward_generator(const Tensor& images, const StepInputs& inputs);  // G(x), D(x), D(G(x)), G's losses
  bool update_generator(StepForward& forward, StepLosses& losses);
  bool update_discriminator(const StepForward& forward, StepLosses& losses);  // D on G(x).detach()
  void initialise(nn::Module& m);
  void update_ema();
  void load_fits(const nn::NamedTensors& tensors, const std::string& what);  // D, R and N
  float ema_decay_ = 0.0f;
  std::unique_ptr<Generator> ema_;
  bool scoring_only_ = false;  // load_scoring_state: `generator` holds the scoring weights
  Device device_ = Device::cpu;
};

}  // namespace gan
