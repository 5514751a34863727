// Data set discovery for every layout, its error messages, batch loading, and the
// synthetic generator.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <unistd.h>

#include "ganomaly/train/augment.h"
#include "ganomaly/data/dataset.h"
#include "ganomaly/data/synth.h"
#include "tensor/check.h"
#include "support/run_app.h"

namespace fs = std::filesystem;
using namespace gan;

using gan::testing::read_file;

using gan::testing::TempDir;

namespace {


std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const gan::Error& e) {
    return e.what();
  }
  return "";
}
bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

SynthOptions small(const std::string& layout, const std::string& out, const std::string& category = "thing") {
  SynthOptions o;
  o.layout = layout;
  o.category = category;
  o.out = out;
  o.size = 32;
  o.train = 6;
  o.test_good = 3;
  o.test_bad = 5;
  return o;
}

int count_label(const std::vector<Sample>& s, int label) {
  int n = 0;
  for (const auto& x : s) n += x.label == label;
  return n;
}

void touch_png(const std::string& path, int w = 8, int h = 8) {
  fs::create_directories(fs::path(path).parent_path());
  std::vector<uint8_t> px(size_t(w) * h, 100);
  write_png(path, w, h, 1, px.data());
}

}  // namespace

TEST_CASE("dataset: every synthetic layout is discovered with the right counts") {
  TempDir dir("layouts");
  for (const std::string layout : {"mvtec", "btad", "visa", "visa_converted", "folder"}) {
    CAPTURE(layout);
    std::string root = write_synthetic_dataset(small(layout, dir / layout));
    Dataset ds = discover_dataset(root);
    CHECK(ds.format == layout);
    CHECK(ds.train.size() == 6);
    CHECK(count_label(ds.train, 1) == 0);
    CHECK(ds.test.size() == 8);
    CHECK(count_label(ds.test, 0) == 3);
    CHECK(count_label(ds.test, 1) == 5);
    CHECK(ds.validation.empty());
    for (const auto& s : ds.test) {
      CHECK((s.label == 0) == (s.defect == "good"));
      CHECK((s.label == 1) == !s.mask_path.empty());
    }
    // Explicit format gives the same thing.
    CHECK(discover_dataset(root, layout).test.size() == 8);

    Tensor x = load_images(ds.test, 24, 3, "tanh");
    CHECK(x.shape() == Shape{8, 3, 24, 24});
    for (int64_t i = 0; i < x.numel(); ++i) REQUIRE(std::abs(x.data()[i]) <= 1.0f);
    auto masks = load_masks(ds.test, 24);
    REQUIRE(masks.size() == 8);
    int ones = 0;
    for (size_t i = 0; i < masks.size(); ++i) {
      REQUIRE(masks[i].size() == 24 * 24);
      for (auto v : masks[i]) ones += v;
      if (ds.test[i].label == 0) for (auto v : masks[i]) REQUIRE(v == 0);
    }
    CHECK(ones > 0);
  }
}

TEST_CASE("dataset: mvtec names defects; VisA roots hold several categories") {
  TempDir dir("names");
  Dataset ds = discover_dataset(write_synthetic_dataset(small("mvtec", dir / "m")));
  std::set<std::string> defects;
  for (const auto& s : ds.test) defects.insert(s.defect);
  CHECK(defects == std::set<std::string>{"good", "scratch", "contamination", "crack", "missing"});
  CHECK(contains(ds.test.back().mask_path, "ground_truth"));

  auto a = small("visa", dir / "visa", "candle");
  auto b = small("visa", dir / "visa", "pcb1");
  b.train = 4;
  write_synthetic_dataset(a);
  write_synthetic_dataset(b);
  CHECK(discover_dataset(dir / "visa/candle").train.size() == 6);
  CHECK(discover_dataset(dir / "visa/pcb1").train.size() == 4);
  CHECK(discover_dataset(dir / "visa/pcb1/").format == "visa");  // trailing slash
  std::string e = error_of([&] { discover_dataset(dir / "visa"); });
  CHECK(contains(e, "VisA root"));
}

TEST_CASE("synth: deterministic by seed, kinds resolve") {
  TempDir dir("determinism");
  auto o = small("mvtec", dir / "a");
  write_synthetic_dataset(o);
  o.out = dir / "b";
  write_synthetic_dataset(o);
  o.out = dir / "c";
  o.seed = 7;
  write_synthetic_dataset(o);
  const std::string rel = "thing/test/crack/000.png";
  CHECK(read_file(dir / ("a/" + rel)) == read_file(dir / ("b/" + rel)));
  CHECK(read_file(dir / ("a/" + rel)) != read_file(dir / ("c/" + rel)));
  CHECK(contains(error_of([&] { write_synthetic_dataset(small("mvtec", dir / "a")); }), "already exists"));
  CHECK(contains(error_of([&] { write_synthetic_dataset(small("nope", dir / "x")); }), "unknown layout"));

  CHECK(resolve_synth_kind("wood", "auto") == "wood");
  CHECK(resolve_synth_kind("01", "auto") == resolve_synth_kind("01", "auto"));
  CHECK(resolve_synth_kind("01", "fabric") == "fabric");
  // A normal image and the same image with a defect differ only around the mask.
  SynthSample good = render_synthetic("bottle", 64, 1, 3, "good");
  SynthSample bad = render_synthetic("bottle", 64, 1, 3, "scratch");
  int outside = 0;
  for (int p = 0; p < 64 * 64; ++p)
    for (int c = 0; c < 3; ++c)
      if (!bad.mask[p] && std::abs(good.image.pixels[p * 3 + c] - bad.image.pixels[p * 3 + c]) > 0.15f) ++outside;
  CHECK(outside == 0);
}

// The lighting check: only test images change, globally (darker, contrast moved), within
// the stated strength, the same on every run.
TEST_CASE("synth: --test-lighting darkens test images only, within its strength") {
  TempDir dir("lighting");
  auto o = small("mvtec", dir / "plain");
  write_synthetic_dataset(o);
  o.out = dir / "lit";
  o.test_lighting = 0.1;
  write_synthetic_dataset(o);
  const std::string train = "thing/train/good/000.png", test = "thing/test/good/000.png";
  CHECK(read_file(dir / ("plain/" + train)) == read_file(dir / ("lit/" + train)));
  CHECK(read_file(dir / ("plain/" + test)) != read_file(dir / ("lit/" + test)));
  o.test_lighting = 0.6;
  o.out = dir / "too_strong";
  CHECK(contains(error_of([&] { write_synthetic_dataset(o); }), "test_lighting must be in [0, 0.5]"));

  const SynthSample s = render_synthetic("bottle", 64, 3, 5, "good");
  auto mean_of = [](const Image& im) {
    return std::accumulate(im.pixels.begin(), im.pixels.end(), 0.0) / double(im.pixels.size());
  };
  for (int index = 0; index < 20; ++index) {
    Image lit = s.image;
    change_lighting(lit, 0.1, 3, index);
    const double ratio = mean_of(lit) / mean_of(s.image);  // contrast about the mean keeps it, the dimmer scales it
    CHECK(ratio >= 0.899);
    CHECK(ratio <= 0.951);
    Image again = s.image;
    change_lighting(again, 0.1, 3, index);
    CHECK(again.pixels == lit.pixels);
  }
  Image unchanged = s.image;
  change_lighting(unchanged, 0, 3, 0);
  CHECK(unchanged.pixels == s.image.pixels);
}

TEST_CASE("synth: the part, grey and aligned kinds, in every layout") {
  TempDir dir("kinds");
  for (const std::string kind : {"part", "grey", "aligned"}) {
    CAPTURE(kind);
    CHECK(resolve_synth_kind(kind, "auto") == kind);
    for (const std::string layout : {"mvtec", "btad", "visa", "visa_converted", "folder"}) {
      CAPTURE(layout);
      auto o = small(layout, dir / (kind + "_" + layout));
      o.kind = kind;
      o.test_bad = 4;  // one of each defect
      Dataset ds = discover_dataset(write_synthetic_dataset(o));
      CHECK(ds.train.size() == 6);
      CHECK(count_label(ds.train, 1) == 0);
      REQUIRE(ds.test.size() == 7);
      CHECK(count_label(ds.test, 1) == 4);
      auto masks = load_masks(ds.test, 32);
      for (size_t i = 0; i < ds.test.size(); ++i) {
        CHECK((ds.test[i].label == 1) == !ds.test[i].mask_path.empty());
        const int ones = std::accumulate(masks[i].begin(), masks[i].end(), 0);
        CHECK((ones > 0) == (ds.test[i].label == 1));
      }
      if (layout == "mvtec") {
        std::set<std::string> names;
        for (const auto& s : ds.test) names.insert(s.defect);
        std::set<std::string> expected(synth_defects(kind).begin(), synth_defects(kind).end());
        expected.insert("good");
        CHECK(names == expected);
      }
    }
    // Deterministic, and each defect changes the image inside its mask and (almost)
    // nowhere else.
    const int n = 48;
    SynthSample good = render_synthetic(kind, n, 5, 3, "good");
    CHECK(good.image.channels == (kind == "grey" ? 1 : 3));
    CHECK(std::count(good.mask.begin(), good.mask.end(), 1) == 0);
    for (const auto& defect : synth_defects(kind)) {
      CAPTURE(defect);
      SynthSample bad = render_synthetic(kind, n, 5, 3, defect);
      CHECK(bad.image.pixels == render_synthetic(kind, n, 5, 3, defect).image.pixels);
      CHECK(bad.image.pixels != render_synthetic(kind, n, 6, 3, defect).image.pixels);
      const int c = bad.image.channels;
      double inside = 0;
      int in = 0, outside = 0;
      for (int p = 0; p < n * n; ++p)
        for (int k = 0; k < c; ++k) {
          const float diff = std::abs(good.image.pixels[p * c + k] - bad.image.pixels[p * c + k]);
          if (bad.mask[p]) inside += diff, ++in;
          else if (diff > 0.15f) ++outside;
        }
      REQUIRE(in > 0);
      CHECK(inside / in > 0.05);
      CHECK(outside <= 2 * n);  // the anti-aliased rim just outside the mask
    }
  }
}

// The aligned kind: a label held by a fixture. Normal images differ by noise and a tiny
// change of brightness only (the same pose in every one), and every defect moves an
// image farther from the mean normal image than any normal lies from it: the mean-image
// floor the kind exists for, on a small sample.
TEST_CASE("synth: the aligned kind sits in one pose, and its defects move it from the mean image") {
  const int n = 48, normals = 8;
  auto mean_abs = [](const Image& a, const std::vector<double>& b) {
    double sum = 0;
    for (size_t i = 0; i < a.pixels.size(); ++i) sum += std::abs(a.pixels[i] - b[i]);
    return sum / double(a.pixels.size());
  };
  std::vector<Image> goods;
  for (int index = 0; index < normals; ++index) goods.push_back(render_synthetic("aligned", n, 7, index, "good").image);
  std::vector<double> mean(goods[0].pixels.size(), 0.0);
  for (const auto& g : goods)
    for (size_t i = 0; i < mean.size(); ++i) mean[i] += g.pixels[i] / double(normals);
  double farthest_good = 0;
  for (const auto& g : goods) farthest_good = std::max(farthest_good, mean_abs(g, mean));
  // Sensor noise (0.02) and brightness alone: no pose change, which would move the
  // print's edges by whole pixels and the distance with them.
  CHECK(farthest_good < 0.03);
  // The same pose at every seed: the print sits where it sat.
  const Image other_seed = render_synthetic("aligned", n, 8, 0, "good").image;
  CHECK(mean_abs(other_seed, mean) < 0.03);
  for (const auto& defect : synth_defects("aligned")) {
    CAPTURE(defect);
    for (int index = normals; index < normals + 4; ++index) {
      CAPTURE(index);
      CHECK(mean_abs(render_synthetic("aligned", n, 7, index, defect).image, mean) > farthest_good);
    }
  }
}

TEST_CASE("dataset: half-right layouts fail with the path") {
  TempDir dir("bad");
  std::string e = error_of([&] { discover_dataset(dir / "nothing_here"); });
  CHECK(contains(e, "nothing_here"));

  touch_png(dir / "test_only/test/good/000.png");
  e = error_of([&] { discover_dataset(dir / "test_only"); });
  CHECK(contains(e, "test_only"));
  CHECK(contains(e, "no train/"));

  fs::create_directories(dir / "empty_train/train/good");
  touch_png(dir / "empty_train/test/good/000.png");
  e = error_of([&] { discover_dataset(dir / "empty_train"); });
  CHECK(contains(e, "empty_train/train/good"));
  CHECK(contains(e, "no images"));

  touch_png(dir / "no_test/train/good/000.png");
  e = error_of([&] { discover_dataset(dir / "no_test"); });
  CHECK(contains(e, "no_test/test"));

  touch_png(dir / "weird/train/other/000.png");
  CHECK(contains(error_of([&] { discover_dataset(dir / "weird"); }), "weird/train"));

  touch_png(dir / "nomask/train/good/000.png");
  touch_png(dir / "nomask/test/crack/000.png");
  touch_png(dir / "nomask/test/crack/001.png");
  touch_png(dir / "nomask/ground_truth/crack/000_mask.png");
  e = error_of([&] { discover_dataset(dir / "nomask"); });
  CHECK(contains(e, "nomask/test/crack/001.png"));

  touch_png(dir / "wrongsize/train/good/000.png");
  touch_png(dir / "wrongsize/test/crack/000.png", 8, 8);
  touch_png(dir / "wrongsize/ground_truth/crack/000_mask.png", 16, 8);
  Dataset ws = discover_dataset(dir / "wrongsize");
  e = error_of([&] { load_masks(ws.test, 8); });
  CHECK(contains(e, "000_mask.png"));
  CHECK(contains(e, "wrongsize/test/crack/000.png"));

  touch_png(dir / "anom_only/anomalous/000.png");
  CHECK(contains(error_of([&] { discover_dataset(dir / "anom_only"); }), "no normal/"));
  fs::create_directories(dir / "emptydir");
  CHECK(contains(error_of([&] { discover_dataset(dir / "emptydir"); }), "emptydir"));
  // A misspelt layout is an option's error (the apps: "--format: ...", exit 2), even for a folder that is not there.
  CHECK(error_of([&] { discover_dataset(dir / "nowhere", "nope"); }) ==
        "format: expected auto, mvtec, btad, visa, visa_converted or folder, got 'nope'");
  CHECK_THROWS_AS(discover_dataset(dir / "no_test", "nope"), const OptionError&);
}

TEST_CASE("dataset: VisA CSV rows are checked line by line") {
  TempDir dir("visa_csv");
  touch_png(dir / "cat/Data/Images/Normal/000.png");
  touch_png(dir / "cat/Data/Images/Normal/001.png");
  touch_png(dir / "cat/Data/Images/Anomaly/000.png");
  touch_png(dir / "cat/Data/Masks/Anomaly/000.png");
  auto write_csv = [&](const std::string& body) {
    fs::create_directories(dir / "split_csv");
    std::ofstream(dir / "split_csv/1cls.csv") << "object,split,label,image,mask\n" << body;
  };
  write_csv(
      "cat,train,normal,cat/Data/Images/Normal/000.png,\r\n"
      "\"cat\",test,normal,\"cat/Data/Images/Normal/001.png\",\n"
      "other,train,normal,other/x.png,\n"
      "cat,test,anomaly,cat/Data/Images/Anomaly/000.png,cat/Data/Masks/Anomaly/000.png\n");
  Dataset ds = discover_dataset(dir / "cat");
  CHECK(ds.format == "visa");
  CHECK(ds.train.size() == 1);
  CHECK(ds.test.size() == 2);
  CHECK(count_label(ds.test, 1) == 1);

  write_csv("cat,train,normal,cat/Data/Images/Normal/000.png,\ncat,train,normal,cat/Data/Images/Normal/missing.png,\n");
  std::string e = error_of([&] { discover_dataset(dir / "cat"); });
  CHECK(contains(e, "1cls.csv:3"));
  CHECK(contains(e, "missing.png"));

  write_csv("cat,holdout,normal,cat/Data/Images/Normal/000.png,\n");
  e = error_of([&] { discover_dataset(dir / "cat"); });
  CHECK(contains(e, "1cls.csv:2"));
  CHECK(contains(e, "holdout"));

  write_csv("cat,train,weird,cat/Data/Images/Normal/000.png,\n");
  CHECK(contains(error_of([&] { discover_dataset(dir / "cat"); }), "unknown label 'weird'"));

  write_csv("cat,test,anomaly,cat/Data/Images/Anomaly/000.png,cat/Data/Masks/Anomaly/nope.png\n");
  CHECK(contains(error_of([&] { discover_dataset(dir / "cat"); }), "nope.png"));

  write_csv("cat,train,normal\n");
  CHECK(contains(error_of([&] { discover_dataset(dir / "cat"); }), "1cls.csv:2: expected 5 fields"));

  write_csv("dog,train,normal,cat/Data/Images/Normal/000.png,\n");
  CHECK(contains(error_of([&] { discover_dataset(dir / "cat"); }), "no rows for object 'cat'"));

  // A header that repeats names: rows must reach the last needed column (found by fuzzing).
  fs::create_directories(dir / "split_csv");
  std::ofstream(dir / "split_csv/1cls.csv") << "object,split,label,image,masobject,split,label,image,mask\n"
                                            << "cat,train,normal,cat/Data/Images/Normal/000.png,\n";
  CHECK(contains(error_of([&] { discover_dataset(dir / "cat"); }), "1cls.csv:2: expected 9 fields, got 5"));

  // Paths with spaces, quoted or not; a normal row has no mask.
  touch_png(dir / "cat/Data/Images/Normal/with space.png");
  write_csv("cat,train,normal,\"cat/Data/Images/Normal/with space.png\",\n"
            "cat,train,normal,cat/Data/Images/Normal/with space.png,\n"
            "cat,test,anomaly,cat/Data/Images/Anomaly/000.png,cat/Data/Masks/Anomaly/000.png\n");
  ds = discover_dataset(dir / "cat");
  REQUIRE(ds.train.size() == 2);
  CHECK(ds.train[0].path.find("with space.png") != std::string::npos);
  CHECK(ds.train[0].mask_path.empty());

  fs::remove(dir / "split_csv/1cls.csv");
  CHECK(contains(error_of([&] { discover_dataset(dir / "cat"); }), "1cls.csv"));
}

TEST_CASE("dataset: folder layouts and file lists") {
  TempDir dir("folder");
  touch_png(dir / "flat/b.PNG");
  touch_png(dir / "flat/a.jpg.png");
  touch_png(dir / "flat/.hidden.png");
  std::ofstream(dir / "flat/notes.txt") << "x";
  Dataset flat = discover_dataset(dir / "flat");
  CHECK(flat.format == "folder");
  REQUIRE(flat.train.size() == 2);
  CHECK(contains(flat.train[0].path, "a.jpg.png"));  // sorted
  CHECK(flat.test.empty());

  for (int i = 0; i < 10; ++i) touch_png(dir / ("held/normal/" + std::to_string(i) + ".png"));
  touch_png(dir / "held/abnormal/x.png");
  Dataset held = discover_dataset(dir / "held");
  CHECK(held.train.size() == 8);  // every 5th normal held out for testing
  CHECK(held.test.size() == 3);
  CHECK(held.test.back().defect == "abnormal");
  CHECK(held.test.back().mask_path.empty());
  CHECK(is_image_file("x.JPEG"));
  CHECK_FALSE(is_image_file("x.gif"));
}

TEST_CASE("dataset: a dangling symbolic link among the images is refused, naming it") {
  // Skipped without a word, it would silently drop an image from the data set.
  TempDir dir("dangling");
  touch_png(dir / "set/train/good/000.png");
  touch_png(dir / "set/test/good/000.png");
  const std::string link = dir / "set/train/good/001.png";
  REQUIRE(::symlink((dir / "gone.png").c_str(), link.c_str()) == 0);
  const std::string expected = "image: " + link + ": a symbolic link to " + (dir / "gone.png") + ", which does not exist";
  CHECK_THROWS_WITH_AS(list_images(dir / "set/train/good"), expected.c_str(), Error);
  CHECK_THROWS_WITH_AS(discover_dataset(dir / "set"), expected.c_str(), Error);
  // A link to an image that exists is an image like any other.
  fs::remove(link);
  REQUIRE(::symlink((dir / "set/test/good/000.png").c_str(), link.c_str()) == 0);
  CHECK(list_images(dir / "set/train/good").size() == 2);
}

TEST_CASE("load_images: normalisation, grey, and errors from the parallel loop") {
  TempDir dir("load");
  std::vector<uint8_t> px(4 * 4 * 3, 255);
  write_png(dir / "white.png", 4, 4, 3, px.data());
  std::vector<Sample> samples(5, Sample{dir / "white.png", 0, "good", ""});
  Tensor t = load_images(samples, 2, 3, "imagenet");
  CHECK(t.shape() == Shape{5, 3, 2, 2});
  CHECK(t.data()[0] == doctest::Approx((1 - 0.485) / 0.229));
  CHECK(t.data()[3 * 4 + 4 * 2] == doctest::Approx((1 - 0.406) / 0.225));  // image 1, channel 2
  Tensor g = load_images(samples, 3, 1, "tanh");
  CHECK(g.shape() == Shape{5, 1, 3, 3});
  CHECK(g.data()[8] == doctest::Approx(1.0));

  samples[3].path = dir / "broken.png";
  std::ofstream(dir / "broken.png") << "garbage";
  std::string e = error_of([&] { load_images(samples, 2, 3, "tanh"); });
  CHECK(contains(e, "broken.png"));
  CHECK(contains(error_of([&] { load_images(samples, 2, 3, "zscore"); }), "zscore"));
}

TEST_CASE("dataset: real MVTec bottle (skipped when absent)") {
  const std::string root = "data/mvtec/bottle";
  if (!fs::is_directory(root)) {
    MESSAGE("skipped: " << root << " not present");
    return;
  }
  Dataset ds = discover_dataset(root);
  CHECK(ds.format == "mvtec");
  CHECK(ds.train.size() == 209);
  CHECK(ds.test.size() == 83);
  CHECK(count_label(ds.test, 0) == 20);
  for (const auto& s : ds.test) CHECK((s.label == 1) == !s.mask_path.empty());
  std::vector<Sample> few(ds.test.begin(), ds.test.begin() + 3);  // broken_large
  auto masks = load_masks(few, 64);
  for (const auto& m : masks) CHECK(std::accumulate(m.begin(), m.end(), 0) > 0);
  Tensor x = load_images(few, 64, 3, "imagenet");
  CHECK(x.shape() == Shape{3, 3, 64, 64});
}

TEST_CASE("augment: flips mirror whole images, shifts move them with edges repeated, none leaves them") {
  using namespace gan;
  // Two 2-channel 4x4 images whose every pixel is distinct.
  std::vector<float> pixels(2 * 2 * 4 * 4);
  std::iota(pixels.begin(), pixels.end(), 0.0f);
  const Tensor original = Tensor::from_vector(Shape{2, 2, 4, 4}, pixels);
  auto at = [](const Tensor& t, int64_t i, int64_t c, int64_t y, int64_t x) { return t.data()[((i * 2 + c) * 4 + y) * 4 + x]; };

  Tensor same = original.clone();
  Rng rng(1);
  augment_batch(same, Augment::none, rng);
  CHECK(std::equal(same.data(), same.data() + same.numel(), original.data()));

  std::set<std::pair<int64_t, int64_t>> mirrors_seen;
  for (uint64_t seed = 0; seed < 8; ++seed) {
    CAPTURE(seed);
    Tensor flipped = original.clone();
    Rng a(seed);
    augment_batch(flipped, Augment::flip, a);
    for (int64_t i = 0; i < 2; ++i) {
      // Corner (0, 0) holds one of the four corners, and the same mirror applies to both channels.
      const float corner = at(flipped, i, 0, 0, 0);
      const int64_t sy = corner == at(original, i, 0, 0, 0) || corner == at(original, i, 0, 0, 3) ? 0 : 3;
      const int64_t sx = corner == at(original, i, 0, 0, 0) || corner == at(original, i, 0, 3, 0) ? 0 : 3;
      CHECK(corner == at(original, i, 0, sy, sx));
      mirrors_seen.insert({sy, sx});
      for (int64_t c = 0; c < 2; ++c)
        for (int64_t y = 0; y < 4; ++y)
          for (int64_t x = 0; x < 4; ++x)
            CHECK(at(flipped, i, c, y, x) == at(original, i, c, sy ? 3 - y : y, sx ? 3 - x : x));
    }
    Tensor again = original.clone();
    Rng b(seed);
    augment_batch(again, Augment::flip, b);  // the same draws give the same images
    CHECK(std::equal(again.data(), again.data() + again.numel(), flipped.data()));
  }
  CHECK(mirrors_seen.size() == 4);  // 16 images: every combination of the two mirrors occurs

  // A 32x32 image shifts by up to 2 pixels: each output pixel is an input pixel of the
  // same channel, clamped at the edges, with one (dy, dx) for the whole image.
  std::vector<float> big(1 * 1 * 32 * 32);
  std::iota(big.begin(), big.end(), 0.0f);
  const Tensor wide = Tensor::from_vector(Shape{1, 1, 32, 32}, big);
  bool moved = false;
  for (uint64_t seed = 0; seed < 8; ++seed) {
    Tensor shifted = wide.clone();
    Rng r(seed);
    augment_batch(shifted, Augment::shift, r);
    const int64_t centre = static_cast<int64_t>(shifted.data()[16 * 32 + 16]);
    const int64_t dy = 16 - centre / 32, dx = 16 - centre % 32;
    CHECK(std::abs(dy) <= 2);
    CHECK(std::abs(dx) <= 2);
    moved = moved || dy != 0 || dx != 0;
    for (int64_t y = 0; y < 32; ++y)
      for (int64_t x = 0; x < 32; ++x)
        CHECK(shifted.data()[y * 32 + x] == wide.data()[std::clamp<int64_t>(y - dy, 0, 31) * 32 + std::clamp<int64_t>(x - dx, 0, 31)]);
  }
  CHECK(moved);

  // The mode is an enum; a name is checked where it is read (the command line, a file).
  CHECK(parse_choice<Augment>("augment", "shift") == Augment::shift);
  CHECK_THROWS_WITH_AS(parse_choice<Augment>("augment", "rotate"), "augment: expected none, flip or shift, got 'rotate'",
                       OptionError);
}
