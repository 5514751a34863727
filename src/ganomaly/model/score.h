#pragma once
// The anomaly scores: which exist, their names (model files, logs, --score), and which
// the fused score sums.
#include "ganomaly/model/names.h"

namespace gan {

enum class Score {
  latent,          // mean((z - z_hat)^2), the paper's score
  reconstruction,  // mean(|x - fake|)
  feature,         // mean((f(x) - f(fake))^2), f = D features
  residual_max,    // largest mean |x - fake| over a window of side S/8
  residual_z,      // the same map standardised per pixel (residual_map.h)
  residual_nn,     // standardised by the nearest training images' maps (residual_neighbours.h)
  fused,           // a weighted sum of kFusedScores, standardised (Calibration::fuse)
  image_z,         // the image itself standardised per value, largest window mean of |z| (image_z.h)
  image_nn,        // the same, standardised by the nearest training images (image_neighbours.h)
};

template <>
struct NameTable<Score> {
  static constexpr std::pair<Score, const char*> all[] = {
      {Score::latent, "latent"},         {Score::reconstruction, "reconstruction"}, {Score::feature, "feature"},
      {Score::residual_max, "residual_max"}, {Score::residual_z, "residual_z"},     {Score::residual_nn, "residual_nn"},
      {Score::fused, "fused"},           {Score::image_z, "image_z"},               {Score::image_nn, "image_nn"}};
};

// Every score, in the order logs and reports list them.
inline constexpr Score kScores[] = {Score::latent,      Score::reconstruction, Score::feature,
                                    Score::residual_max, Score::residual_z,     Score::residual_nn,
                                    Score::image_z,      Score::image_nn,       Score::fused};

// The scores that have an anomaly map (eval/anomaly_map.h): the residual map they read.
inline constexpr Score kMapScores[] = {Score::residual_nn, Score::residual_z, Score::residual_max};
inline constexpr bool has_map(Score s) {
  return s == Score::residual_nn || s == Score::residual_z || s == Score::residual_max;
}

// What the fused score sums: latent, feature, one residual score, whose map is the
// anomaly map (anomaly_map.h map_part_of), and image_nn. By default the residual part is
// residual_nn: the mean reconstruction error and residual_max are the residual map seen
// less sharply; residual_z beat both on validation, and residual_nn beat residual_z there
// (docs/QUALITY.md). Training may put residual_z or residual_max in its place when its
// map localises the validation pseudo-anomalies clearly better (train/map_choice.h).
// The image part sees the wide, faint changes of an aligned object that every residual
// score misses (image_z, docs/QUALITY.md, round 5); image_nn, its neighbour form, sees
// them as well and also a piece missing from a part whose pose varies (round 8), so it
// took image_z's place. Model files written before residual_nn, image_z or image_nn keep
// the parts they were fitted with.
inline constexpr Score kFusedResidual = Score::residual_nn;
inline constexpr Score kFusedImage = Score::image_nn;
inline constexpr Score kFusedScores[] = {Score::latent, Score::feature, kFusedResidual, kFusedImage};
struct FusedScores {
  Score parts[4];
  const Score* begin() const { return parts; }
  const Score* end() const { return parts + 4; }
};
// kFusedScores with `residual` (one of kMapScores) as the residual part.
inline constexpr FusedScores fused_scores(Score residual) {
  return {{Score::latent, Score::feature, residual, kFusedImage}};
}

// Orders scores by name: the order model files list the fused parts in, and the order
// the fused sum adds them (so a sum is the same float however the model was loaded).
struct ByScoreName {
  bool operator()(Score a, Score b) const { return std::string(to_string(a)) < to_string(b); }
};

}  // namespace gan
