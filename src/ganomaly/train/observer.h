#pragma once
// What training tells the outside world, and how the outside world stops it.
//
// train_model never prints and never looks at signals: it reports to a TrainObserver,
// and asks it after every step whether to stop. The apps own stdout and SIGINT/SIGTERM
// (apps/stop_signal.h); ConsoleObserver is the printing they share.
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ganomaly/model/ganomaly.h"

namespace gan {

class Progress;

struct EpochBegin {
  int epoch = 0;   // from 1
  int epochs = 0;  // in the run
  int steps = 0;   // steps of this epoch (all of them, also when resumed in the middle)
};

struct StepReport {
  int epoch = 0, epochs = 0;
  int step = 0, steps = 0;    // this step (from 1) of `steps`
  long images = 0;            // images trained on in this epoch, in this process
  const StepLosses* losses = nullptr;
};

struct EpochReport {
  int epoch = 0, epochs = 0;  // epoch from 1
  float generator_loss = 0, discriminator_loss = 0;           // means over the epoch's steps
  std::vector<std::pair<Score, double>> val_auroc;           // every score, in kScores order
  bool validated_on_test = false;                            // --validate-on test: an oracle
  bool improved = false;                                     // the kept model is now this epoch's
  int reinits = 0;                                           // discriminator re-initialisations
  bool hardened = false;                                     // the pseudo-anomalies were made fainter
  float pseudo_strength = 1.0f;                              // their strength from now on
};

// A line for the user: text and field names (field_ref). The library names fields, never
// flags: each app shows a field its own way (ganomaly_train: its flag).
using Note = std::vector<FieldError::Part>;

class TrainObserver {
 public:
  virtual ~TrainObserver() = default;
  // A line for the user: what was read, replaced, resumed or decided. `during_epoch`:
  // said between an epoch's steps (a skipped batch, a stop).
  virtual void on_note(const Note& note, bool during_epoch) { (void)note, (void)during_epoch; }
  virtual void on_epoch_begin(const EpochBegin& e) { (void)e; }
  virtual void on_step(const StepReport& s) { (void)s; }
  virtual void on_epoch(const EpochReport& e) { (void)e; }
  // Asked after every step: true finishes the step (and the epoch, at its last step),
  // writes a resumable last.gnm and returns with status "interrupted".
  virtual bool should_stop() { return false; }
};

// Prints progress and notes as ganomaly_train does: a bar redrawn in place when
// `interactive` (a terminal), plain lines otherwise. A note's fields are shown as
// name_of(field); by default as the field itself.
class ConsoleObserver : public TrainObserver {
 public:
  using NameOf = std::function<std::string(const std::string&)>;
  ConsoleObserver(std::FILE* out, bool interactive, NameOf name_of = nullptr);
  ~ConsoleObserver() override;
  void on_note(const Note& note, bool during_epoch) override;
  void on_epoch_begin(const EpochBegin& e) override;
  void on_step(const StepReport& s) override;
  void on_epoch(const EpochReport& e) override;

 private:
  std::FILE* out_;
  bool interactive_;
  NameOf name_of_;
  std::unique_ptr<Progress> progress_;
};

}  // namespace gan
