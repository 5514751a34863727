#pragma once
// Trivial anomaly scores that any model must beat: the distance of an image to the
// nearest training image and to the mean training image, L1 and L2 per value, on the
// images as the model sees them (its size, channels and normalisation). A GANomaly whose
// AUROC sits below the nearest-image floor adds nothing a lookup table would not; a
// generated data set whose floor is near 1.0 is too easy to tell anything.
#include <map>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace gan {

// "nearest_l1", "nearest_l2", "mean_l1", "mean_l2".
const std::vector<std::string>& floor_score_names();

class TrivialFloors {
 public:
  // `normals`: [N, C, H, W] training images, N >= 1.
  explicit TrivialFloors(const Tensor& normals);
  // Each floor's score of every image of `images` ([M, C, H, W], the normals' shape).
  std::map<std::string, std::vector<float>> score(const Tensor& images) const;
  // Each floor's image AUROC on labelled images; empty when only one class is present.
  std::map<std::string, double> auroc(const Tensor& images, const std::vector<int>& labels) const;

 private:
  Tensor normals_;            // on the CPU
  std::vector<float> mean_;   // the mean image
};

}  // namespace gan
