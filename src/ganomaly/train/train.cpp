#include "ganomaly/train/train.h"

#include <algorithm>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include "ganomaly/train/augment.h"
#include "ganomaly/eval/evaluate.h"
#include "ganomaly/eval/floors.h"
#include "ganomaly/io/model_file.h"
#include "ganomaly/train/progress.h"
#include "ganomaly/train/pseudo_anomaly.h"
#include "tensor/device.h"

namespace gan {

std::atomic<bool> g_stop_requested{false};

namespace {
void on_signal(int) {
  if (g_stop_requested.exchange(true)) _exit(130);  // second signal: leave now
}
}  // namespace

void install_stop_handlers() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

float learning_rate_factor(const std::string& schedule, int epoch, int epochs) {
  if (schedule != "cosine") return 1.0f;
  return static_cast<float>(0.5 * (1.0 + std::cos(M_PI * epoch / epochs)));
}

void TrainOptions::validate() const {
  model.validate();
  Recipe::named(recipe);
  GANOMALY_CHECK(epochs >= 1 && epochs <= 100000, "--epochs: expected 1 to 100000, got ", epochs);
  GANOMALY_CHECK(batch_size >= 2 && batch_size <= 4096, "--batch-size: expected 2 to 4096 (batch norm needs two), got ",
                 batch_size);
  GANOMALY_CHECK(std::isfinite(learning_rate) && learning_rate > 0 && learning_rate < 1,
                 "--lr: expected a number in (0, 1), got ", learning_rate);
  GANOMALY_CHECK(lr_schedule == "constant" || lr_schedule == "cosine",
                 "--lr-schedule: expected constant or cosine, got '", lr_schedule, "'");
  for (const auto& [name, w] : {std::pair{"--w-adv", loss_weights.adversarial}, std::pair{"--w-con", loss_weights.contextual},
                                std::pair{"--w-enc", loss_weights.encoder}})
    GANOMALY_CHECK(std::isfinite(w) && w >= 0 && w <= 1e4, name, ": expected a weight in [0, 10000], got ", w);
  // With every weight 0 the generator's loss is 0: training would change nothing.
  GANOMALY_CHECK(loss_weights.adversarial + loss_weights.contextual + loss_weights.encoder > 0,
                 "--w-adv, --w-con, --w-enc: expected at least one loss weight above 0, got all three 0");
  GANOMALY_CHECK(std::isfinite(stabilisers.discriminator_lr_scale) && stabilisers.discriminator_lr_scale > 0 &&
                     stabilisers.discriminator_lr_scale <= 100,
                 "--d-lr-scale: expected a number in (0, 100], got ", stabilisers.discriminator_lr_scale);
  GANOMALY_CHECK(std::isfinite(stabilisers.real_label) && stabilisers.real_label >= 0.5f && stabilisers.real_label <= 1,
                 "--real-label: expected a target in [0.5, 1], got ", stabilisers.real_label);
  GANOMALY_CHECK(std::isfinite(stabilisers.instance_noise) && stabilisers.instance_noise >= 0 &&
                     stabilisers.instance_noise <= 2,
                 "--instance-noise: expected a standard deviation in [0, 2], got ", stabilisers.instance_noise);
  GANOMALY_CHECK(std::isfinite(stabilisers.clip_grad_norm) && stabilisers.clip_grad_norm >= 0,
                 "--clip-grad-norm: expected 0 (off) or a positive norm, got ", stabilisers.clip_grad_norm);
  GANOMALY_CHECK(std::count(augment_modes().begin(), augment_modes().end(), augment),
                 "--augment: expected none, flip or shift, got '", augment, "'");
  GANOMALY_CHECK(std::isfinite(selection_tolerance) && selection_tolerance >= 0 && selection_tolerance < 0.5,
                 "--selection-tolerance: expected [0, 0.5), got ", selection_tolerance);
  GANOMALY_CHECK(std::isfinite(fusion_margin) && fusion_margin >= 0 && fusion_margin <= 1,
                 "--fusion-margin: expected [0, 1], got ", fusion_margin);
  GANOMALY_CHECK(patience >= 0, "--patience: expected 0 or more, got ", patience);
  GANOMALY_CHECK(harden_at >= 0 && harden_at <= 1, "--harden-at: expected [0, 1], got ", harden_at);
  GANOMALY_CHECK(min_steps >= 0 && min_steps <= 10000000, "--min-steps: expected 0 to 10000000, got ", min_steps);
  GANOMALY_CHECK(validation_fraction > 0 && validation_fraction < 0.9, "--validation-fraction: expected (0, 0.9), got ",
                 validation_fraction);
  const auto& names = selectable_score_names();
  GANOMALY_CHECK(score == "auto" || std::find(names.begin(), names.end(), score) != names.end(),
                 "--score: expected fused, latent, reconstruction, feature, residual_max, residual_z, residual_nn or auto, got '",
                 score, "'");
  GANOMALY_CHECK(ema_decay >= 0 && ema_decay < 1, "--ema: expected a decay in [0, 1), got ", ema_decay);
  GANOMALY_CHECK(on_nan == "stop" || on_nan == "skip", "--on-nan: expected stop or skip, got '", on_nan, "'");
  GANOMALY_CHECK(validate_on == "heldout" || validate_on == "test",
                 "--validate-on: expected heldout or test, got '", validate_on, "'");
  require_device(device, "--device");
}

Split split_training(const Dataset& data, const TrainOptions& o) {
  Split s;
  if (o.validate_on == "test") {
    s.train = data.train;
    return s;
  }
  if (!data.validation.empty()) {
    s.train = data.train;
    for (const Sample& v : data.validation)
      if (v.label == 0) s.validation.push_back(v);
    if (!s.validation.empty()) return s;
  }
  const int n = static_cast<int>(data.train.size());
  const int held = std::max(4, static_cast<int>(std::lround(n * o.validation_fraction)));
  GANOMALY_CHECK(n - held >= 2, data.root, ": only ", n, " training images; need at least ", held + 2,
                 " (", held, " are held out for validation)");
  Rng rng(o.seed ^ 0x5eed5eedull);
  std::vector<int> order = rng.permutation(n);
  std::vector<bool> is_held(n, false);
  for (int i = 0; i < held; ++i) is_held[order[i]] = true;
  for (int i = 0; i < n; ++i) (is_held[i] ? s.validation : s.train).push_back(data.train[i]);
  return s;
}

Tensor with_pseudo_anomalies(const Tensor& normals, uint64_t seed, std::vector<int>* labels, float strength) {
  Rng pseudo_rng(seed + 7);  // the same defects at every strength, only fainter
  const Tensor pseudo = make_pseudo_anomalies(normals, pseudo_rng, strength);
  Tensor out = Tensor::empty(Shape{2 * normals.size(0), normals.size(1), normals.size(2), normals.size(3)});
  std::copy(normals.data(), normals.data() + normals.numel(), out.data());
  std::copy(pseudo.data(), pseudo.data() + pseudo.numel(), out.data() + normals.numel());
  labels->assign(normals.size(0), 0);
  labels->resize(2 * normals.size(0), 1);
  return out;
}

namespace {

// The seed of one step's random draws (augmentation, instance noise): a function of the
// run's seed and the step's place, so a resumed run draws exactly what it would have.
uint64_t step_seed(uint64_t seed, int epoch, int step, uint64_t stream) {
  const uint64_t place = (static_cast<uint64_t>(epoch) << 32) | static_cast<uint32_t>(step);
  return (seed * 0x9E3779B97F4A7C15ull) ^ (place * 0xBF58476D1CE4E5B9ull) ^ (stream * 0x94D049BB133111EBull);
}

Tensor gather(const Tensor& images, const std::vector<int>& order, size_t begin, size_t count) {
  const int64_t per = images.numel() / images.size(0);
  Tensor out = Tensor::empty(Shape{static_cast<int64_t>(count), images.size(1), images.size(2), images.size(3)});
  for (size_t i = 0; i < count; ++i)
    std::copy(images.data() + order[begin + i] * per, images.data() + (order[begin + i] + 1) * per,
              out.data() + i * per);
  return out;
}

// Which score decides, its threshold and normaliser, from validation scores only.
Calibration calibrate(const Scores& scores, const std::vector<int>& labels, const Calibration& fusion,
                      const TrainOptions& o) {
  Calibration c = fusion;
  c.chosen_on = o.validate_on;
  c.score = o.score;
  if (o.score == "auto") {
    double best = -1;
    for (const std::string& name : selectable_score_names()) {
      const double a = auroc(scores.get(name), labels);
      if (a > best) best = a, c.score = name;
    }
  }
  const std::vector<float>& chosen = scores.get(c.score);
  c.threshold = static_cast<float>(best_f1(chosen, labels).threshold);
  c.normalizer = ScoreNormalizer::fit(chosen, c.threshold);
  return c;
}

// One validation pass: every score, the fusion fitted on them, and the AUROC that
// selects (the chosen score's, or the best single score's for "auto").
struct ValidationPass {
  Scores scores;
  Calibration fusion;
  double metric = -1;
};

ValidationPass validate_model(Ganomaly& model, const Tensor& images, const std::vector<int>& labels,
                              const TrainOptions& o) {
  ValidationPass v;
  v.scores = model.score(images);
  v.fusion.fit_fusion(v.scores, labels, o.fusion_margin);
  v.fusion.fuse(v.scores);
  for (const std::string& name : selectable_score_names()) {
    const double a = auroc(v.scores.get(name), labels);
    if (o.score == "auto" ? a > v.metric : name == o.score) v.metric = a;
  }
  return v;
}

// Three halvings: an eighth of the strength, and no further.
constexpr float kMinPseudoStrength = 0.125f;

struct BestState {
  double metric = -1;
  int epoch = 0;
  Calibration calibration;
  nn::NamedTensors tensors;  // the model's state at the best epoch
};

nn::NamedTensors clone_state(const nn::NamedTensors& state) {
  nn::NamedTensors out;
  for (const auto& [name, t] : state) out.emplace_back(name, t.clone());
  return out;
}

std::string fixed(double v, int digits = 3) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// A number as the command line would show it (0.0002, not 0.00019999999494757503).
std::string shown(const nlohmann::json& v) {
  if (v.is_number_float()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v.get<double>());
    return buf;
  }
  if (v.is_array()) {
    std::string out;
    for (const auto& x : v) out += (out.empty() ? "" : ",") + shown(x);
    return out;
  }
  return v.is_string() ? v.get<std::string>() : v.dump();
}

// A resumed run continues bitwise only with the settings it was started with: refuse
// another data set, learning rate, batch size, seed, ..., naming the first that differs.
void check_resume_settings(const std::string& resume, const nlohmann::json& was, const nlohmann::json& now) {
  static const std::pair<const char*, const char*> kOptions[] = {
      {"data", "DATA_DIR"},           {"format", "--format"},           {"seed", "--seed"},
      {"batch_size", "--batch-size"}, {"learning_rate", "--lr"},        {"lr_schedule", "--lr-schedule"},
      {"loss_weights", "--w-adv,--w-con,--w-enc"},                       {"d_lr_scale", "--d-lr-scale"},
      {"real_label", "--real-label"}, {"instance_noise", "--instance-noise"}, {"augment", "--augment"},
      {"clip_grad_norm", "--clip-grad-norm"}, {"reinit_saturated_d", "--reinit-saturated-d"},
      {"ema_decay", "--ema"},         {"validate_on", "--validate-on"}, {"selection_tolerance", "--selection-tolerance"},
      {"fusion_margin", "--fusion-margin"}, {"harden_at", "--harden-at"}};
  for (const auto& [key, option] : kOptions) {
    if (!was.contains(key) || !now.contains(key)) continue;  // an older checkpoint may lack a setting
    const nlohmann::json &a = was[key], &b = now[key];
    if (a == b) continue;
    if (std::string(key) == "data" && a.is_string() && b.is_string()) {  // the same folder by another path
      std::error_code e1, e2;
      const auto pa = std::filesystem::weakly_canonical(a.get<std::string>(), e1);
      const auto pb = std::filesystem::weakly_canonical(b.get<std::string>(), e2);
      if (!e1 && !e2 && pa == pb) continue;
    }
    throw Error(str(resume, ": was trained with ", option, " ", shown(a), ", not ", shown(b),
                    "; resume with the same settings, or start a new run without --resume"));
  }
}

// An exclusive lock on the output folder for the whole run, so that a second training
// into the same --out fails at once instead of mixing its files with the first's. flock
// on the folder itself: nothing is left behind, and the kernel drops it when the process
// dies, however it dies.
class FolderLock {
 public:
  explicit FolderLock(const std::string& dir) : fd_(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
    GANOMALY_CHECK(fd_ >= 0, dir, ": cannot open the output folder: ", std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int e = errno;
      ::close(fd_);
      GANOMALY_CHECK(e != EWOULDBLOCK, dir, ": another training is writing into this folder (--out); wait for it to "
                     "end or choose another folder");
      throw Error(str(dir, ": cannot lock the output folder: ", std::strerror(e)));
    }
  }
  ~FolderLock() { ::close(fd_); }
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_;
};

// "<name>.tmp.<pid>" files of a process that is gone: a write cut short by SIGKILL or a
// power loss. They are never read; under the folder's lock they are removed.
void remove_stale_temporaries(const std::string& dir) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    const size_t at = name.rfind(".tmp.");
    if (at == std::string::npos || at + 5 >= name.size()) continue;
    const std::string digits = name.substr(at + 5);
    if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 9) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(digits));
    if (pid == getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;  // alive, or not ours to judge
    std::error_code rm;
    if (std::filesystem::remove(entry.path(), rm))
      std::printf("note: removed %s, left by a run that was killed while writing\n", entry.path().string().c_str());
  }
}

// On resume, the log keeps the epochs the checkpoint has finished: a run killed after
// logging an epoch but before saving last.gnm would otherwise log that epoch twice.
void truncate_log(const std::string& path, int epochs_done) {
  std::ifstream in(path);
  if (!in) return;
  std::string kept, line;
  int dropped = 0;
  while (std::getline(in, line)) {
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.is_object() && j.value("epoch", 0) >= 1 && j.value("epoch", 0) <= epochs_done)
      kept += line + "\n";
    else
      ++dropped;
  }
  in.close();
  if (!dropped) return;
  write_text_file(path, kept);
  std::printf("note: %s: dropped %d line(s) past epoch %d, the checkpoint's\n", path.c_str(), dropped, epochs_done);
}

}  // namespace

TrainOptions scaled_for_steps(const TrainOptions& o, int steps_per_epoch) {
  TrainOptions scaled = o;
  if (o.min_steps <= 0 || steps_per_epoch <= 0 || int64_t(steps_per_epoch) * o.epochs >= o.min_steps) return scaled;
  scaled.epochs = (o.min_steps + steps_per_epoch - 1) / steps_per_epoch;
  // Patience keeps its share of the run (10 of 30 epochs stays a third).
  scaled.patience = static_cast<int>((int64_t(o.patience) * scaled.epochs + o.epochs - 1) / o.epochs);
  return scaled;
}

nlohmann::json train_model(const Dataset& data, const TrainOptions& options) {
  options.validate();
  // The split is known before anything is decoded: a small set's epochs are scaled first,
  // so that resuming checks against the epochs the run really has.
  const Split split = split_training(data, options);
  const int split_train = static_cast<int>(split.train.size());
  const TrainOptions o =
      scaled_for_steps(options, split_train / std::max(1, std::min(options.batch_size, split_train)));

  const Recipe recipe = Recipe::named(o.recipe);
  std::filesystem::create_directories(o.out_dir);
  GANOMALY_CHECK(access(o.out_dir.c_str(), W_OK) == 0, o.out_dir, ": output folder is not writable");
  const FolderLock lock(o.out_dir);
  const std::string model_path = o.out_dir + "/model.gnm", resume_path = o.out_dir + "/last.gnm";
  const int size = o.model.image_size, channels = o.model.channels;
  const nlohmann::json info = {{"recipe", recipe.name},         {"normalization", recipe.normalization},
                               {"seed", o.seed},                {"image_size", size},
                               {"batch_size", o.batch_size},    {"learning_rate", o.learning_rate},
                               {"data", data.root},             {"format", data.format},
                               {"validate_on", o.validate_on}, {"ema_decay", o.ema_decay},
                               {"lr_schedule", o.lr_schedule},
                               {"selection_tolerance", o.selection_tolerance}, {"fusion_margin", o.fusion_margin},
                               {"harden_at", o.harden_at},
                               {"loss_weights", {o.loss_weights.adversarial, o.loss_weights.contextual, o.loss_weights.encoder}},
                               {"d_lr_scale", o.stabilisers.discriminator_lr_scale},
                               {"real_label", o.stabilisers.real_label},
                               {"reinit_saturated_d", o.stabilisers.reinit_saturated_d},
                               {"instance_noise", o.stabilisers.instance_noise}, {"augment", o.augment},
                               {"clip_grad_norm", o.stabilisers.clip_grad_norm}};
  // A checkpoint that cannot be resumed with these options fails before any decoding.
  LoadedModel resumed;
  if (!o.resume.empty()) {
    resumed = load_model(o.resume);
    GANOMALY_CHECK(!resumed.training.is_null(), o.resume, ": not a resumable checkpoint (use last.gnm)");
    GANOMALY_CHECK(model_config_json(resumed.model->config) == model_config_json(o.model) &&
                       resumed.model->recipe.name == o.recipe,
                   o.resume, ": was trained with other model settings: ", resumed.config["model"].dump(), " recipe ",
                   resumed.model->recipe.name);
    check_resume_settings(o.resume, resumed.config.value("info", nlohmann::json::object()), info);
    const int done = resumed.training.at("epoch").get<int>();
    // Resuming it would train nothing and write nothing: say so rather than exit 0 with no model.
    GANOMALY_CHECK(done < o.epochs, o.resume, ": training already finished: it has run ", done,
                   " epochs and --epochs is ", o.epochs, "; nothing left to do (raise --epochs to train on)");
  }

  // Decode everything first: a bad file fails here, before anything is written.
  const Tensor train_images = load_images(split.train, size, channels, recipe.normalization, o.max_pixels);
  Tensor test_images;
  std::vector<std::vector<uint8_t>> test_masks;
  if (!data.test.empty()) {
    test_images = load_images(data.test, size, channels, recipe.normalization, o.max_pixels);
    test_masks = load_masks(data.test, size, o.max_pixels);
  }
  const std::vector<int> test_labels = labels_of(data.test);
  Tensor val_images, val_normals;
  std::vector<int> val_labels;
  if (o.validate_on == "test") {
    GANOMALY_CHECK(!data.test.empty(), data.root, ": --validate-on test needs a test split");
    val_images = test_images;
    val_labels = test_labels;
  } else {
    val_normals = load_images(split.validation, size, channels, recipe.normalization, o.max_pixels);
    val_images = with_pseudo_anomalies(val_normals, o.seed, &val_labels);
  }
  // After decoding, so that a bad image gives its one error line and nothing else.
  std::printf("data: %s (%s), %zu train, %zu validation normals, %zu test; image size %d, %s normalisation\n",
              data.root.c_str(), data.format.c_str(), split.train.size(), split.validation.size(), data.test.size(),
              size, recipe.normalization.c_str());
  if (o.epochs != options.epochs)
    std::printf("note: %d training images make %d steps an epoch; --epochs %d -> %d and --patience %d -> %d, so that "
                "training runs at least %d steps (--min-steps)\n",
                split_train, split_train / std::max(1, std::min(options.batch_size, split_train)), options.epochs,
                o.epochs, options.patience, o.patience, options.min_steps);
  std::fflush(stdout);

  nn::AdamOptions adam;
  adam.lr = o.learning_rate;
  Ganomaly model(o.model, recipe, o.seed, adam, o.loss_weights, o.stabilisers);
  model.to(o.device);
  model.enable_ema(o.ema_decay);
  Rng data_rng(o.seed + 1);
  int start_epoch = 0, start_step = 0, stale = 0;
  float pseudo_strength = 1.0f;  // lowered when validation saturates (harden_at)
  BestState best;
  double train_seconds = 0;
  if (!o.resume.empty()) {
    LoadedModel& r = resumed;
    model.load_state(r.tensors, o.resume);
    model.optimizer_g.load_state(nn::take_prefix("optimizer_g.", r.tensors));
    model.optimizer_d.load_state(nn::take_prefix("optimizer_d.", r.tensors));
    model.rng.set_state(r.training.at("model_rng").get<std::vector<uint64_t>>());
    data_rng.set_state(r.training.at("data_rng").get<std::vector<uint64_t>>());
    start_epoch = r.training.at("epoch").get<int>();
    start_step = r.training.at("step").get<int>();
    stale = r.training.at("stale").get<int>();
    train_seconds = r.training.at("train_seconds").get<double>();
    best.metric = r.training.at("best_metric").get<double>();
    best.epoch = r.training.at("best_epoch").get<int>();
    pseudo_strength = r.training.value("pseudo_strength", 1.0f);
    if (pseudo_strength < 1.0f) val_images = with_pseudo_anomalies(val_normals, o.seed, &val_labels, pseudo_strength);
    if (best.epoch > 0) {
      best.calibration = Calibration::from_json(r.training.at("best_calibration"));
      best.tensors = nn::take_prefix("best.", r.tensors);
    }
    std::printf("resuming %s at epoch %d step %d\n", o.resume.c_str(), start_epoch + 1, start_step);
  }

  remove_stale_temporaries(o.out_dir);
  if (start_epoch || start_step) {
    truncate_log(o.out_dir + "/train_log.jsonl", start_epoch);
  } else {  // a new run into an old folder: say what it replaces
    std::string old;
    for (const char* f : {"model.gnm", "last.gnm", "train_log.jsonl", "summary.json", "test_scores.csv"})
      if (std::filesystem::exists(o.out_dir + "/" + f)) old += str(old.empty() ? "" : ", ", f);
    if (!old.empty()) std::printf("note: %s holds %s of an earlier run; they will be replaced\n", o.out_dir.c_str(), old.c_str());
  }
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> log_file(
      std::fopen((o.out_dir + "/train_log.jsonl").c_str(), start_epoch || start_step ? "ab" : "wb"), &std::fclose);
  GANOMALY_CHECK(log_file, o.out_dir, "/train_log.jsonl: cannot write");
  std::FILE* log = log_file.get();

  const int n_train = static_cast<int>(train_images.size(0));
  const int batch = std::min(o.batch_size, n_train);
  const int steps_per_epoch = n_train / batch;  // the last incomplete batch is dropped, as the authors do
  std::string status = "completed";
  int epoch = start_epoch;
  int total_steps = 0;  // in this process
  bool stop_after_epoch = false;  // a stop asked at an epoch's last step

  // Saves what a resumed run needs to continue bitwise from (epoch, step).
  std::vector<uint64_t> epoch_rng_state = data_rng.state();
  // epoch_sums: mid-epoch, the losses summed so far, so the resumed epoch logs the
  // means of all its steps, as the straight run does.
  auto save_resumable = [&](int at_epoch, int at_step, const nlohmann::json& epoch_sums = nullptr) {
    nlohmann::json t = {{"epoch", at_epoch},      {"step", at_step},           {"stale", stale},
                        {"data_rng", epoch_rng_state}, {"best_metric", best.metric}, {"best_epoch", best.epoch},
                        {"train_seconds", train_seconds}, {"pseudo_strength", pseudo_strength}};
    if (!epoch_sums.is_null()) t["epoch_sums"] = epoch_sums;
    nn::NamedTensors extra;
    if (best.epoch > 0) {
      t["best_calibration"] = best.calibration.to_json();
      extra = nn::add_prefix("best.", best.tensors);
    }
    save_model(resume_path, model, best.epoch > 0 ? best.calibration : Calibration{}, info, t, extra);
  };

  for (; epoch < o.epochs && status == "completed"; ++epoch) {
    epoch_rng_state = data_rng.state();
    const std::vector<int> order = data_rng.permutation(n_train);
    const float lr_factor = learning_rate_factor(o.lr_schedule, epoch, o.epochs);
    model.optimizer_g.options.lr = o.learning_rate * lr_factor;
    model.optimizer_d.options.lr = o.learning_rate * o.stabilisers.discriminator_lr_scale * lr_factor;
    Progress progress(str("epoch ", epoch + 1, "/", o.epochs), steps_per_epoch, o.interactive);
    StepLosses sum;
    sum.generator_grad_norm = sum.discriminator_grad_norm = 0;
    int steps_done = 0;
    const int first_step = epoch == start_epoch ? start_step : 0;
    const auto epoch_start = std::chrono::steady_clock::now();
    int reinits = 0;
    if (epoch == start_epoch && start_step > 0 && resumed.training.contains("epoch_sums")) {
      const nlohmann::json& e = resumed.training.at("epoch_sums");
      sum.generator = e.at("generator"), sum.discriminator = e.at("discriminator");
      sum.adversarial = e.at("adversarial"), sum.contextual = e.at("contextual"), sum.encoder = e.at("encoder");
      sum.generator_grad_norm = e.at("generator_grad_norm"), sum.discriminator_grad_norm = e.at("discriminator_grad_norm");
      steps_done = e.at("steps_done"), reinits = e.at("reinits");
    }
    for (int step = first_step; step < steps_per_epoch; ++step) {
      model.inject_nan_once = o.nan_at_step >= 0 && total_steps + 1 == o.nan_at_step;
      Tensor images = gather(train_images, order, static_cast<size_t>(step) * batch, batch);
      if (o.augment != "none") {
        Rng augment_rng(step_seed(o.seed, epoch, step, 1));
        augment_batch(images, o.augment, augment_rng);
      }
      const float trained = (epoch + static_cast<float>(step) / steps_per_epoch) / o.epochs;
      model.instance_noise = {o.stabilisers.instance_noise * (1.0f - trained), step_seed(o.seed, epoch, step, 2)};
      const StepLosses l = model.train_step(images);
      if (l.skipped) {
        const bool generator_ok = std::isfinite(l.generator);
        const char* which = generator_ok ? "discriminator" : "generator";
        // A generator loss is checked before any update; a discriminator loss after the
        // generator's update, so only the discriminator is spared then.
        const char* spared = generator_ok ? "the discriminator was not updated" : "no weights changed";
        if (o.on_nan == "skip") {
          std::printf("\nepoch %d step %d: the %s loss is not finite; batch skipped, %s\n", epoch + 1, step + 1, which,
                      spared);
          ++total_steps;
          continue;
        }
        std::printf("\ntraining stopped: the %s loss is not finite at epoch %d step %d (%s); %s\n", which, epoch + 1,
                    step + 1, spared,
                    best.epoch > 0 ? str("the best model (epoch ", best.epoch, ") is kept").c_str()
                                   : "no model was saved yet");
        status = "diverged";
        break;
      }
      sum.generator += l.generator, sum.discriminator += l.discriminator, sum.contextual += l.contextual;
      sum.adversarial += l.adversarial, sum.encoder += l.encoder;
      sum.generator_grad_norm += l.generator_grad_norm, sum.discriminator_grad_norm += l.discriminator_grad_norm;
      reinits += l.discriminator_reinitialised;
      ++steps_done;
      progress.update(step + 1, static_cast<long>(steps_done) * batch,
                      str("g=", fixed(l.generator), " d=", fixed(l.discriminator, 4)));
      ++total_steps;
      if (g_stop_requested || (o.stop_after_steps >= 0 && total_steps >= o.stop_after_steps)) {
        // At the epoch's last step, the epoch is finished first (validation, selection,
        // model.gnm, its log line): a checkpoint at (epoch + 1, step 0) that skipped them
        // would resume into another run than the straight one.
        if (step + 1 == steps_per_epoch) {
          stop_after_epoch = true;
          break;
        }
        train_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
        save_resumable(epoch, step + 1,
                       {{"generator", sum.generator}, {"discriminator", sum.discriminator},
                        {"adversarial", sum.adversarial}, {"contextual", sum.contextual}, {"encoder", sum.encoder},
                        {"generator_grad_norm", sum.generator_grad_norm},
                        {"discriminator_grad_norm", sum.discriminator_grad_norm}, {"steps_done", steps_done},
                        {"reinits", reinits}});
        std::printf("\ninterrupted: resumable checkpoint %s written; continue with --resume %s\n", resume_path.c_str(),
                    resume_path.c_str());
        status = "interrupted";
        break;
      }
    }
    if (status != "completed") break;
    train_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
    const float denom = std::max(1, steps_done);

    if (o.recalibrate_batch_norm) model.recalibrate_ema_batch_norm(train_images, batch);
    model.fit_residual_statistics(train_images);
    // Validation: AUROC of every score on held-out normals vs pseudo-anomalies.
    ValidationPass pass = validate_model(model, val_images, val_labels, o);
    // Saturated, it cannot rank this epoch against the kept one: fainter pseudo-anomalies
    // until it can, and the kept model measured again on them so both meet on one set.
    const float strength_before = pseudo_strength;
    while (o.validate_on != "test" && o.harden_at > 0 && pass.metric >= o.harden_at &&
           pseudo_strength > kMinPseudoStrength) {
      pseudo_strength *= 0.5f;
      val_images = with_pseudo_anomalies(val_normals, o.seed, &val_labels, pseudo_strength);
      pass = validate_model(model, val_images, val_labels, o);
      if (best.epoch > 0) {
        const nn::NamedTensors current = clone_state(model.state());
        model.load_state(best.tensors, "best state");
        const ValidationPass kept = validate_model(model, val_images, val_labels, o);
        best.metric = kept.metric;
        best.calibration = calibrate(kept.scores, val_labels, kept.fusion, o);
        save_model(model_path, model, best.calibration, info);
        model.load_state(current, "current state");
      }
    }
    Scores& val = pass.scores;
    const Calibration& fusion = pass.fusion;
    nlohmann::json entry = {{"epoch", epoch + 1},
                            {"generator_loss", sum.generator / denom},
                            {"discriminator_loss", sum.discriminator / denom},
                            {"adversarial_loss", sum.adversarial / denom},
                            {"contextual_loss", sum.contextual / denom},
                            {"encoder_loss", sum.encoder / denom},
                            {"discriminator_reinitialised", reinits},
                            {"validate_on", o.validate_on},
                            {"pseudo_anomaly_strength", pseudo_strength}};
    for (const auto& [name, part] : fusion.fusion) entry["fusion_weights"][name] = part.weight;
    if (o.stabilisers.clip_grad_norm > 0) {  // the means before clipping, to see how often it bites
      entry["generator_grad_norm"] = sum.generator_grad_norm / denom;
      entry["discriminator_grad_norm"] = sum.discriminator_grad_norm / denom;
    }
    double metric = -1;
    std::string line;
    for (const std::string& name : selectable_score_names()) {
      const double a = auroc(val.get(name), val_labels);
      entry["val_auroc"][name] = a;
      // Three letters each, except the residual scores, which would all read "res".
      const std::string label = name == "residual_max" ? "rmax"
                                : name == "residual_z" ? "rz"
                                : name == "residual_nn" ? "rnn"
                                                        : name.substr(0, 3);
      line += " " + label + "=" + fixed(a);
      if (o.score == "auto" ? a > metric : name == o.score) metric = a;
    }
    entry["selection_auroc"] = metric;
    if (o.log_test_auroc && !data.test.empty()) {
      Scores test = model.score(test_images);
      fusion.fuse(test);
      nlohmann::json dump = {{"epoch", epoch + 1}, {"val_labels", val_labels}, {"test_labels", test_labels}};
      for (const std::string& name : selectable_score_names()) {
        entry["test_auroc_for_analysis"][name] = auroc(test.get(name), test_labels);
        dump["val"][name] = val.get(name);
        dump["test"][name] = test.get(name);
      }
      std::filesystem::create_directories(o.out_dir + "/analysis");
      write_text_file(str(o.out_dir, "/analysis/epoch_", epoch + 1, ".json"), dump.dump() + "\n");
    }
    const bool improved = o.selection_tolerance > 0 ? metric > best.metric - o.selection_tolerance : metric > best.metric;
    if (improved) {
      best.metric = std::max(best.metric, metric);
      best.epoch = epoch + 1;
      best.calibration = calibrate(val, val_labels, fusion, o);
      best.tensors = clone_state(model.state());
      stale = 0;
      save_model(model_path, model, best.calibration, info);
    } else {
      ++stale;
    }
    entry["best_epoch"] = best.epoch;
    std::fprintf(log, "%s\n", entry.dump().c_str());
    std::fflush(log);
    progress.finish(str("g=", fixed(sum.generator / denom), " d=", fixed(sum.discriminator / denom, 4),
                        " val auroc", line, o.validate_on == "test" ? " (on TEST set: oracle)" : "",
                        improved ? " *best" : "", reinits ? str(" D re-initialised x", reinits) : "",
                        pseudo_strength != strength_before
                            ? str(" (validation saturated: pseudo-anomalies at strength ", pseudo_strength, " from now)")
                            : ""));
    epoch_rng_state = data_rng.state();
    save_resumable(epoch + 1, 0);
    if (o.patience > 0 && stale >= o.patience) {
      std::printf("early stop: no better validation AUROC for %d epochs\n", o.patience);
      status = "early_stopped";
      ++epoch;
      break;
    }
    if (stop_after_epoch) {
      std::printf("interrupted: resumable checkpoint %s written; continue with --resume %s\n", resume_path.c_str(),
                  resume_path.c_str());
      status = "interrupted";
      ++epoch;
      break;
    }
  }
  log_file.reset();

  nlohmann::json summary = {{"status", status},          {"recipe", recipe.name},
                            {"normalization", recipe.normalization}, {"image_size", size},
                            {"seed", o.seed},            {"epochs_run", epoch},
                            {"best_epoch", best.epoch},  {"train_seconds", train_seconds},
                            {"validate_on", o.validate_on}, {"data", data.root}};
  if (status == "interrupted" || best.epoch == 0) {
    write_text_file(o.out_dir + "/summary.json", summary.dump(2) + "\n");
    return summary;
  }
  // Final model = the best validation epoch.
  model.load_state(best.tensors, "best state");
  summary["score"] = best.calibration.score;
  summary["threshold"] = best.calibration.threshold;
  summary["model"] = model_path;
  if (!data.test.empty()) {
    Evaluation e = evaluate(model, best.calibration, test_images, test_labels, &test_masks);
    e.floor_auroc = TrivialFloors(train_images).auroc(test_images, test_labels);
    summary.update(evaluation_json(e, best.calibration));
    write_scores_csv(o.out_dir + "/test_scores.csv", data.test, e, best.calibration);
  }
  write_text_file(o.out_dir + "/summary.json", summary.dump(2) + "\n");
  return summary;
}

}  // namespace gan
