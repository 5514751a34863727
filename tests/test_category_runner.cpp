// ganomaly_categories: category lists and selection, one training per category on tiny
// generated data sets in the MVTec AD, BTAD and VisA raw layouts, the results files,
// the anomalib-style tables, failures that do not stop the run, and the CLI's usage
// errors.
//
// Everything is tiny (32 px, n_features 8, one epoch, a dozen images) so the file runs
// in seconds on two cores.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "categories/category_runner.h"
#include "ganomaly/data/synth.h"
#include "support/run_app.h"

namespace fs = std::filesystem;
using namespace gan;

using gan::testing::read_file;

namespace {

// Writes `categories` of `layout` under a fresh folder and returns the data set root.
// Each category gets the next kind of image, so their results differ.
std::string make_root(const std::string& layout, const std::vector<std::string>& categories) {
  const std::string root = testing::temp_dir("bench_" + layout);
  for (size_t i = 0; i < categories.size(); ++i) {
    SynthOptions s;
    s.layout = layout;
    s.category = categories[i];
    s.kind = synth_kinds()[i % synth_kinds().size()];
    s.out = root;
    s.size = 32;
    s.train = 12;
    s.test_good = 4;
    s.test_bad = 4;
    write_synthetic_dataset(s);
  }
  return root;
}

CategoryRunOptions tiny(const std::string& dataset, const std::string& root, const std::string& out) {
  CategoryRunOptions o;
  o.dataset = dataset;
  o.root = root;
  o.out_dir = out;
  o.train.model.image_size = 32;
  o.train.model.n_features = 8;
  o.train.model.latent_size = 8;
  o.train.epochs = 1;
  o.train.batch_size = 4;
  o.train.patience = 0;
  o.train.min_steps = 0;
  return o;
}

// Runs the benchmark with its log captured.
CategoryRunResult run_logged(CategoryRunOptions o, std::string* log_text) {
  std::FILE* log = std::tmpfile();
  REQUIRE(log);
  o.log = log;
  CategoryRunResult r;
  try {
    r = run_categories(o);
  } catch (...) {
    std::fclose(log);
    throw;
  }
  std::fflush(log);
  std::rewind(log);
  log_text->clear();
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, log)) > 0;) log_text->append(buf, n);
  std::fclose(log);
  return r;
}

std::vector<std::string> cells(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream s(line);
  std::string cell;
  std::getline(s, cell, '|');  // before the first '|'
  while (std::getline(s, cell, '|')) {
    const size_t b = cell.find_first_not_of(' '), e = cell.find_last_not_of(' ');
    out.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
  }
  if (!out.empty() && out.back().empty()) out.pop_back();  // after the last '|'
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream s(text);
  for (std::string line; std::getline(s, line);) out.push_back(line);
  return out;
}

// Checks the three tables of `md` against the rows of `results`: the header names the
// categories in order, each value is the row's metric at 3 decimals, and Avg is their mean.
void check_tables(const std::string& md, const nlohmann::json& results) {
  INFO("markdown:\n" << md);
  const nlohmann::json& rows = results["categories"];
  std::vector<std::string> expected_header = {"", "Avg"};
  for (const auto& row : rows) expected_header.push_back(row["category"].get<std::string>());
  const std::vector<std::string> lines = lines_of(md);
  const std::pair<const char*, const char*> tables[] = {
      {"### Image-Level AUC", "image_auroc"},
      {"### Image F1 (oracle threshold, as anomalib reports)", "image_f1_oracle"},
      {"### Image F1 (threshold chosen on validation, honest)", "image_f1"}};
  for (const auto& [title, key] : tables) {
    size_t at = 0;
    while (at < lines.size() && lines[at].rfind(title, 0) != 0) ++at;
    REQUIRE_MESSAGE(at + 4 < lines.size(), title);
    CHECK(lines[at].find("image size 32") != std::string::npos);
    CHECK(lines[at].find("recipe paper") != std::string::npos);
    CHECK(lines[at + 1].empty());
    CHECK(lines[at + 2].rfind("| | Avg |", 0) == 0);
    CHECK(cells(lines[at + 2]) == expected_header);
    CHECK(cells(lines[at + 3]).size() == expected_header.size());
    const std::vector<std::string> row = cells(lines[at + 4]);
    REQUIRE(row.size() == expected_header.size());
    CHECK(row[0].rfind("GANomaly", 0) == 0);
    double sum = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      const double v = rows[i][key].get<double>();
      sum += v;
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.3f", v);
      CHECK(row[2 + i] == buf);
    }
    char avg[32];
    std::snprintf(avg, sizeof avg, "%.3f", sum / rows.size());
    CHECK(row[1] == avg);
    CHECK(std::abs(results["average"][key].get<double>() - sum / rows.size()) < 1e-12);
  }
}

// The results files exist, parse, hold one row per category in order, and agree.
void check_results_files(const std::string& out, const std::string& dataset, const CategoryRunResult& r,
                         const std::vector<std::string>& categories) {
  const std::string json_path = out + "/" + dataset + "_results.json";
  const std::string csv_path = out + "/" + dataset + "_results.csv";
  REQUIRE(fs::exists(json_path));
  REQUIRE(fs::exists(csv_path));
  const nlohmann::json j = nlohmann::json::parse(read_file(json_path));
  CHECK(j == r.results);
  CHECK(j["dataset"] == dataset);
  CHECK(j["seed"] == 42);
  CHECK(j["image_size"] == 32);
  CHECK(j["recipe"] == "paper");
  REQUIRE(j["categories"].size() == categories.size());
  for (size_t i = 0; i < categories.size(); ++i) {
    const nlohmann::json& row = j["categories"][i];
    CHECK(row["category"] == categories[i]);
    CHECK(row["status"] != "failed");
    for (const char* key : {"image_auroc", "image_f1_oracle", "image_f1", "threshold", "train_seconds",
                            "image_size", "recipe", "score", "status"})
      CHECK_MESSAGE(row.contains(key), key);
    CHECK(fs::exists(out + "/" + dataset + "/" + categories[i] + "/summary.json"));
    CHECK(fs::exists(out + "/" + dataset + "/" + categories[i] + "/model.gnm"));
  }
  const std::vector<std::string> csv = lines_of(read_file(csv_path));
  REQUIRE(csv.size() == categories.size() + 1);
  CHECK(csv[0] ==
        "category,image_auroc,image_f1_oracle,image_f1,threshold,train_seconds,image_size,recipe,score,status,error");
  for (size_t i = 0; i < categories.size(); ++i) CHECK(csv[i + 1].rfind(categories[i] + ",", 0) == 0);
}

}  // namespace

TEST_CASE("benchmark category lists: MVTec AD 15, BTAD 3, VisA 12; an unknown data set names --dataset") {
  CHECK(known_categories("mvtec").size() == 15);
  CHECK(known_categories("mvtec").front() == "bottle");
  CHECK(known_categories("mvtec").back() == "zipper");
  CHECK(known_categories("btad") == std::vector<std::string>{"01", "02", "03"});
  CHECK(known_categories("visa").size() == 12);
  CHECK(known_categories("visa").back() == "pipe_fryum");
  CHECK_THROWS_WITH_AS(known_categories("kolektor"), doctest::Contains("--dataset"), Error);
}

TEST_CASE("benchmark on MVTec AD layout: the categories present, results files and tables") {
  const std::string root = make_root("mvtec", {"bottle", "wood"});
  const std::string out = testing::temp_dir("bench_mvtec_out");
  std::string log;
  const CategoryRunResult r = run_logged(tiny("mvtec", root, out), &log);
  INFO("log:\n" << log);
  CHECK(r.failed == 0);
  CHECK(!r.interrupted);
  check_results_files(out, "mvtec", r, {"bottle", "wood"});
  check_tables(r.markdown, r.results);
  CHECK(r.markdown.rfind("## [MVTec AD Dataset]", 0) == 0);
  CHECK(r.results["skipped"].size() == 13);
  CHECK(log.find("note: skipping cable") != std::string::npos);
  CHECK(log.find("[1/2] mvtec/bottle") != std::string::npos);
  CHECK(log.find("[2/2] mvtec/wood") != std::string::npos);
  CHECK(log.find("ETA") != std::string::npos);
  CHECK(log.find("| | Avg | bottle | wood |") != std::string::npos);  // the tables are printed
}

TEST_CASE("benchmark on BTAD layout with explicit categories") {
  const std::string root = make_root("btad", {"01", "02"});
  const std::string out = testing::temp_dir("bench_btad_out");
  CategoryRunOptions o = tiny("btad", root, out);
  o.categories = {"02", "01"};  // the order given is the order run
  std::string log;
  const CategoryRunResult r = run_logged(o, &log);
  INFO("log:\n" << log);
  CHECK(r.failed == 0);
  check_results_files(out, "btad", r, {"02", "01"});
  check_tables(r.markdown, r.results);
  CHECK(r.results["skipped"].empty());
}

TEST_CASE("benchmark on VisA raw layout: categories under the VisA root with split_csv/1cls.csv") {
  const std::string root = make_root("visa", {"candle", "pcb1"});
  REQUIRE(fs::exists(root + "/split_csv/1cls.csv"));
  const std::string out = testing::temp_dir("bench_visa_out");
  std::string log;
  const CategoryRunResult r = run_logged(tiny("visa", root, out), &log);
  INFO("log:\n" << log);
  CHECK(r.failed == 0);
  CHECK(r.results["format"] == "visa");
  check_results_files(out, "visa", r, {"candle", "pcb1"});
  check_tables(r.markdown, r.results);
}

TEST_CASE("benchmark selection errors: a missing explicit category names its path; no category at all") {
  const std::string root = testing::temp_dir("bench_missing");
  fs::create_directories(root + "/bottle");
  const std::string out = testing::temp_dir("bench_missing_out");
  CategoryRunOptions o = tiny("mvtec", root, out);
  o.categories = {"bottle", "cable"};
  const std::string path = (fs::path(root) / "cable").string();
  CHECK_THROWS_WITH_AS(run_categories(o), doctest::Contains(path.c_str()), Error);
  CHECK(!fs::exists(out + "/mvtec_results.json"));  // nothing run, nothing written

  o.categories = {"bottle", "bottle"};
  CHECK_THROWS_WITH_AS(run_categories(o), doctest::Contains("given twice"), Error);

  CategoryRunOptions none = tiny("btad", root, out);
  CHECK_THROWS_WITH_AS(run_categories(none), doctest::Contains(root.c_str()), Error);

  CategoryRunOptions no_root = tiny("visa", root + "/nowhere", out);
  CHECK_THROWS_WITH_AS(run_categories(no_root), doctest::Contains((root + "/nowhere").c_str()), Error);
}

TEST_CASE("a category with bad data is recorded as failed and the run goes on") {
  const std::string root = make_root("btad", {"02"});
  fs::create_directories(root + "/01/train");  // half a layout: discovery fails
  const std::string out = testing::temp_dir("bench_failed_out");
  std::string log;
  const CategoryRunResult r = run_logged(tiny("btad", root, out), &log);
  INFO("log:\n" << log);
  CHECK(r.failed == 1);
  const nlohmann::json j = nlohmann::json::parse(read_file(out + "/btad_results.json"));
  REQUIRE(j["categories"].size() == 2);
  CHECK(j["categories"][0]["category"] == "01");
  CHECK(j["categories"][0]["status"] == "failed");
  CHECK(!j["categories"][0]["error"].get<std::string>().empty());
  CHECK(j["categories"][1]["status"] != "failed");
  CHECK(j["failed"] == 1);
  // Avg is over the categories with a result; the failed one shows "-".
  CHECK(j["average"]["image_auroc"] == j["categories"][1]["image_auroc"]);
  CHECK(r.markdown.find("| | Avg | 01 | 02 |") != std::string::npos);
  CHECK(r.markdown.find("Not in Avg: 01 (failed") != std::string::npos);
  CHECK(r.markdown.find("; Avg over the 1 category with results (failed: 01).") != std::string::npos);
  const std::vector<std::string> csv = lines_of(read_file(out + "/btad_results.csv"));
  REQUIRE(csv.size() == 3);
  CHECK(csv[1].find(",failed,") != std::string::npos);
}

// The results files are replaced, not merged (the earlier run's settings may differ);
// before, the earlier categories vanished without a word.
TEST_CASE("a second run into the same --out names, in one line, the earlier results it replaces") {
  const std::string root = testing::temp_dir("bench_again");
  fs::create_directories(root + "/01/train");  // discovery fails at once: nothing trains
  const std::string out = testing::temp_dir("bench_again_out");
  std::ofstream(out + "/btad_results.json") << R"({"categories": [{"category": "02"}, {"category": "03"}]})";
  CategoryRunOptions o = tiny("btad", root, out);
  o.categories = {"01"};
  std::string log;
  const CategoryRunResult r = run_logged(o, &log);
  INFO("log:\n" << log);
  CHECK(log.find("note: " + out + "/btad_results.json (.csv) holds an earlier run's results for 02, 03; this run's "
                 "replace them\n") != std::string::npos);
  CHECK(r.markdown.find("; Avg over the 0 categories with results (failed: 01).") != std::string::npos);
}

TEST_CASE("a category whose test set has one class only: null metrics, out of Avg, marked in the tables") {
  const std::string root = make_root("mvtec", {"bottle", "wood"});
  for (const auto& e : fs::directory_iterator(root + "/wood/test"))  // keep test/good only
    if (e.path().filename() != "good") fs::remove_all(e.path());
  fs::remove_all(root + "/wood/ground_truth");
  const std::string out = testing::temp_dir("bench_one_class_out");
  std::string log;
  const CategoryRunResult r = run_logged(tiny("mvtec", root, out), &log);
  INFO("log:\n" << log);
  CHECK(r.failed == 0);
  const nlohmann::json j = nlohmann::json::parse(read_file(out + "/mvtec_results.json"));
  REQUIRE(j["categories"].size() == 2);
  const nlohmann::json& bottle = j["categories"][0];
  const nlohmann::json& wood = j["categories"][1];
  CHECK(wood["status"] == "completed");
  CHECK(wood["image_auroc"].is_null());
  CHECK(wood["image_aupr"].is_null());
  CHECK(wood["warning"].get<std::string>().find("only normal images") != std::string::npos);
  REQUIRE(bottle["image_auroc"].is_number());
  // Avg is bottle's alone: wood's undefined figures are neither 0 nor counted.
  CHECK(j["average"]["image_auroc"] == bottle["image_auroc"]);
  CHECK(j["average"]["image_f1_oracle"] == bottle["image_f1_oracle"]);
  CHECK(r.markdown.find("| n/a (one class) |") != std::string::npos);
  CHECK(r.markdown.find("Not in Avg: wood (the test set has only normal images") != std::string::npos);
  CHECK(log.find("mvtec/wood: completed, warning: the test set has only normal images") != std::string::npos);
}

TEST_CASE("categories_markdown: Avg is the mean, 3 decimals, the setting in the heading") {
  nlohmann::json results = {{"dataset", "mvtec"}, {"recipe", "anomalib"}, {"image_size", 256}, {"seed", 42},
                            {"score", "latent"},  {"epochs", 15},          {"validate_on", "test"}};
  results["categories"] = nlohmann::json::array();
  results["categories"].push_back({{"category", "bottle"}, {"image_auroc", 0.5}, {"image_f1_oracle", 0.8},
                                   {"image_f1", 0.25}, {"status", "completed"}});
  results["categories"].push_back({{"category", "cable"}, {"image_auroc", 0.7}, {"image_f1_oracle", 0.9},
                                   {"image_f1", 0.5}, {"status", "completed"}});
  const std::string md = categories_markdown(results);
  INFO(md);
  CHECK(md.find("### Image-Level AUC (image size 256, recipe anomalib)") != std::string::npos);
  CHECK(md.find("| GANomaly (anomalib, 256 px, seed 42, validated on test) | 0.600 | 0.500 | 0.700 |") !=
        std::string::npos);
  CHECK(md.find("| GANomaly (anomalib, 256 px, seed 42, validated on test) | 0.850 | 0.800 | 0.900 |") !=
        std::string::npos);
  CHECK(md.find("| GANomaly (anomalib, 256 px, seed 42, validated on test) | 0.375 | 0.250 | 0.500 |") !=
        std::string::npos);
  CHECK(md.find("| --- | :---: | :---: | :---: |") != std::string::npos);
  CHECK(md.find("oracle") != std::string::npos);
}

TEST_CASE("categories_markdown: the nearest-image floors sit under the AUROC row, averaged as it is") {
  nlohmann::json results = {{"dataset", "mvtec"}, {"recipe", "paper"}, {"image_size", 64}, {"seed", 42},
                            {"score", "fused"},   {"epochs", 30}};
  results["categories"] = nlohmann::json::array();
  results["categories"].push_back({{"category", "bottle"}, {"image_auroc", 0.9}, {"status", "completed"},
                                   {"floor_image_auroc", {{"nearest_l1", 0.8}, {"nearest_l2", 0.6}}}});
  results["categories"].push_back({{"category", "cable"}, {"image_auroc", 0.7}, {"status", "completed"},
                                   {"floor_image_auroc", {{"nearest_l1", 0.6}, {"nearest_l2", 0.4}}}});
  const std::string md = categories_markdown(results);
  INFO(md);
  CHECK(md.find("| floor: nearest_l1 (distance to the nearest training image, no model) | 0.700 | 0.800 | 0.600 |") !=
        std::string::npos);
  CHECK(md.find("| floor: nearest_l2 (distance to the nearest training image, no model) | 0.500 | 0.600 | 0.400 |") !=
        std::string::npos);
  // Only under the AUROC table.
  CHECK(md.find("floor: nearest_l1") == md.rfind("floor: nearest_l1"));
}

TEST_CASE("ganomaly_categories CLI: --help, and a bad --dataset is one line with exit 2") {
  const testing::AppResult help = testing::run_app("ganomaly_categories", "--help");
  CHECK(help.exit_code == 0);
  for (const char* option : {"--dataset", "--root", "--categories", "--image-size", "--recipe", "--score", "--ema",
                             "--batch-size", "--patience", "--epochs", "--seed"})
    CHECK_MESSAGE(help.output.find(option) != std::string::npos, option);

  const std::string root = testing::temp_dir("bench_cli");
  const testing::AppResult bad =
      testing::run_app("ganomaly_categories", "--dataset kolektor --root '" + root + "' --out '" + root + "/out'");
  INFO("output: <<<" << bad.output << ">>>");
  CHECK(bad.exit_code == 2);
  CHECK(std::count(bad.output.begin(), bad.output.end(), '\n') == 1);
  CHECK(bad.output.find("--dataset") != std::string::npos);
  CHECK(bad.output.find("kolektor") != std::string::npos);
  CHECK(!fs::exists(root + "/out"));

  // A missing explicit category: exit 1, one line naming the path, no output folder.
  fs::create_directories(root + "/mvtec/bottle");
  const testing::AppResult missing = testing::run_app(
      "ganomaly_categories", "--dataset mvtec --root '" + root + "/mvtec' --categories bottle,cable --out '" + root + "/out'");
  INFO("output: <<<" << missing.output << ">>>");
  CHECK(missing.exit_code == 1);
  CHECK(std::count(missing.output.begin(), missing.output.end(), '\n') == 1);
  CHECK(missing.output.find(root + "/mvtec/cable") != std::string::npos);
  CHECK(!fs::exists(root + "/out"));
}

TEST_CASE("ganomaly_categories CLI: a failed category makes exit 1 after the others ran") {
  const std::string root = make_root("btad", {"02"});
  fs::create_directories(root + "/01/train");
  const std::string out = testing::temp_dir("bench_cli_failed_out");
  const testing::AppResult r = testing::run_app(
      "ganomaly_categories", "--dataset btad --root '" + root + "' --out '" + out +
                                "' --image-size 32 --n-features 8 --latent-size 8 --epochs 1 --min-steps 0 --batch-size 4 --threads 2");
  INFO("output: <<<" << r.output << ">>>");
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("[2/2] btad/02") != std::string::npos);
  CHECK(r.output.find("| | Avg | 01 | 02 |") != std::string::npos);
  const nlohmann::json j = nlohmann::json::parse(read_file(out + "/btad_results.json"));
  REQUIRE(j["categories"].size() == 2);
  CHECK(j["categories"][0]["status"] == "failed");
  CHECK(j["categories"][1]["status"] == "completed");
}

TEST_CASE("ganomaly_categories --config: options from the file; each category's config.json repeats it with ganomaly_train") {
  const std::string root = make_root("btad", {"02"});
  const std::string out = testing::temp_dir("bench_config_out");
  const std::string config = testing::temp_dir("bench_config") + "/categories.json";
  const nlohmann::json file = {{"dataset", "btad"},   {"root", root},       {"categories", {"02"}}, {"out", out},
                               {"image-size", 32},    {"n-features", 8},    {"latent-size", 8},     {"epochs", 1},
                               {"min-steps", 0},      {"batch-size", 4},    {"threads", 1}};
  std::ofstream(config) << file.dump(2);
  const testing::AppResult r = testing::run_app("ganomaly_categories", "--config '" + config + "' --seed 5");
  INFO("output: <<<" << r.output << ">>>");
  REQUIRE(r.exit_code == 0);
  const std::string category_out = out + "/btad/02";
  const nlohmann::json written = nlohmann::json::parse(read_file(category_out + "/config.json"));
  CHECK(written["data"] == root + "/02");
  CHECK(written["format"] == "btad");
  CHECK(written["out"] == category_out);
  CHECK(written["seed"] == 5);  // typed on the command line
  CHECK(written["n-features"] == 8);
  CHECK(!written.contains("dataset"));
  CHECK(!written.contains("categories"));

  const testing::AppResult again =
      testing::run_app("ganomaly_train", "--config '" + category_out + "/config.json' --out '" + out + "/again'");
  INFO("output: <<<" << again.output << ">>>");
  REQUIRE(again.exit_code == 0);
  const std::string model = read_file(category_out + "/model.gnm");
  REQUIRE(!model.empty());
  CHECK(model == read_file(out + "/again/model.gnm"));

  // A bad key names the file.
  std::ofstream(config) << R"({"dataset": "btad", "bogus": 1})";
  const testing::AppResult bad = testing::run_app("ganomaly_categories", "--config '" + config + "'");
  CHECK(bad.exit_code == 2);
  CHECK(bad.output == "ganomaly_categories: " + config +
                          ": bogus: unknown key (expected an option's name as in --help, without the '--')\n");
}
