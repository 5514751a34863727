// Typed choices and field errors: each enum's one name table read both ways, the library's
// errors naming fields (never flags) and the apps showing their flags, and the one way
// from scores to verdicts (Calibration::decide, score_and_decide).
#include <doctest/doctest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "../apps/app_common.h"
#include "ganomaly/eval/calibration.h"
#include "ganomaly/eval/tiling.h"
#include "ganomaly/train/options.h"
#include "ganomaly/train/resume.h"

using namespace gan;

namespace {

template <typename Body>
FieldError field_error_of(Body body) {
  try {
    body();
  } catch (const FieldError& e) {
    return e;
  }
  FAIL("no FieldError");
  return FieldError("", {});
}

}  // namespace

TEST_CASE("each score's name converts both ways; files and the command line spell them alike") {
  for (const Score s : kScores) {
    CAPTURE(to_string(s));
    CHECK(parse_choice<Score>("score", to_string(s)) == s);
    CHECK(nlohmann::json(s) == to_string(s));
    CHECK(parse_choice<ScoreChoice>("score", to_string(s)) == choice_of(s));
    CHECK(fixed_score(choice_of(s)) == s);
    CHECK(std::string(to_string(choice_of(s))) == to_string(s));
  }
  CHECK(std::string(to_string(Score::residual_nn)) == "residual_nn");
  CHECK(std::string(to_string(Score::image_z)) == "image_z");
  CHECK(std::string(to_string(Score::image_nn)) == "image_nn");
  CHECK_FALSE(fixed_score(ScoreChoice::best_on_validation).has_value());
  CHECK(parse_choice<ScoreChoice>("score", "auto") == ScoreChoice::best_on_validation);
  CHECK_THROWS_WITH_AS(parse_choice<ScoreChoice>("score", "best"),
                       "score: expected fused, latent, reconstruction, feature, residual_max, residual_z, residual_nn, "
                       "image_z, image_nn or auto, got 'best'",
                       OptionError);
  CHECK_THROWS_WITH_AS(parse_choice<Score>("score", "auto"), doctest::Contains("got 'auto'"), OptionError);
  CHECK(parse_choice<RecipeName>("recipe", "anomalib") == RecipeName::anomalib);
  CHECK(Recipe::of(RecipeName::anomalib).name == RecipeName::anomalib);
  CHECK(Recipe::of(RecipeName::paper).normalization == "tanh");
  CHECK_THROWS_WITH_AS(parse_choice<RecipeName>("recipe", "x"), "recipe: expected 'anomalib' or 'paper', got 'x'",
                       OptionError);
  CHECK(parse_choice<Augment>("augment", to_string(Augment::flip)) == Augment::flip);
  // The fused parts a model file stores are named; read back, they are the same scores.
  Calibration c;
  c.score = Score::residual_z;
  c.fusion[Score::residual_nn] = {1, 2, 0.5f};
  c.fusion[Score::latent] = {0, 1, 1};
  const nlohmann::json j = c.to_json();
  CHECK(j["score"] == "residual_z");
  CHECK(j["fusion"].contains("residual_nn"));
  const Calibration back = Calibration::from_json(j);
  CHECK(back.score == Score::residual_z);
  CHECK(back.fusion.at(Score::residual_nn).weight == 0.5f);
  nlohmann::json unknown = j;
  unknown["score"] = "nonsense";
  CHECK_THROWS_WITH(Calibration::from_json(unknown), "calibration: unknown score 'nonsense'");
}

TEST_CASE("the library names fields, never flags; the apps show each field's flag") {
  // A value out of range: the field, then the problem; another field named inside it too.
  const FieldError stride = field_error_of([] { check_tiling(16, 17); });
  CHECK(stride.field() == "stride");
  CHECK(std::string(stride.what()) ==
        "stride: expected at most tile (16), got 17: a stride larger than the tile leaves pixels that no tile sees");
  CHECK(stride.message(app::flag_of) ==
        "--stride: expected at most --tile (16), got 17: a stride larger than the tile leaves pixels that no tile sees");
  CHECK(app::message_of(stride) == stride.message(app::flag_of));

  ModelConfig config;
  config.image_size = 7;
  const FieldError size = field_error_of([&] { config.validate(); });
  CHECK(size.field() == "model.image_size");
  CHECK(std::string(size.what()) == "model.image_size: expected 32 to 512, got 7");
  CHECK(app::message_of(size) == "--image-size: expected 32 to 512, got 7");

  TrainOptions o;
  o.ema_decay = 1.5f;
  CHECK(app::message_of(field_error_of([&] { o.validate(); })) == "--ema: expected a decay in [0, 1), got 1.5");

  // A checkpoint resumed with other settings names the fields, several at once.
  const FieldError resumed = field_error_of([] {
    check_resume_settings("last.gnm", {{"loss_weights", {1, 50, 1}}}, {{"loss_weights", {1, 40, 1}}});
  });
  CHECK(std::string(resumed.what()) ==
        "last.gnm: was trained with loss_weights.adversarial,loss_weights.contextual,loss_weights.encoder 1,50,1, not "
        "1,40,1; resume with the same settings, or start a new run without resume");
  CHECK(app::message_of(resumed) ==
        "last.gnm: was trained with --w-adv,--w-con,--w-enc 1,50,1, not 1,40,1; resume with the same settings, or "
        "start a new run without --resume");
  CHECK(app::message_of(field_error_of([] { check_resume_settings("r", {{"data", "a"}}, {{"data", "b"}}); })) ==
        "r: was trained with DATA_DIR a, not b; resume with the same settings, or start a new run without --resume");

  // A field no flag sets is shown by its name; any other error as it is.
  CHECK(app::flag_of("no_such_field") == "no_such_field");
  CHECK(app::message_of(Error("plain")) == "plain");
}

TEST_CASE("deciding: fused first, then anomalous at or above the threshold") {
  Scores s;
  s.latent = {1.0f, 2.0f, 3.0f};
  s.reconstruction = s.residual_max = {0, 0, 0};
  s.feature = {0.0f, 0.0f, 0.0f};
  Calibration c;
  c.score = Score::latent;
  c.threshold = 2.0f;
  c.normalizer = ScoreNormalizer::fit({1.0f, 3.0f}, 2.0f);
  const std::vector<Verdict> v = c.decide(s);
  REQUIRE(v.size() == 3);
  CHECK_FALSE(v[0].anomalous);
  CHECK(v[1].anomalous);  // at the threshold
  CHECK(v[2].anomalous);
  CHECK(v[1].raw == 2.0f);
  CHECK(v[1].normalised == doctest::Approx(0.5f));

  // Deciding with the fused score fuses: nothing to forget.
  c.score = Score::fused;
  c.fusion[Score::latent] = {2.0f, 1.0f, 1.0f};
  c.threshold = 0.0f;
  CHECK_FALSE(s.has(Score::fused));
  const std::vector<Verdict> fused = c.decide(s);
  REQUIRE(s.has(Score::fused));
  CHECK(fused[0].raw == -1.0f);
  CHECK_FALSE(fused[0].anomalous);
  CHECK(fused[1].anomalous);
  CHECK(fused[2].raw == 1.0f);
}
