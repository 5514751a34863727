// The lighting check's drift: test images seen under other light than the training ones.
#include <algorithm>

#include "ganomaly/data/synth.h"
#include "ganomaly/data/synth_internal.h"
#include "tensor/check.h"

namespace gan {

void change_lighting(Image& image, double strength, uint64_t seed, int index) {
  GANOMALY_CHECK(strength >= 0 && strength <= 0.5, "synth: lighting change must be in [0, 0.5], got ", strength);
  if (strength == 0 || image.pixels.empty()) return;
  // Its own stream, so the scene and the defect are the ones drawn without the drift.
  synth::Rng rng(synth::mix(synth::mix(seed ^ synth::fnv1a("lighting")) ^ uint64_t(index)));
  const double dimmer = 1.0 - strength * rng.uniform(0.5, 1.0);       // darker by strength/2 to strength
  const double contrast = 1.0 + strength * rng.uniform(-1.0, 1.0);    // flatter or harder, up to strength
  double mean = 0;
  for (float p : image.pixels) mean += p;
  mean /= double(image.pixels.size());
  for (float& p : image.pixels)
    p = float(std::clamp((mean + contrast * (double(p) - mean)) * dimmer, 0.0, 1.0));
}

}  // namespace gan
