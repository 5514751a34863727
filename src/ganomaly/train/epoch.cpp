// The steps of one epoch: shuffled batches, augmentation, instance noise, a training
// step each, and what happens on a non-finite loss or a request to stop.
#include <chrono>
#include <cmath>

#include "ganomaly/train/augment.h"
#include "ganomaly/train/loop.h"

namespace gan::loop {

namespace {

// The seed of one step's random draws (augmentation, instance noise): a function of the
// run's seed and the step's place, so a resumed run draws exactly what it would have.
uint64_t step_seed(uint64_t seed, int epoch, int step, uint64_t stream) {
  const uint64_t place = (static_cast<uint64_t>(epoch) << 32) | static_cast<uint32_t>(step);
  return (seed * 0x9E3779B97F4A7C15ull) ^ (place * 0xBF58476D1CE4E5B9ull) ^ (stream * 0x94D049BB133111EBull);
}

// The batch at [begin, begin + count) of `order`.
Tensor gather(const Tensor& images, const std::vector<int>& order, size_t begin, size_t count) {
  const std::vector<int64_t> rows(order.begin() + static_cast<std::ptrdiff_t>(begin),
                                  order.begin() + static_cast<std::ptrdiff_t>(begin + count));
  return index_select(images, rows);
}

// One training step on the batch at `step` of `order`.
StepLosses train_step(Run& run, const std::vector<int>& order, int step) {
  const TrainOptions& o = run.options;
  const int epoch = run.resume_state.epoch;
  Ganomaly& model = *run.model;
  Tensor images = gather(run.images.train, order, static_cast<size_t>(step) * run.batch, run.batch);
  if (o.augment != Augment::none) {
    Rng augment_rng(step_seed(o.seed, epoch, step, 1));
    augment_batch(images, o.augment, augment_rng);
  }
  const float trained = (epoch + static_cast<float>(step) / run.steps_per_epoch) / o.epochs;
  StepInputs inputs;
  inputs.instance_noise = {o.stabilisers.instance_noise * (1.0f - trained), step_seed(o.seed, epoch, step, 2)};
  inputs.inject_nan = run.faults.nan_at_step >= 0 && run.total_steps + 1 == run.faults.nan_at_step;
  const StepLosses losses = model.train_step(images, inputs);
  ++run.total_steps;
  return losses;
}

// A step whose loss was not finite updated nothing. Says so; returns whether training
// goes on (--on-nan skip) or stops (--on-nan stop).
bool skip_non_finite(Run& run, const StepLosses& l, int step) {
  const bool generator_ok = std::isfinite(l.generator);
  const char* which = generator_ok ? "discriminator" : "generator";
  // A generator loss is checked before any update; a discriminator loss after the
  // generator's update, so only the discriminator is spared then.
  const char* spared = generator_ok ? "the discriminator was not updated" : "no weights changed";
  const int epoch = run.resume_state.epoch + 1;
  if (run.options.on_nan == OnNan::skip) {
    run.note(str("epoch ", epoch, " step ", step + 1, ": the ", which, " loss is not finite; batch skipped, ", spared),
             true);
    return true;
  }
  const int kept = run.resume_state.kept.epoch;
  run.note(str("training stopped: the ", which, " loss is not finite at epoch ", epoch, " step ", step + 1, " (",
               spared, "); ", kept > 0 ? str("the best model (epoch ", kept, ") is kept") : "no model was saved yet"),
           true);
  return false;
}

}  // namespace

EpochEnd run_epoch(Run& run, EpochSums& sums) {
  const TrainOptions& o = run.options;
  ResumeState& state = run.resume_state;
  const int n_train = static_cast<int>(run.images.train.size(0));
  state.data_rng = run.data_rng.state();
  const std::vector<int> order = run.data_rng.permutation(n_train);
  const float lr_factor = learning_rate_factor(o.lr_schedule, state.epoch, o.epochs);
  run.model->optimizer_g.options.lr = o.learning_rate * lr_factor;
  run.model->optimizer_d.options.lr = o.learning_rate * o.stabilisers.discriminator_lr_scale * lr_factor;
  run.observer.on_epoch_begin({state.epoch + 1, o.epochs, run.steps_per_epoch});
  sums = state.epoch_sums.value_or(EpochSums{});  // mid-epoch on resume: the steps done before
  state.epoch_sums.reset();
  const auto start = std::chrono::steady_clock::now();
  auto add_time = [&] { state.train_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  for (int step = state.step; step < run.steps_per_epoch; ++step) {
    const StepLosses l = train_step(run, order, step);
    if (l.skipped) {
      if (skip_non_finite(run, l, step)) continue;
      return EpochEnd::diverged;
    }
    sums.add(l);
    run.observer.on_step({state.epoch + 1, o.epochs, step + 1, run.steps_per_epoch,
                          static_cast<long>(sums.steps_done) * run.batch, &l});
    if (run.observer.should_stop()) {
      add_time();
      // At the epoch's last step, the epoch is finished first (validation, selection,
      // model.gnm, its log line): a checkpoint at (epoch + 1, step 0) that skipped them
      // would resume into another run than the straight one.
      if (step + 1 == run.steps_per_epoch) return EpochEnd::stop_at_end;
      state.step = step + 1;
      state.epoch_sums = sums;
      return EpochEnd::interrupted;
    }
  }
  add_time();
  return EpochEnd::finished;
}

}  // namespace gan::loop
