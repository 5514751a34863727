#pragma once
// Which anomaly map a trained model draws, chosen on validation. The map's peak is the
// deciding score (eval/anomaly_map.h: raw score + slope x (m - max m)), so choosing the
// map means choosing which residual score the fused score sums: residual_nn (the residual
// standardised by the nearest training images'), residual_z (standardised per pixel over
// all of them) or residual_max (the raw |x - fake|). No one map suits every category: on
// categories measured in docs/QUALITY.md the raw residual localised real defects far
// better than residual_nn, on bottle far worse. The validation pseudo-anomalies have
// masks (make_pseudo_anomalies), so their maps' pixel AUROC and AUPRO can tell.
#include <vector>

#include "ganomaly/eval/calibration.h"
#include "ganomaly/eval/map_figures.h"

namespace gan {

struct MapCandidate {
  Score score = Score::residual_nn;
  PixelFigures validation;
  // The selecting validation AUROC (image level) of the fused score summing this map's
  // residual score; NaN when not measured.
  double image_auroc = std::nan("");
  // Whether the fused score would weigh this residual part at least kMapMinimumWeight: one
  // weighed 0 leaves a flat map, and one weighed little outlines a part that did not
  // decide. Neither can be chosen.
  bool drawable = true;
};

// The least fusion weight a residual part needs for its map to be drawn. The map's peak
// is the deciding score; a part weighed, say, 0.03 is a small correction to a score the
// other parts carry (image_nn, where the image alone detects: transistor, docs/QUALITY.md
// round 8), so its outline would not show what decided, and choosing it turns the
// fused score into another score (the image part alone) behind the map choice's back.
inline constexpr float kMapMinimumWeight = 0.5f;
// Whether the fused calibration `c` weighs its residual part `residual` at least that.
bool drawable_part(const Calibration& c, Score residual);

// A map must beat the default's validation AUPRO by more than this to replace it: the
// default (kFusedResidual, residual_nn) stays on ties and near-ties, so that nothing
// changes without a clear reason.
inline constexpr double kMapChoiceMargin = 0.01;
// Nor may it cost more than this of the default's validation image AUROC: the map's peak
// is the deciding score, so a map that localises better but detects worse (the raw
// residual, on aligned parts) would trade the verdicts for the outline.
inline constexpr double kMapAurocTolerance = 0.01;

// The candidate with the best validation AUPRO among those whose image AUROC is within
// `auroc_tolerance` of the default's (both measured; unmeasured: no limit), unless its
// AUPRO is within `margin` of the default's. The default: kFusedResidual when among the
// candidates, else the first. A candidate with an undefined AUPRO, or not drawable, never
// wins. Throws on no candidates.
Score choose_map(const std::vector<MapCandidate>& candidates, double margin = kMapChoiceMargin,
                 double auroc_tolerance = kMapAurocTolerance);

// The maps `model` can draw (map_scores_of) on `images`, measured against `masks`
// (map_figures), in kMapScores order.
std::vector<MapCandidate> map_candidates(Ganomaly& model, const Tensor& images,
                                         const std::vector<std::vector<uint8_t>>& masks);

}  // namespace gan
