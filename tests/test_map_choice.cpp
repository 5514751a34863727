// The anomaly map chosen on validation (train/map_choice.h): pseudo-anomalies' masks,
// the chooser, a fused score summing the chosen residual part (its map's peak still the
// deciding score), and training's --map with what summary.json reports.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "ganomaly/eval/anomaly_map.h"
#include "ganomaly/eval/aupro.h"
#include "ganomaly/eval/metrics.h"
#include "ganomaly/io/model_file.h"
#include "ganomaly/train/map_choice.h"
#include "ganomaly/train/pseudo_anomaly.h"
#include "ganomaly/train/train.h"
#include "support/fixtures.h"
#include "support/run_app.h"

using namespace gan;

namespace {

Tensor random_normals(int n, int c, int side, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(size_t(n) * c * side * side);
  // Smooth-ish images: a gradient plus noise, so that a pasted patch changes pixels.
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < c; ++k)
      for (int y = 0; y < side; ++y)
        for (int x = 0; x < side; ++x)
          v[((size_t(i) * c + k) * side + y) * side + x] = 0.02f * (x + y) - 0.6f + rng.uniform(-0.2f, 0.2f);
  return Tensor::from_vector(Shape{n, c, side, side}, v);
}

// The image's standard deviation over all its values, as a double-precision sum.
double spread_of(const float* x, size_t n) {
  double s = 0, ss = 0;
  for (size_t i = 0; i < n; ++i) s += x[i], ss += double(x[i]) * x[i];
  const double mean = s / n;
  return std::sqrt(std::max(1e-6, ss / n - mean * mean));
}

}  // namespace

TEST_CASE("pseudo-anomalies: each mask covers exactly the pixels changed by more than its epsilon") {
  const int n = 8, c = 3, side = 32;
  const Tensor normals = random_normals(n, c, side, 3);
  for (const float strength : {1.0f, 0.5f, 0.125f}) {
    CAPTURE(strength);
    Rng with_masks(11), without(11);
    Tensor masks;
    const Tensor pseudo = make_pseudo_anomalies(normals, with_masks, strength, &masks);
    // The masks change nothing else: the same images as without them.
    const Tensor plain = make_pseudo_anomalies(normals, without, strength);
    CHECK(pseudo.to_vector() == plain.to_vector());
    REQUIRE(masks.shape() == Shape{n, 1, side, side});
    const size_t pixels = size_t(side) * side, per_image = c * pixels;
    for (int i = 0; i < n; ++i) {
      CAPTURE(i);
      const float* before = normals.data() + i * per_image;
      const float* after = pseudo.data() + i * per_image;
      const double epsilon = kPseudoMaskFraction * strength * spread_of(before, per_image);
      int64_t marked = 0, mismatched = 0;
      for (size_t p = 0; p < pixels; ++p) {
        double moved = 0;
        for (int k = 0; k < c; ++k) moved = std::max(moved, std::fabs(double(after[k * pixels + p]) - before[k * pixels + p]));
        const float m = masks.data()[i * pixels + p];
        CHECK((m == 0.0f || m == 1.0f));
        marked += m == 1.0f;
        // Exactly the changed pixels, but for float rounding right at the epsilon.
        if ((m == 1.0f) != (moved > epsilon) && std::fabs(moved - epsilon) > 1e-5 * (1 + epsilon)) ++mismatched;
      }
      CHECK(mismatched == 0);
      // Every kind of defect changes a region on these images (a pasted patch included:
      // no two places of a gradient are alike), and none covers the whole image.
      CHECK(marked > 0);
      CHECK(marked < int64_t(pixels));
    }
  }
  // Fainter, the same places: the masks at an eighth of the strength are the full ones
  // but for pixels right at the edge.
  Rng a(5), b(5);
  Tensor full, faint;
  make_pseudo_anomalies(normals, a, 1.0f, &full);
  make_pseudo_anomalies(normals, b, 0.125f, &faint);
  const std::vector<float> f = full.to_vector(), g = faint.to_vector();
  const auto differing = std::inner_product(f.begin(), f.end(), g.begin(), size_t(0), std::plus<>(),
                                            [](float x, float y) { return size_t(x != y); });
  CHECK(differing <= f.size() / 100);
}

TEST_CASE("with_pseudo_anomalies: the normals' masks are empty, the pseudo-anomalies' marked") {
  const Tensor normals = random_normals(4, 3, 16, 9);
  std::vector<int> labels;
  Tensor masks;
  const Tensor images = with_pseudo_anomalies(normals, 42, &labels, 1.0f, &masks);
  std::vector<int> again_labels;
  CHECK(with_pseudo_anomalies(normals, 42, &again_labels).to_vector() == images.to_vector());
  REQUIRE(masks.shape() == Shape{8, 1, 16, 16});
  const std::vector<std::vector<uint8_t>> bytes = mask_bytes(masks);
  for (int i = 0; i < 8; ++i) {
    const auto marked = std::count(bytes[i].begin(), bytes[i].end(), uint8_t(1));
    CHECK((labels[i] == 0 ? marked == 0 : marked > 0));
  }
}

TEST_CASE("choose_map follows the validation AUPRO; residual_nn keeps near-ties; no map that costs detection") {
  auto candidate = [](Score s, double aupro, double image_auroc = std::nan("")) {
    MapCandidate c;
    c.score = s;
    c.validation.auroc = 0.9;
    c.validation.aupro = aupro;
    c.image_auroc = image_auroc;
    return c;
  };
  using S = Score;
  CHECK(choose_map({candidate(S::residual_nn, 0.27), candidate(S::residual_z, 0.40), candidate(S::residual_max, 0.70)}) ==
        S::residual_max);
  CHECK(choose_map({candidate(S::residual_nn, 0.73), candidate(S::residual_z, 0.60), candidate(S::residual_max, 0.52)}) ==
        S::residual_nn);
  CHECK(choose_map({candidate(S::residual_nn, 0.50), candidate(S::residual_z, 0.509), candidate(S::residual_max, 0.2)}) ==
        S::residual_nn);  // within 0.01: kept
  CHECK(choose_map({candidate(S::residual_nn, 0.50), candidate(S::residual_z, 0.50)}) == S::residual_nn);  // a tie
  CHECK(choose_map({candidate(S::residual_nn, 0.50), candidate(S::residual_z, 0.52)}) == S::residual_z);
  CHECK(choose_map({candidate(S::residual_nn, 0.50), candidate(S::residual_z, 0.52)}, 0.05) == S::residual_nn);
  // An undefined AUPRO never wins, and an undefined default loses to any defined map.
  CHECK(choose_map({candidate(S::residual_nn, 0.5), candidate(S::residual_z, std::nan(""))}) == S::residual_nn);
  CHECK(choose_map({candidate(S::residual_nn, std::nan("")), candidate(S::residual_max, 0.1)}) == S::residual_max);
  // Better localised but worse at detecting: the raw map loses; the next best wins.
  CHECK(choose_map({candidate(S::residual_nn, 0.27, 0.98), candidate(S::residual_z, 0.40, 0.975),
                    candidate(S::residual_max, 0.70, 0.60)}) == S::residual_z);
  CHECK(choose_map({candidate(S::residual_nn, 0.27, 0.98), candidate(S::residual_max, 0.70, 0.60)}) == S::residual_nn);
  // A residual part the fused score would weigh 0 draws a flat map: never chosen.
  MapCandidate flat = candidate(S::residual_max, 0.9, 0.99);
  flat.drawable = false;
  CHECK(choose_map({candidate(S::residual_nn, 0.27, 0.98), flat}) == S::residual_nn);
  // Drawable: a fused calibration weighing the part at least kMapMinimumWeight (0.5).
  Calibration c;
  c.score = Score::fused;
  c.fusion[S::image_nn] = {0.0f, 1.0f, 1.0f};
  c.fusion[S::residual_max] = {0.0f, 1.0f, 0.03f};  // a small correction to image_nn: not drawn
  CHECK_FALSE(drawable_part(c, S::residual_max));
  c.fusion[S::residual_max].weight = 0.5f;
  CHECK(drawable_part(c, S::residual_max));
  CHECK_FALSE(drawable_part(c, S::residual_nn));  // not a part
  c.score = Score::residual_max;                  // not fused: the map is the score's own, never re-chosen
  CHECK_FALSE(drawable_part(c, S::residual_max));
  // A model without neighbour residuals: the first candidate is the default.
  CHECK(choose_map({candidate(S::residual_z, 0.3), candidate(S::residual_max, 0.305)}) == S::residual_z);
  CHECK_THROWS_AS(choose_map({}), Error);
}

TEST_CASE("choose_map on hand-made maps: the map that lights the defect is chosen") {
  // Four 16x16 images, a defect square in two of them; one map lights the squares, the
  // other is noise with a bright corner: their AUPROs, computed as validation does, pick.
  const int side = 16, n = 4;
  const size_t pixels = size_t(side) * side;
  std::vector<uint8_t> masks(n * pixels, 0);
  std::vector<float> sharp(n * pixels), noisy(n * pixels);
  Rng rng(2);
  for (int i = 0; i < n; ++i)
    for (int y = 0; y < side; ++y)
      for (int x = 0; x < side; ++x) {
        const size_t p = i * pixels + y * side + x;
        const bool defect = i % 2 == 1 && y >= 4 && y < 8 && x >= 6 && x < 10;
        masks[p] = defect;
        sharp[p] = (defect ? 2.0f : 0.0f) + rng.uniform(0.0f, 1.0f);
        noisy[p] = (x < 3 && y < 3 ? 2.0f : 0.0f) + rng.uniform(0.0f, 1.0f);
      }
  auto figures = [&](const std::vector<float>& maps) {
    PixelFigures f;
    f.auroc = pixel_auroc(maps.data(), masks.data(), maps.size());
    f.aupro = aupro(maps.data(), masks.data(), n, side, side);
    return f;
  };
  for (const bool sharp_is_nn : {true, false}) {
    CAPTURE(sharp_is_nn);
    const std::vector<MapCandidate> candidates = {
        {Score::residual_nn, figures(sharp_is_nn ? sharp : noisy)},
        {Score::residual_max, figures(sharp_is_nn ? noisy : sharp)}};
    CHECK(candidates[sharp_is_nn ? 0 : 1].validation.aupro > 0.9);
    CHECK(candidates[sharp_is_nn ? 1 : 0].validation.aupro < 0.2);
    CHECK(choose_map(candidates) == (sharp_is_nn ? Score::residual_nn : Score::residual_max));
  }
}

TEST_CASE("a fused score summing residual_z or residual_max: its map is that part's, the peak the deciding score") {
  Ganomaly model(testing::tiny_model_config(), Recipe::of(RecipeName::paper), 7);
  const Tensor images = testing::random_images(8);
  model.fit_residuals(images, 4);
  std::vector<int> labels = {0, 0, 0, 0, 1, 1, 1, 1};
  for (const Score residual : kMapScores) {
    CAPTURE(to_string(residual));
    Calibration c;
    c.score = Score::fused;
    Scores scores = model.score(images);
    c.fit_fusion(scores, labels, /*margin=*/1.0, residual);  // margin 1: every part keeps a weight
    CHECK(c.fusion.count(residual) == 1);
    for (const Score other : kMapScores)
      if (other != residual) CHECK(c.fusion.count(other) == 0);
    CHECK(c.fusion.count(Score::latent) == 1);
    CHECK(c.fusion.count(Score::feature) == 1);
    // The fused score is the sum of the parts: the chosen residual score's included.
    c.fuse(scores);
    for (size_t i = 0; i < scores.size(); ++i) {
      double sum = 0;
      for (const auto& [s, part] : c.fusion) sum += part.weight * ((scores.get(s)[i] - part.mean) / part.stddev);
      CHECK(scores.get(Score::fused)[i] == doctest::Approx(sum).epsilon(1e-5));
    }
    const MapPart part = map_part_of(c, model);
    CHECK(part.score == residual);
    CHECK(part.slope == c.fusion.at(residual).weight / c.fusion.at(residual).stddev);
    c.threshold = 0;
    const ScoredMaps s = score_with_maps(model, c, images, FeatureScore::compute);
    for (int i = 0; i < 8; ++i) CHECK(*std::max_element(s.map(i), s.map(i) + 32 * 32) == s.verdicts[i].raw);
    // A model file keeps the part: the map read back is the same.
    const std::string path = testing::temp_dir("map_choice_fused") + "/m.gnm";
    save_model(path, model, c, nlohmann::json::object());
    const LoadedModel loaded = load_model(path);
    CHECK(map_part_of(loaded.calibration, *loaded.model).score == residual);
  }
  Calibration c;
  CHECK_THROWS_AS(c.fit_fusion(model.score(images), labels, 0.1, Score::latent), Error);
}

TEST_CASE("training: --map forces the fused score's residual part; auto reports every map's validation figures") {
  const Dataset data = discover_dataset(testing::write_generated_category("map_choice_data", 32, 24, 4, 6));
  struct Notes : TrainObserver {
    void on_note(const Note& note, bool) override {
      std::string line;
      for (const auto& part : note) line += part.text;
      lines.push_back(line);
    }
    std::vector<std::string> lines;
  };
  for (const MapChoice choice : {MapChoice::residual_max, MapChoice::automatic}) {
    CAPTURE(to_string(choice));
    const std::string out = testing::temp_dir("map_choice_run");
    TrainOptions o = testing::tiny_train_options(out, 2);
    o.map = choice;
    o.fusion_margin = 1.0;  // every fused part keeps a weight: the residual part's map is drawn, never flat
    Notes notes;
    const TrainResult r = train_model(data, o, &notes);
    const nlohmann::json& s = r.summary;
    REQUIRE(s.contains("map"));
    const nlohmann::json& map = s["map"];
    const std::string score = map["score"].get<std::string>();
    CHECK(map["chosen_by"] == (choice == MapChoice::automatic ? "validation" : "option"));
    if (choice == MapChoice::residual_max) CHECK(score == "residual_max");
    // Every map the model draws, measured on the pseudo-anomalies' masks.
    for (const char* name : {"residual_nn", "residual_z", "residual_max"}) {
      CAPTURE(name);
      REQUIRE(map["validation"].contains(name));
      for (const char* key : {"pixel_auroc", "pixel_aupro"}) {
        REQUIRE(map["validation"][name][key].is_number());
        CHECK(map["validation"][name][key].get<double>() >= 0.0);
        CHECK(map["validation"][name][key].get<double>() <= 1.0);
      }
      REQUIRE(map["test_by_score"].contains(name));
    }
    // The test figures are the drawn map's, and what the evaluation measured for it.
    REQUIRE(map.contains("test"));
    CHECK(map["test"] == map["test_by_score"][score]);
    CHECK(s["anomaly_map"]["score"] == score);
    CHECK(s["anomaly_map"]["pixel_aupro"] == map["test"]["pixel_aupro"]);
    // The model decides with a fused score summing that residual score, and draws its map.
    const LoadedModel loaded = load_model(out + "/model.gnm");
    REQUIRE(loaded.calibration.score == Score::fused);
    const Score drawn = *find_named<Score>(score);
    CHECK(map_part_of(loaded.calibration, *loaded.model).score == drawn);
    CHECK(loaded.calibration.fusion.count(drawn) == 1);
    CHECK(map["slope"].get<double>() > 0);
    // The note says it.
    const auto note = std::find_if(notes.lines.begin(), notes.lines.end(),
                                   [](const std::string& l) { return l.rfind("map: ", 0) == 0; });
    REQUIRE(note != notes.lines.end());
    CHECK(note->rfind("map: " + score, 0) == 0);
    CHECK(note->find(choice == MapChoice::automatic ? "chosen on validation (AUPRO " : "as map says") != std::string::npos);
  }
}
