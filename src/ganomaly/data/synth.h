#pragma once
// Small synthetic anomaly data sets, written in any layout discover_dataset reads.
//
// Kinds: "bottle" (a bottle seen from the top: dark mouth, glass ring, light table),
// "fabric" (woven threads) and "wood" (warped grain). Normal images vary a little in
// position, scale, lighting and noise; defects (scratch, contamination, crack, missing
// part) are small and low-contrast so that nearest-neighbour L1 scores are well short
// of a perfect AUROC (measured at seed 42, 60 train / 20 good / 40 bad, mean L1 to the
// nearest training image: 0.67-0.73 at 128 px, 0.73-0.81 at 64 px).
// Two more kinds (drawn in synth_kinds.cpp) have defects of their own:
// "part", an aligned component on an inspection line (dark body, metal tab, three
// leads, on a board; bent_lead, cut_lead, damaged_case, misplaced, named as in MVTec's
// transistor), where gross defects put the nearest-image floor above 0.9; and "grey",
// a woven wire mesh in one channel (scratch, dent, broken_wire, contamination).
// Their floors (128 px, 200 train / 20 good / 40 bad, seeds 42 / 43 / 44, mean L1 to
// the nearest training image at 64 px grey): part 0.936 / 0.899 / 0.909, grey 0.739 /
// 0.729 / 0.726.
// "aligned" (synth_aligned.cpp) is a printed label held by a fixture: the same pose in
// every image, normal images differing only by sensor noise, a third of the other kinds'
// change of brightness and the paper's grain; its defects change the print over a large
// part of the label (faded_print, shifted_print by under a pixel to two at 64 px,
// missing_print, a faint smear). Nothing moves, so the distance to the mean training
// image is already a perfect detector: every floor (mean and nearest, L1 and L2, at 64
// px, ganomaly_baseline) is 1.000 at seeds 42 / 43 / 44, both at 128 px with 48 train /
// 20 good / 40 bad and at the default counts. It is the model's test of a trivial floor
// that wins (docs/QUALITY.md, round 5).
// Everything is drawn from our own splitmix64 stream keyed by (seed, kind, image
// index), so the files are the same on every machine and thread count.
#include <cstdint>
#include <string>
#include <vector>

#include "ganomaly/data/image.h"

namespace gan {

struct SynthOptions {
  std::string layout = "mvtec";  // mvtec, btad, visa, visa_converted or folder
  std::string category = "bottle";
  std::string kind = "auto";     // bottle, fabric, wood, part, grey, aligned, or auto (see resolve_synth_kind)
  std::string out = "data/synth";
  uint64_t seed = 42;
  int size = 128;                // images are size x size
  int train = 60, test_good = 20, test_bad = 20;
  bool overwrite = false;        // replace an existing category folder
  double test_lighting = 0;      // test images (normal and defective) under other light: see change_lighting
};

// The kinds a category can be drawn as.
const std::vector<std::string>& synth_kinds();
// "auto" uses the category name when it is a kind, else picks bottle, fabric or wood
// from a hash of the name (so BTAD's "01", "02", "03" get fixed kinds).
std::string resolve_synth_kind(const std::string& category, const std::string& kind);
// The defect classes of anomalous images of `kind`, cycled in this order.
const std::vector<std::string>& synth_defects(const std::string& kind = "bottle");

struct SynthSample {
  Image image;                // floats in [0, 1]: RGB, grey (one channel) for kind "grey"
  std::vector<uint8_t> mask;  // size*size, 1 = defect; all zeros for normal images
  std::string defect;         // "good" or one of synth_defects()
};

// Image `index` of a data set; index picks the random stream, so train and test
// images must use different indices. defect: "good" or a synth_defects() name.
SynthSample render_synthetic(const std::string& kind, int size, uint64_t seed, int index,
                             const std::string& defect);

// A global change of light, as production lighting drifts: the image darkened by
// strength/2 to strength and its contrast about its mean scaled by 1 +- up to strength,
// both drawn from (seed, index). strength in [0, 0.5]; 0 leaves the image as it is.
void change_lighting(Image& image, double strength, uint64_t seed, int index);

// Writes the data set and returns the folder to pass to discover_dataset
// (<out>/<category>; for VisA <out> is the VisA root and gets split_csv/1cls.csv).
std::string write_synthetic_dataset(const SynthOptions& options);

}  // namespace gan
