#pragma once
// The training loop's parts, strung together by train_model (train.cpp) in the order of
// docs/ALGORITHM.md: prepare the data, restore or initialise, then per epoch run its
// steps, validate and select, checkpoint. Internal to src/ganomaly/train/.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ganomaly/train/resume.h"
#include "ganomaly/train/run_folder.h"
#include "ganomaly/train/train.h"

namespace gan::loop {

// Every image the run needs, decoded once, in the recipe's normalisation.
struct RunImages {
  Tensor train, test;
  std::vector<int> test_labels;
  std::vector<std::vector<uint8_t>> test_masks;
  Tensor validation_normals;  // held out (none with --validate-on test)
  Tensor validation;          // the normals, then one pseudo-anomaly each (or the test set)
  std::vector<int> validation_labels;
};

// One run: its settings, its data, the model and where training stands.
struct Run {
  Run(const Dataset& data, const TrainOptions& requested, TrainObserver& observer, const TrainFaults& faults);

  const Dataset& data;
  const Split split;
  const TrainOptions options;  // the requested options scaled up for a small set (scaled_for_steps)
  TrainObserver& observer;
  const TrainFaults faults;
  const std::string model_path, resume_path;
  const FolderLock lock;       // on options.out_dir, for the whole run
  const nlohmann::json info;   // the run's settings, stored in every model file
  // --resume's checkpoint, loaded and checked against the options before any decoding;
  // released once restored.
  std::optional<LoadedModel> resumed;
  RunImages images;
  int batch = 0, steps_per_epoch = 0;
  std::unique_ptr<Ganomaly> model;
  Rng data_rng;
  ResumeState resume_state;    // where training stands: what last.gnm carries
  nn::NamedTensors kept_weights;  // the kept model's (resume_state.kept) weights
  int total_steps = 0;         // steps run in this process

  void note(const Note& note, bool during_epoch = false) { observer.on_note(note, during_epoch); }
  void note(const std::string& text, bool during_epoch = false) { note(Note{text}, during_epoch); }
};

// 1. Decodes every image (a bad file fails here, before anything is written) and makes
//    the validation set.
RunImages prepare_data(const Run& run);
// 2. A fresh model, or the model, optimizers, generators and position of --resume.
void restore_or_init(Run& run);

// 3. One pass over the training images, from run.resume_state.step on.
enum class EpochEnd {
  finished,
  stop_at_end,   // a stop was asked at the epoch's last step: finish the epoch, then stop
  interrupted,   // a stop was asked mid-epoch: run.resume_state holds the position and the sums
  diverged,      // a non-finite loss with --on-nan stop
};
EpochEnd run_epoch(Run& run, EpochSums& sums);

// 4. Validation AUROC of every score on the validation set, the pseudo-anomalies made
//    fainter when it saturates, the epoch logged, and the kept model (model.gnm)
//    replaced when the epoch is as good. Returns whether it was.
bool validate_and_select(Run& run, const EpochSums& sums, TrainLog& log);

// 5. Writes last.gnm at run.resume_state.
void save_resumable(Run& run);

// 6. Before the kept model is evaluated: photometric normalisation (model/photometric.h),
//    chosen on validation. The validation normals relit (change_lighting at
//    kRelitStrength) are scored by the kept model; when more than kRelitAlarmBudget of
//    them read as defects, the model is refitted and calibrated with the normalisation,
//    which is kept if it brings them within the budget at a validation AUROC within the
//    selection tolerance (at least 0.01). model.gnm is rewritten then. The model must
//    hold the kept weights.
//    Returns what was measured, for summary.json (null when nothing is held out).
constexpr double kRelitStrength = 0.1, kRelitAlarmBudget = 0.1;
nlohmann::json choose_photometric(Run& run);

// 7. Then the anomaly map (map_choice.h): every map the kept model can draw measured on
//    the validation pseudo-anomalies' masks (the test set's with --validate-on test).
//    With --map auto and a fused deciding score, the fused score's residual part becomes
//    the map with the best validation AUPRO when it beats residual_nn's by more than
//    kMapChoiceMargin; the model is then calibrated again and model.gnm rewritten. A note
//    says what was chosen. Returns summary.json's "map" (add_test_figures adds the test's).
nlohmann::json choose_map(Run& run);
void add_test_figures(nlohmann::json& map, const Evaluation& e);

// The kept model (run.model) validated and calibrated again, its fused score summing
// `fused_residual`: the selecting metric and the calibration.
struct Recalibrated {
  double metric = -1;
  Calibration calibration;
};
Recalibrated recalibrate(Run& run, Score fused_residual);

}  // namespace gan::loop
