#include <cstdio>

#include "ganomaly/train/observer.h"
#include "ganomaly/train/progress.h"

namespace gan {

namespace {

std::string fixed(double v, int digits = 3) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// Three letters each, except the residual scores, which would all read "res".
std::string short_label(Score s) {
  switch (s) {
    case Score::residual_max: return "rmax";
    case Score::residual_z: return "rz";
    case Score::residual_nn: return "rnn";
    case Score::image_z: return "iz";
    case Score::image_nn: return "inn";
    default: return std::string(to_string(s)).substr(0, 3);
  }
}

}  // namespace

ConsoleObserver::ConsoleObserver(std::FILE* out, bool interactive, NameOf name_of)
    : out_(out), interactive_(interactive), name_of_(std::move(name_of)) {
  if (!name_of_) name_of_ = [](const std::string& field) { return field; };
}
ConsoleObserver::~ConsoleObserver() = default;

void ConsoleObserver::on_note(const Note& note, bool during_epoch) {
  // Between steps, the progress line (a bar without a newline) is ended first.
  const std::string text = FieldError::render(note, name_of_);
  std::fprintf(out_, "%s%s\n", during_epoch ? "\n" : "", text.c_str());
  std::fflush(out_);
}

void ConsoleObserver::on_epoch_begin(const EpochBegin& e) {
  progress_ = std::make_unique<Progress>(str("epoch ", e.epoch, "/", e.epochs), e.steps, interactive_, out_);
}

void ConsoleObserver::on_step(const StepReport& s) {
  if (!progress_) return;
  progress_->update(s.step, s.images, str("g=", fixed(s.losses->generator), " d=", fixed(s.losses->discriminator, 4)));
}

void ConsoleObserver::on_epoch(const EpochReport& e) {
  if (!progress_) return;
  std::string line;
  for (const auto& [name, auroc] : e.val_auroc) line += " " + short_label(name) + "=" + fixed(auroc);
  progress_->finish(str("g=", fixed(e.generator_loss), " d=", fixed(e.discriminator_loss, 4), " val auroc", line,
                        e.validated_on_test ? " (on TEST set: oracle)" : "", e.improved ? " *best" : "",
                        e.reinits ? str(" D re-initialised x", e.reinits) : "",
                        e.hardened ? str(" (validation saturated: pseudo-anomalies at strength ", e.pseudo_strength,
                                         " from now)")
                                   : ""));
  progress_.reset();
}

}  // namespace gan
