// train_model: the training loop of docs/ALGORITHM.md, its parts in epoch.cpp (the steps)
// and validation.cpp (validation and selection), the run's start and end here.
#include "ganomaly/train/train.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include <unistd.h>

#include "ganomaly/eval/floors.h"
#include "ganomaly/io/atomic_file.h"
#include "ganomaly/train/loop.h"
#include "ganomaly/io/json_text.h"

namespace gan {

namespace loop {

namespace {

// Creates the output folder and checks it is writable; returns it.
const std::string& usable_out_dir(const std::string& dir) {
  std::filesystem::create_directories(dir);
  GANOMALY_CHECK(access(dir.c_str(), W_OK) == 0, dir, ": output folder is not writable");
  return dir;
}

// The split is known before anything is decoded: a small set's epochs are scaled first,
// so that resuming checks against the epochs the run really has.
TrainOptions scaled_for_split(const TrainOptions& options, const Split& split) {
  const int n = static_cast<int>(split.train.size());
  return scaled_for_steps(options, n / std::max(1, std::min(options.batch_size, n)));
}

nlohmann::json run_info(const Dataset& data, const TrainOptions& o) {
  const Recipe recipe = Recipe::of(o.recipe);
  return {{"recipe", recipe.name},
          {"normalization", recipe.normalization},
          {"seed", o.seed},
          {"image_size", o.model.image_size},
          {"batch_size", o.batch_size},
          {"learning_rate", o.learning_rate},
          {"data", json_safe_text(data.root)},  // as the model file stores it, for --resume
          {"format", data.format},
          {"validate_on", o.validate_on},
          {"ema_decay", o.ema_decay},
          {"lr_schedule", o.lr_schedule},
          {"selection_tolerance", o.selection_tolerance},
          {"fusion_margin", o.fusion_margin},
          {"harden_at", o.harden_at},
          {"threshold_rule", o.threshold_rule},
          {"target_fpr", o.target_fpr},
          {"map", o.map},
          {"loss_weights", {o.loss_weights.adversarial, o.loss_weights.contextual, o.loss_weights.encoder}},
          {"d_lr_scale", o.stabilisers.discriminator_lr_scale},
          {"real_label", o.stabilisers.real_label},
          {"reinit_saturated_d", o.stabilisers.reinit_saturated_d},
          {"instance_noise", o.stabilisers.instance_noise},
          {"augment", o.augment},
          {"clip_grad_norm", o.stabilisers.clip_grad_norm}};
}

// A checkpoint that cannot be resumed with these options fails before any decoding.
std::optional<LoadedModel> load_resumable(const TrainOptions& o, const nlohmann::json& info) {
  if (o.resume.empty()) return std::nullopt;
  LoadedModel r = load_model(o.resume);
  GANOMALY_CHECK(!r.training.is_null(), o.resume, ": not a resumable checkpoint (use last.gnm)");
  GANOMALY_CHECK(model_config_json(r.model->config) == model_config_json(o.model) && r.model->recipe.name == o.recipe,
                 o.resume, ": was trained with other model settings: ", dump_json(r.config["model"]), " recipe ",
                 to_string(r.model->recipe.name));
  check_resume_settings(o.resume, r.config.value("info", nlohmann::json::object()), info);
  const int done = r.training.at("epoch").get<int>();
  // Resuming it would train nothing and write nothing: say so rather than exit 0 with no model.
  if (done >= o.epochs)
    throw FieldError("epochs", {str(o.resume, ": training already finished: it has run ", done, " epochs and "),
                                field_ref("epochs"), str(" is ", o.epochs, "; nothing left to do (raise "),
                                field_ref("epochs"), " to train on)"});
  return std::optional<LoadedModel>(std::move(r));
}

}  // namespace

Run::Run(const Dataset& d, const TrainOptions& requested, TrainObserver& obs, const TrainFaults& f)
    : data(d),
      split(split_training(d, requested)),
      options(scaled_for_split(requested, split)),
      observer(obs),
      faults(f),
      model_path(options.out_dir + "/model.gnm"),
      resume_path(options.out_dir + "/last.gnm"),
      lock(usable_out_dir(options.out_dir)),
      info(run_info(d, options)),
      resumed(load_resumable(options, info)),
      data_rng(options.seed + 1) {}

RunImages prepare_data(const Run& run) {
  const TrainOptions& o = run.options;
  const Dataset& data = run.data;
  const int size = o.model.image_size, channels = o.model.channels;
  const std::string norm = Recipe::of(o.recipe).normalization;
  RunImages im;
  im.train = load_images(run.split.train, size, channels, norm, o.max_pixels);
  if (!data.test.empty()) {
    im.test = load_images(data.test, size, channels, norm, o.max_pixels);
    im.test_masks = load_masks(data.test, size, o.max_pixels);
  }
  im.test_labels = labels_of(data.test);
  if (o.validate_on == ValidateOn::test) {
    if (data.test.empty())
      throw FieldError("validate_on", {str(data.root, ": "), field_ref("validate_on"), " test needs a test split"});
    im.validation = im.test;
    im.validation_labels = im.test_labels;
  } else {
    im.validation_normals = load_images(run.split.validation, size, channels, norm, o.max_pixels);
    im.validation = with_pseudo_anomalies(im.validation_normals, o.seed, &im.validation_labels);
  }
  return im;
}

namespace {

// A freshly initialised model of the run's settings, on its device.
std::unique_ptr<Ganomaly> new_model(const TrainOptions& o) {
  nn::AdamOptions adam;
  adam.lr = o.learning_rate;
  auto model = std::make_unique<Ganomaly>(o.model, Recipe::of(o.recipe), o.seed, adam, o.loss_weights, o.stabilisers);
  model->to(o.device);
  model->enable_ema(o.ema_decay);
  return model;
}

}  // namespace

void restore_or_init(Run& run) {
  const TrainOptions& o = run.options;
  run.model = new_model(o);
  if (!run.resumed) return;
  const LoadedModel r = std::move(*run.resumed);
  run.resumed.reset();
  Ganomaly& model = *run.model;
  model.load_state(r.tensors, o.resume);
  model.optimizer_g.load_state(nn::take_prefix("optimizer_g.", r.tensors));
  model.optimizer_d.load_state(nn::take_prefix("optimizer_d.", r.tensors));
  model.rng.set_state(r.training.at("model_rng").get<std::vector<uint64_t>>());
  run.resume_state = ResumeState::from_json(r.training);
  run.data_rng.set_state(run.resume_state.data_rng);
  if (run.resume_state.kept.epoch > 0) run.kept_weights = nn::take_prefix("best.", r.tensors);
  RunImages& im = run.images;
  if (run.resume_state.pseudo_strength < 1.0f)
    im.validation = with_pseudo_anomalies(im.validation_normals, o.seed, &im.validation_labels,
                                          run.resume_state.pseudo_strength);
  run.note(str("resuming ", o.resume, " at epoch ", run.resume_state.epoch + 1, " step ", run.resume_state.step));
}

void save_resumable(Run& run) {
  const KeptModel& kept = run.resume_state.kept;
  nn::NamedTensors extra;
  if (kept.epoch > 0) extra = nn::add_prefix("best.", run.kept_weights);
  save_model(run.resume_path, *run.model, kept.epoch > 0 ? kept.calibration : Calibration{}, run.info,
             run.resume_state.to_json(), extra);
}

namespace {

// Resumed into another folder: it starts with what the checkpoint's run has done, the
// kept model (from the checkpoint's copy of its weights) and the log up to the
// checkpoint, so that it holds a whole run even when no later epoch is kept.
std::string start_from_checkpoint_run(Run& run) {
  const TrainOptions& o = run.options;
  const KeptModel& kept = run.resume_state.kept;
  if (kept.epoch > 0) {
    const std::unique_ptr<Ganomaly> best = new_model(o);
    best->load_state(run.kept_weights, o.resume);
    save_model(run.model_path, *best, kept.calibration, run.info, nullptr, {}, o.weights);
  }
  const std::string from = (std::filesystem::path(o.resume).parent_path() / "train_log.jsonl").string();
  return carry_log(from, o.out_dir + "/train_log.jsonl", run.resume_state.epoch);
}

// The options as run: the epochs and patience scaled for a small set replace the
// defaults, so that repeating the run from config.json (where they count as typed, and
// are honoured) repeats it.
nlohmann::json run_config_as_run(const TrainOptions& o) {
  nlohmann::json config = o.run_config;
  if (config.contains("epochs")) config["epochs"] = o.epochs;
  if (config.contains("patience")) config["patience"] = o.patience;
  return config;
}

// What the user learns before the first step: the data, a scaled run, what is replaced.
void say_what_runs(Run& run, const TrainOptions& asked) {
  const TrainOptions& o = run.options;
  const Recipe recipe = Recipe::of(o.recipe);
  run.note(str("data: ", run.data.root, " (", run.data.format, "), ", run.split.train.size(), " train, ",
               run.split.validation.size(), " validation normals, ", run.data.test.size(), " test; image size ",
               o.model.image_size, ", ", recipe.normalization, " normalisation"));
  const std::string steps = str("note: ", run.split.train.size(), " training images make ", run.steps_per_epoch,
                                " steps an epoch; ");
  if (o.epochs != asked.epochs) {
    const std::string patience = asked.typed.patience ? str(" ", o.patience, " as typed")
                                                      : str(" ", asked.patience, " -> ", o.patience);
    run.note({steps, field_ref("epochs"), str(" ", asked.epochs, " (the default) -> ", o.epochs, " and "),
              field_ref("patience"), str(patience, ", so that training runs at least ", asked.min_steps, " steps ("),
              field_ref("min_steps"), ")"});
  } else if (asked.typed.epochs && int64_t(run.steps_per_epoch) * o.epochs < asked.min_steps) {
    run.note({steps, field_ref("epochs"), str(" ", o.epochs, " as typed: ", int64_t(run.steps_per_epoch) * o.epochs,
                                              " steps, fewer than "),
              field_ref("min_steps"), str(" ", asked.min_steps, " (which scales only a default "), field_ref("epochs"),
              ")"});
  }
}

// 6. The run's summary; with a kept model, the model evaluated on the test split.
TrainResult finish(Run& run, const std::string& status) {
  const TrainOptions& o = run.options;
  const Recipe recipe = Recipe::of(o.recipe);
  TrainResult r;
  r.info = run.info;
  r.summary = {{"status", status},          {"recipe", recipe.name},
               {"normalization", recipe.normalization}, {"image_size", o.model.image_size},
               {"seed", o.seed},            {"epochs_run", run.resume_state.epoch},
               {"best_epoch", run.resume_state.kept.epoch}, {"train_seconds", run.resume_state.train_seconds},
               {"validate_on", o.validate_on}, {"data", run.data.root}};
  if (status != "interrupted" && run.resume_state.kept.epoch > 0) {
    // The final model is the kept one: the best validation epoch's.
    run.model->load_state(run.kept_weights, "best state");
    const nlohmann::json lighting = choose_photometric(run);
    if (!lighting.is_null()) r.summary["lighting"] = lighting;
    nlohmann::json map = choose_map(run);
    if (o.weights == WeightStorage::fp16) {  // rounded to half precision: evaluated as model.gnm holds it
      run.model = load_model(run.model_path).model;
      run.model->to(o.device);
    }
    r.calibration = run.resume_state.kept.calibration;
    r.summary["score"] = r.calibration.score;
    r.summary["threshold"] = r.calibration.threshold;
    r.summary["model"] = run.model_path;
    if (!run.data.test.empty()) {
      const RunImages& im = run.images;
      Evaluation e = evaluate(*run.model, r.calibration, im.test, im.test_labels, &im.test_masks);
      e.floor_auroc = TrivialFloors(im.train).auroc(im.test, im.test_labels);
      r.summary.update(evaluation_json(e, r.calibration));
      add_test_figures(map, e);
      write_scores_csv(o.out_dir + "/test_scores.csv", run.data.test, e, r.calibration);
      r.evaluation = std::move(e);
      r.test_images = im.test;
    }
    r.summary["map"] = map;
    r.model = std::move(run.model);
  }
  write_file_atomically(o.out_dir + "/summary.json", dump_json(r.summary, 2) + "\n");
  return r;
}

// Stopped: says where the resumable checkpoint is.
void note_interrupted(Run& run, bool during_epoch) {
  run.note({str("interrupted: resumable checkpoint ", run.resume_path, " written; continue with "), field_ref("resume"),
            str(" ", run.resume_path)},
           during_epoch);
}

}  // namespace
}  // namespace loop

TrainResult train_model(const Dataset& data, const TrainOptions& options, TrainObserver* observer,
                        const TrainFaults& faults) {
  options.validate();
  TrainObserver silent;
  loop::Run run(data, options, observer ? *observer : silent, faults);  // --out locked, options scaled for a small set
  const TrainOptions& o = run.options;
  ResumeState& state = run.resume_state;
  run.images = loop::prepare_data(run);          // 1. every image decoded; validation pseudo-anomalies made
  run.batch = std::min(o.batch_size, static_cast<int>(run.images.train.size(0)));
  run.steps_per_epoch = static_cast<int>(run.images.train.size(0)) / std::max(1, run.batch);  // the last short batch is dropped
  loop::say_what_runs(run, options);
  loop::restore_or_init(run);                    // 2. a fresh model, or --resume's model and position
  for (const std::string& note : remove_stale_temporaries(o.out_dir)) run.note(note);
  const bool resumed = state.epoch > 0 || state.step > 0;
  const bool resumed_here = resumed && is_in_folder(o.resume, o.out_dir);
  for (const std::string& note : {resumed_here ? truncate_log(o.out_dir + "/train_log.jsonl", state.epoch)
                                               : earlier_run_note(o.out_dir),
                                  resumed && !resumed_here ? loop::start_from_checkpoint_run(run) : ""})
    if (!note.empty()) run.note(note);
  if (!o.run_config.is_null())
    write_file_atomically(o.out_dir + "/config.json", dump_json(loop::run_config_as_run(o), 2) + "\n");
  TrainLog log(o.out_dir + "/train_log.jsonl", resumed);

  while (state.epoch < o.epochs) {
    EpochSums sums;
    const loop::EpochEnd end = loop::run_epoch(run, sums);  // 3. one pass over the training images
    if (end == loop::EpochEnd::diverged) return loop::finish(run, "diverged");
    if (end == loop::EpochEnd::interrupted) {       // mid-epoch: last.gnm at the next step
      loop::save_resumable(run);
      loop::note_interrupted(run, true);
      return loop::finish(run, "interrupted");
    }
    loop::validate_and_select(run, sums, log);      // 4. validation AUROC; the kept model (model.gnm)
    ++state.epoch, state.step = 0;
    state.data_rng = run.data_rng.state();
    loop::save_resumable(run);                      // 5. last.gnm at the next epoch's start
    if (o.patience > 0 && state.stale >= o.patience) {
      run.note(str("early stop: no better validation AUROC for ", o.patience, " epochs"));
      return loop::finish(run, "early_stopped");
    }
    if (end == loop::EpochEnd::stop_at_end) {
      loop::note_interrupted(run, false);
      return loop::finish(run, "interrupted");
    }
  }
  return loop::finish(run, "completed");
}

}  // namespace gan
