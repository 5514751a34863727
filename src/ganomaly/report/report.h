#pragma once
// The run report: plots (SVG, our own writer), a reconstruction grid (PNG) and one
// self-contained report.html (everything inline: SVG text, base64 PNG data URIs, inline
// CSS; no external resource of any kind).
//
// Written into an output folder:
//   plots/training_curves.svg   generator and discriminator losses and the validation
//                               AUROC of every score, per epoch (from train_log.jsonl;
//                               skipped when there is no log)
//   plots/roc.svg               ROC of the chosen score on the test set, AUROC in the title
//   plots/score_histogram.svg   normal vs anomalous test scores, the threshold marked
//   plots/reconstructions.png   per class (good and each defect, up to 3 images each):
//                               input | reconstruction | |difference| heat map
//   report.html                 all of the above, the metrics, the settings and every
//                               test image's score, thumbnail and verdict
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ganomaly/data/dataset.h"
#include "ganomaly/eval/evaluate.h"
#include "ganomaly/io/model_file.h"
#include "ganomaly/train/train.h"

namespace gan {

struct ReportInputs {
  std::string title = "GANomaly report";
  Ganomaly* model = nullptr;                   // reconstructions (its scoring generator)
  const Calibration* calibration = nullptr;    // the chosen score and threshold
  const std::vector<Sample>* samples = nullptr;  // the test images, in the order of `images`
  const Tensor* images = nullptr;              // [N, C, S, S] in the model's recipe normalisation
  const Evaluation* evaluation = nullptr;      // their scores and metrics (may be null: no test set)
  nlohmann::json settings;                     // shown as "Settings" (the summary, or what the app knows)
  nlohmann::json metrics;                      // extra figures to show (e.g. test_metrics.json); may be null
  std::string train_log;                       // train_log.jsonl; empty or missing: no training curves
};

struct ReportOptions {
  int per_class = 3;        // reconstruction grid: images per class (good and each defect)
  int thumbnail_size = 48;  // per-image thumbnails in report.html (pixels, at most the image size x 2)
};

// Writes plots/ and report.html into out_dir (created when missing). Throws gan::Error
// naming the file that could not be written.
void write_report(const std::string& out_dir, const ReportInputs& inputs, const ReportOptions& options = {});

// The inputs for a training run's report, from what train_model returns (no file is
// read back and nothing is scored again): the summary and the run's settings, the log
// beside it in out_dir, and with a kept model the test split as evaluated. `test` is
// the data set's test split (Dataset::test), which must outlive the result.
ReportInputs training_report(const TrainResult& run, const std::vector<Sample>& test, const std::string& out_dir);

// What the page is built from, usable on their own (a PNG to embed elsewhere, a
// reconstruction to save).
// RFC 4648 base64, padded: the data URIs of report.html.
std::string base64_encode(const std::vector<uint8_t>& bytes);
// An 8-bit PNG in memory (channels 1, 3 or 4; HWC).
std::vector<uint8_t> encode_png(int width, int height, int channels, const uint8_t* data);
// Images of a [N, C, S, S] tensor in `normalization` ("tanh" or "imagenet") back to [0, 1].
Image tensor_image(const Tensor& images, int64_t index, const std::string& normalization);

}  // namespace gan
