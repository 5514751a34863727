// ganomaly_categories: category lists and selection, one training per category on tiny
// generated data sets in the MVTec AD, BTAD and VisA raw layouts, the results files,
// the anomalib-style tables, failures that do not stop the run, and the CLI's usage
// errors.
//
// Everything is tiny (32 px, n_features 8, one epoch, a dozen images) so the file runs
// in seconds on two cores.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <thread>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "categories/category_collect.h"
#include "categories/category_runner.h"
#include "ganomaly/data/synth.h"
#include "support/run_app.h"

namespace fs = std::filesystem;
using namespace gan;

using gan::testing::read_file;

extern char** environ;

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
  std::getline(s, cell, '|');  // before the first '|'; nothing is read after the last
  while (std::getline(s, cell, '|')) {
    const size_t b = cell.find_first_not_of(' '), e = cell.find_last_not_of(' ');
    out.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
  }
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream s(text);
  for (std::string line; std::getline(s, line);) out.push_back(line);
  return out;
}

// The model README's name of a category's row: MVTec AD's capitalised.
std::string row_name(const std::string& dataset, std::string category) {
  if (dataset == "mvtec") category[0] = static_cast<char>(std::toupper(category[0]));
  return category;
}

std::string fixed3(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

// Checks the row layout of `md` (one seed) against `results`: the model README's header,
// a row per category of the data set in its order, the run ones with their metrics at 3
// decimals (honest F1, then oracle F1, then the four floors), the others empty, and a
// last Average row with the means.
void check_row_table(const std::string& md, const nlohmann::json& results) {
  INFO("markdown:\n" << md);
  const std::string dataset = results["dataset"];
  const std::vector<std::string> lines = lines_of(md);
  size_t at = 0;
  while (at < lines.size() && lines[at].rfind("| Model ", 0) != 0) ++at;
  REQUIRE(at + 2 < lines.size());
  CHECK(cells(lines[at]) == std::vector<std::string>{"Model", "Image AUROC", "Image F1", "Image F1 (oracle)",
                                                     "Floor: nearest L1", "Floor: nearest L2", "Floor: mean L1",
                                                     "Floor: mean L2"});
  CHECK(lines[at + 1].find_first_not_of("|- ") == std::string::npos);
  const std::vector<std::string>& known = known_categories(dataset);
  REQUIRE(at + 2 + known.size() < lines.size());
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& row : results["categories"]) by_name[row["category"]] = row;
  std::vector<double> sums(7, 0.0);
  for (size_t i = 0; i < known.size(); ++i) {
    const std::vector<std::string> row = cells(lines[at + 2 + i]);
    REQUIRE(row.size() == 8);
    CHECK(row[0] == row_name(dataset, known[i]));
    const auto it = by_name.find(known[i]);
    if (it == by_name.end()) {
      for (size_t c = 1; c < row.size(); ++c) CHECK(row[c].empty());
      continue;
    }
    const nlohmann::json& r = it->second;
    const double values[] = {r["image_auroc"], r["image_f1"], r["image_f1_oracle"],
                             r["floor_image_auroc"]["nearest_l1"], r["floor_image_auroc"]["nearest_l2"],
                             r["floor_image_auroc"]["mean_l1"], r["floor_image_auroc"]["mean_l2"]};
    for (size_t c = 0; c < 7; ++c) {
      CHECK(row[1 + c] == fixed3(values[c]));
      sums[c] += values[c];
    }
  }
  const std::vector<std::string> average = cells(lines[at + 2 + known.size()]);
  REQUIRE(average.size() == 8);
  CHECK(average[0] == "Average");
  for (size_t c = 0; c < 7; ++c) CHECK(average[1 + c] == fixed3(sums[c] / by_name.size()));
  CHECK(std::abs(results["average"]["image_auroc"].get<double>() - sums[0] / by_name.size()) < 1e-12);
}

// Checks the three tables of the column layout against the rows of `results`: the header
// names the categories in order, each value is the row's metric at 3 decimals, and Avg
// is their mean.
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
        "category,seed,image_auroc,image_f1_oracle,image_f1,threshold,train_seconds,image_size,recipe,score,status,error");
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
  check_row_table(r.markdown, r.results);
  check_tables(categories_markdown(r.results, TableLayout::columns), r.results);
  CHECK(r.markdown.rfind("## [MVTec AD Dataset]", 0) == 0);
  CHECK(r.results["skipped"].size() == 13);
  CHECK(log.find("note: skipping cable") != std::string::npos);
  CHECK(log.find("[1/2] mvtec/bottle") != std::string::npos);
  CHECK(log.find("[2/2] mvtec/wood") != std::string::npos);
  CHECK(log.find("ETA") != std::string::npos);
  CHECK(log.find(r.markdown) != std::string::npos);  // the tables are printed
  // The row table is written for tools/update_quality_tables.py, behind its marker line.
  CHECK(read_file(out + "/mvtec_table.md") == "<!-- ganomaly_categories table; dataset=mvtec -->\n" + r.markdown);
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
  check_row_table(r.markdown, r.results);
  check_tables(categories_markdown(r.results, TableLayout::columns), r.results);
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
  check_row_table(r.markdown, r.results);
  check_tables(categories_markdown(r.results, TableLayout::columns), r.results);
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
  for (const std::string& line : lines_of(r.markdown))  // the failed row is empty
    if (line.rfind("| 01 ", 0) == 0)
      CHECK(cells(line) == std::vector<std::string>{"01", "", "", "", "", "", "", ""});
  CHECK(categories_markdown(r.results, TableLayout::columns).find("| | Avg | 01 | 02 |") != std::string::npos);
  CHECK(r.markdown.find("Not in Avg: 01 (failed") != std::string::npos);
  CHECK(r.markdown.find("; Average over the 1 category with results (failed: 01).") != std::string::npos);
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
  CHECK(r.markdown.find("; Average over the 0 categories with results (failed: 01).") != std::string::npos);
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
  const std::string md = categories_markdown(results, TableLayout::columns);
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
  const std::string md = categories_markdown(results, TableLayout::columns);
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
  CHECK(r.output.find("| Average ") != std::string::npos);
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

TEST_CASE("categories_markdown rows: the model README's layout, every category a row, empty ones say why") {
  nlohmann::json results = {{"dataset", "btad"}, {"recipe", "paper"}, {"image_size", 64}, {"seed", 42},
                            {"score", "fused"},  {"epochs", 30},      {"root", "data/btad"}, {"skipped", {"03"}}};
  results["categories"] = nlohmann::json::array();
  results["categories"].push_back({{"category", "01"}, {"image_auroc", 0.9}, {"image_f1_oracle", 0.8},
                                   {"image_f1", 0.7}, {"status", "completed"},
                                   {"floor_image_auroc",
                                    {{"nearest_l1", 0.6}, {"nearest_l2", 0.5}, {"mean_l1", 0.4}, {"mean_l2", 0.3}}}});
  results["categories"].push_back({{"category", "02"}, {"status", "failed"}, {"error", "no images"}});
  const std::string md = categories_markdown(results);
  CHECK(md ==
        "## BTAD Dataset\n\n"
        "GANomaly, recipe `paper`, image size 64, seed 42, score `fused`, max epochs 30; Average over the 1 category "
        "with results (failed: 02).\n"
        "Image F1 at the threshold chosen on validation (honest); Image F1 (oracle) at the test set's best threshold, "
        "as anomalib reports it; floors: the image AUROC of each test image's L1 or L2 distance to the nearest or the "
        "mean training image, no model (ganomaly_baseline).\n\n"
        "| Model   | Image AUROC | Image F1 | Image F1 (oracle) | Floor: nearest L1 | Floor: nearest L2 | Floor: mean L1 | Floor: mean L2 |\n"
        "| ------- | ----------- | -------- | ----------------- | ----------------- | ----------------- | -------------- | -------------- |\n"
        "| 01      | 0.900       | 0.700    | 0.800             | 0.600             | 0.500             | 0.400          | 0.300          |\n"
        "| 02      |             |          |                   |                   |                   |                |                |\n"
        "| 03      |             |          |                   |                   |                   |                |                |\n"
        "| Average | 0.900       | 0.700    | 0.800             | 0.600             | 0.500             | 0.400          | 0.300          |\n"
        "\nEmpty rows, no figures: 03 (no folder under data/btad).\n"
        "\nNot in Avg: 02 (failed: no images)\n");

  // Several seeds: the mean and the spread over them; Average is the mean of the means.
  nlohmann::json seeds = {{"dataset", "mvtec"}, {"recipe", "paper"}, {"image_size", 64}, {"seed", 1},
                          {"seeds", {1, 2}},    {"score", "fused"},  {"epochs", 30},     {"skipped", nlohmann::json::array()}};
  seeds["categories"] = nlohmann::json::array();
  for (const auto& [category, seed, auroc] : {std::tuple{"bottle", 1, 0.5}, std::tuple{"bottle", 2, 0.7},
                                              std::tuple{"wood", 1, 0.9}, std::tuple{"wood", 2, 0.0}})
    if (auroc > 0)
      seeds["categories"].push_back({{"category", category}, {"seed", seed}, {"image_auroc", auroc},
                                     {"image_f1", auroc}, {"image_f1_oracle", auroc}, {"status", "completed"}});
    else
      seeds["categories"].push_back({{"category", category}, {"seed", seed}, {"status", "failed"}, {"error", "x"}});
  const std::string md2 = categories_markdown(seeds);
  INFO(md2);
  CHECK(md2.find("seeds 1, 2 (mean ± standard deviation over the seeds)") != std::string::npos);
  std::map<std::string, std::vector<std::string>> table;
  for (const std::string& line : lines_of(md2))
    if (line.rfind("| ", 0) == 0) table[cells(line)[0]] = cells(line);
  CHECK(table["Model"] == std::vector<std::string>{"Model", "Image AUROC", "Image F1", "Image F1 (oracle)"});
  CHECK(table["Bottle"] == std::vector<std::string>{"Bottle", "0.600 ± 0.141", "0.600 ± 0.141", "0.600 ± 0.141"});
  CHECK(table["Wood"] ==
        std::vector<std::string>{"Wood", "0.900 (1 of 2 seeds)", "0.900 (1 of 2 seeds)", "0.900 (1 of 2 seeds)"});
  CHECK(table["Cable"] == std::vector<std::string>{"Cable", "", "", ""});
  CHECK(table["Average"] == std::vector<std::string>{"Average", "0.750", "0.750", "0.750"});
  // Padded to the widest cell in characters, "±" being one.
  CHECK(md2.find("| Bottle     | 0.600 ± 0.141        |") != std::string::npos);
  CHECK(md2.find("Not in Avg: wood seed 2 (failed: x)") != std::string::npos);
  CHECK(md2.find("Empty rows, no figures: cable, capsule,") != std::string::npos);
  CHECK(categories_average(seeds["categories"])["image_auroc"].get<double>() == doctest::Approx(0.75));
}

namespace {

// A finished sweep over two BTAD categories and two seeds, run in this process.
struct Sweep {
  std::string root, out;
  CategoryRunResult run;
};
Sweep tiny_sweep(const std::string& tag) {
  Sweep s;
  s.root = make_root("btad", {"01", "02"});
  s.out = testing::temp_dir(tag);
  CategoryRunOptions o = tiny("btad", s.root, s.out);
  o.seeds = {7, 3};
  o.train.run_config = {{"epochs", 1},      {"image-size", 32},     {"n-features", 8},
                        {"latent-size", 8}, {"recipe", "paper"},    {"score", "fused"}};  // each config.json
  std::string log;
  s.run = run_logged(o, &log);
  REQUIRE(s.run.failed == 0);
  return s;
}

void edit_json(const std::string& path, const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json j = nlohmann::json::parse(read_file(path));
  edit(j);
  std::ofstream(path) << j.dump(2);
}

}  // namespace

TEST_CASE("--seeds: a run per category and seed, into <category>/seed_<S>, in the order given") {
  const Sweep s = tiny_sweep("seeds_out");
  const nlohmann::json& rows = s.run.results["categories"];
  REQUIRE(rows.size() == 4);
  const std::pair<const char*, int> expected[] = {{"01", 7}, {"01", 3}, {"02", 7}, {"02", 3}};
  for (size_t i = 0; i < 4; ++i) {
    CHECK(rows[i]["category"] == expected[i].first);
    CHECK(rows[i]["seed"] == expected[i].second);
    const std::string dir = s.out + "/btad/" + expected[i].first + "/seed_" + std::to_string(expected[i].second);
    CHECK(rows[i]["out"] == dir);
    CHECK(nlohmann::json::parse(read_file(dir + "/config.json"))["seed"] == expected[i].second);
    CHECK(nlohmann::json::parse(read_file(dir + "/summary.json"))["seed"] == expected[i].second);
  }
  CHECK(s.run.results["seeds"] == nlohmann::json::array({7, 3}));
  CHECK(s.run.markdown.find("seeds 7, 3 (mean ± standard deviation over the seeds)") != std::string::npos);
  // The two seeds of a category are two trainings, not one twice.
  CHECK(read_file(s.out + "/btad/01/seed_7/model.gnm") != read_file(s.out + "/btad/01/seed_3/model.gnm"));
}

TEST_CASE("collect_runs: the finished folders give the run's own results, tables and files") {
  const Sweep s = tiny_sweep("collect_out");
  // A small category's default epochs are scaled up in its config.json (--min-steps):
  // the sweep's options are the ones asked (sweep.json), so this is no mixed option.
  edit_json(s.out + "/btad/02/seed_7/config.json", [](nlohmann::json& j) { j["epochs"] = 9; });
  const CollectedRuns c = collect_runs(s.out, "btad");
  INFO(c.refused.size());
  REQUIRE(c.refused.empty());
  const nlohmann::json& a = s.run.results["categories"];
  const nlohmann::json& b = c.results["categories"];
  REQUIRE(b.size() == 4);
  // Collected in the data set's order and by seed: 01/3, 01/7, 02/3, 02/7.
  const size_t order[] = {1, 0, 3, 2};
  for (size_t i = 0; i < 4; ++i) CHECK(b[i] == a[order[i]]);
  CHECK(c.results["seeds"] == nlohmann::json::array({3, 7}));
  CHECK(c.results["average"] == s.run.results["average"]);
  for (const char* key : {"dataset", "recipe", "image_size", "score", "epochs", "n_features", "latent_size"})
    CHECK_MESSAGE(c.results[key] == s.run.results[key], key);
  CHECK(c.results["skipped"] == nlohmann::json::array({"03"}));
  // The same figures in the same table (only the seeds' order differs in the heading).
  std::string md = categories_markdown(c.results);
  const std::string from = "seeds 3, 7", to = "seeds 7, 3";
  md.replace(md.find(from), from.size(), to);
  std::string expected = s.run.markdown;
  const std::string note = "(no folder under " + s.root + ")";
  const std::string collected_note = "(no run folder under " + s.out + "/btad)";
  expected.replace(expected.find(note), note.size(), collected_note);
  CHECK(md == expected);
}

TEST_CASE("collect_runs refuses, one line each, incomplete, mixed-option and stray folders") {
  const Sweep s = tiny_sweep("collect_refuse_out");
  const std::string set = s.out + "/btad";
  const std::string copy = testing::temp_dir("collect_seed_out");  // whole, for the missing seed below
  fs::copy(s.out, copy, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  fs::remove(set + "/01/seed_3/summary.json");                                                 // still training
  edit_json(set + "/01/seed_7/summary.json", [](nlohmann::json& j) { j["status"] = "interrupted"; });  // stopped
  edit_json(set + "/02/seed_3/config.json", [](nlohmann::json& j) { j["lr"] = 0.5; });        // other options
  edit_json(set + "/02/seed_7/config.json", [](nlohmann::json& j) { j["threads"] = 9; });      // by design: fine
  fs::create_directories(set + "/extra");                                                      // not a category
  fs::create_directories(set + "/03");                                                         // a task that never ran
  const CollectedRuns c = collect_runs(s.out, "btad");
  CHECK(c.results.is_null());
  std::string all;
  for (const std::string& line : c.refused) {
    CHECK(line.find('\n') == std::string::npos);
    all += line + "\n";
  }
  INFO(all);
  REQUIRE(c.refused.size() == 5);
  auto has = [&](const std::string& text) { return all.find(text) != std::string::npos; };
  CHECK(has(set + "/extra: not a btad category"));
  CHECK(has(set + "/03: no run in it"));
  CHECK(has(set + "/01/seed_3: incomplete: summary.json missing (still training, or stopped before the end; resume "
                  "with ganomaly_train --config " + set + "/01/seed_3/config.json --resume " + set + "/01/seed_3/last.gnm)"));
  CHECK(has(set + "/01/seed_7: incomplete: interrupted"));
  // The first counted run is 02/seed_3 (01's both refused), so 02/seed_7 differs from it.
  CHECK(has(set + "/02/seed_7: mixed options: lr unset (there 0.5) in " + set + "/02/seed_3"));
  CHECK(!has("threads"));

  // A seed the other categories have and this one lacks.
  fs::remove_all(copy + "/btad/02/seed_3");
  const CollectedRuns d = collect_runs(copy, "btad");
  REQUIRE(d.refused.size() == 1);
  CHECK(d.refused[0] == copy + "/btad/02: incomplete: no run for seed 3 (other categories have seeds 3, 7)");
}

TEST_CASE("ganomaly_categories --collect: refuses with one line per folder and writes nothing; then builds the tables") {
  const Sweep s = tiny_sweep("collect_cli_out");
  for (const char* f : {"btad_results.json", "btad_results.csv", "btad_table.md"}) fs::remove(s.out + "/" + f);
  fs::remove(s.out + "/btad/02/seed_7/summary.json");
  const testing::AppResult bad = testing::run_app("ganomaly_categories", "--collect '" + s.out + "'");
  INFO("output: <<<" << bad.output << ">>>");
  CHECK(bad.exit_code == 1);
  CHECK(bad.output == "ganomaly_categories: " + s.out + "/btad/02/seed_7: incomplete: summary.json missing (still "
                      "training, or stopped before the end; resume with ganomaly_train --config " + s.out +
                      "/btad/02/seed_7/config.json --resume " + s.out + "/btad/02/seed_7/last.gnm)\n"
                      "ganomaly_categories: 1 folder refused: no tables written\n");
  CHECK(!fs::exists(s.out + "/btad_results.json"));
  CHECK(!fs::exists(s.out + "/btad_table.md"));

  fs::remove_all(s.out + "/btad/02");  // 02 left out: the tables cover 01 alone, 02's row empty
  const testing::AppResult good = testing::run_app("ganomaly_categories", "--collect '" + s.out + "' --table columns");
  INFO("output: <<<" << good.output << ">>>");
  REQUIRE(good.exit_code == 0);
  CHECK(good.output.find("| | Avg | 01 |") != std::string::npos);
  const nlohmann::json j = nlohmann::json::parse(read_file(s.out + "/btad_results.json"));
  CHECK(j["categories"].size() == 2);
  CHECK(j["skipped"] == nlohmann::json::array({"02", "03"}));
  const std::string table = read_file(s.out + "/btad_table.md");
  CHECK(table.rfind("<!-- ganomaly_categories table; dataset=btad -->\n## BTAD Dataset", 0) == 0);
  CHECK(table.find("Empty rows, no figures: 02, 03 (no run folder under " + s.out + "/btad).") != std::string::npos);

  const testing::AppResult none = testing::run_app("ganomaly_categories", "--collect '" + s.out + "/btad/01'");
  CHECK(none.exit_code == 1);
  CHECK(none.output == "ganomaly_categories: " + s.out + "/btad/01: no mvtec, btad or visa folder in it: nothing to "
                       "collect (--collect)\n");
}

TEST_CASE("ganomaly_categories --jobs 2: runs in child processes, a thread each, the same models as one at a time") {
  const std::string root = make_root("btad", {"01", "02"});
  const std::string one = testing::temp_dir("jobs_one"), two = testing::temp_dir("jobs_two");
  const std::string common = "--dataset btad --root '" + root +
                             "' --image-size 32 --n-features 8 --latent-size 8 --epochs 1 --min-steps 0 --batch-size 4 "
                             "--seeds 1,2";
  const testing::AppResult a = testing::run_app("ganomaly_categories", common + " --threads 1 --out '" + one + "'");
  INFO("output: <<<" << a.output << ">>>");
  REQUIRE(a.exit_code == 0);
  const testing::AppResult b = testing::run_app("ganomaly_categories", common + " --jobs 2 --threads 2 --out '" + two + "'");
  INFO("output: <<<" << b.output << ">>>");
  REQUIRE(b.exit_code == 0);
  CHECK(b.output.find("note: --jobs 2: 2 runs at once, each in its own process with 1 of the 2 threads\n") !=
        std::string::npos);
  for (const char* run : {"01/seed_1", "01/seed_2", "02/seed_1", "02/seed_2"}) {
    const std::string model = read_file(one + "/btad/" + run + "/model.gnm");
    REQUIRE(!model.empty());
    CHECK_MESSAGE(model == read_file(two + "/btad/" + run + "/model.gnm"), run);
  }
  nlohmann::json ja = nlohmann::json::parse(read_file(one + "/btad_results.json"));
  nlohmann::json jb = nlohmann::json::parse(read_file(two + "/btad_results.json"));
  REQUIRE(jb["categories"].size() == 4);
  for (size_t i = 0; i < 4; ++i) {
    CHECK(jb["categories"][i]["image_auroc"] == ja["categories"][i]["image_auroc"]);
    CHECK(jb["categories"][i]["seed"] == ja["categories"][i]["seed"]);
  }
  // Each child's output went to its log.
  CHECK(read_file(two + "/logs/btad_task_3.log").find("[task 3 of 4] btad/02 seed 2: completed") != std::string::npos);

  // A category that fails in its child: failed with the child's last line, the others go on.
  fs::remove_all(root + "/02/train");
  fs::create_directories(root + "/02/train");
  const testing::AppResult c = testing::run_app("ganomaly_categories", common + " --jobs 2 --threads 2 --out '" + two + "'");
  INFO("output: <<<" << c.output << ">>>");
  CHECK(c.exit_code == 1);
  const nlohmann::json jc = nlohmann::json::parse(read_file(two + "/btad_results.json"));
  REQUIRE(jc["categories"].size() == 4);
  CHECK(jc["categories"][0]["status"] == "completed");
  CHECK(jc["categories"][2]["status"] == "failed");
  CHECK(jc["categories"][2]["error"].get<std::string>().find("(log: " + two + "/logs/btad_task_2.log)") !=
        std::string::npos);
}

TEST_CASE("ganomaly_categories --list-tasks and --task: one run alone, no tables; an index out of range is exit 2") {
  const std::string root = make_root("btad", {"01", "02"});
  const std::string out = testing::temp_dir("task_out");
  const std::string common = "--dataset btad --root '" + root + "' --out '" + out +
                             "' --image-size 32 --n-features 8 --latent-size 8 --epochs 1 --min-steps 0 --batch-size 4 "
                             "--threads 1 --seeds 5,6";
  const testing::AppResult list = testing::run_app("ganomaly_categories", common + " --list-tasks");
  REQUIRE(list.exit_code == 0);
  CHECK(list.output == "0\t01\t5\t" + out + "/btad/01/seed_5\n1\t01\t6\t" + out + "/btad/01/seed_6\n2\t02\t5\t" + out +
                           "/btad/02/seed_5\n3\t02\t6\t" + out + "/btad/02/seed_6\n");
  CHECK(!fs::exists(out + "/btad"));

  const testing::AppResult task = testing::run_app("ganomaly_categories", common + " --task 2");
  INFO("output: <<<" << task.output << ">>>");
  REQUIRE(task.exit_code == 0);
  CHECK(fs::exists(out + "/btad/02/seed_5/summary.json"));
  CHECK(!fs::exists(out + "/btad/01"));
  CHECK(!fs::exists(out + "/btad_results.json"));  // --collect builds the tables

  const testing::AppResult bad = testing::run_app("ganomaly_categories", common + " --task 4");
  CHECK(bad.exit_code == 2);
  CHECK(bad.output == "ganomaly_categories: --task: expected 0 to 3 (4 runs: categories x seeds), got 4\n");
  const testing::AppResult both = testing::run_app("ganomaly_categories", common + " --seed 3");
  CHECK(both.exit_code == 2);
  CHECK(both.output == "ganomaly_categories: --seeds: give --seed or --seeds, not both\n");
  const testing::AppResult seeds = testing::run_app("ganomaly_categories", common + " --seeds 1,x");
  CHECK(seeds.exit_code == 2);
  CHECK(seeds.output == "ganomaly_categories: --seeds: 'x' is not a seed (expected integers, 0 or more, separated by "
                        "commas)\n");
}

TEST_CASE("ganomaly_categories --jobs 2: Ctrl-C stops every child once, each leaving its resumable last.gnm; exit 130") {
  const std::string root = make_root("btad", {"01", "02"});
  const std::string out = testing::temp_dir("jobs_sigint_out");
  std::vector<std::string> argv = testing::app_command("ganomaly_categories");
  for (const char* a : {"--dataset", "btad", "--image-size", "32", "--n-features", "8", "--latent-size", "8", "--epochs",
                        "100000", "--patience", "0", "--min-steps", "0", "--batch-size", "4", "--jobs", "2", "--threads",
                        "2"})
    argv.push_back(a);
  for (const std::string& a : {std::string("--root"), root, std::string("--out"), out}) argv.push_back(a);
  std::vector<char*> pointers;
  for (std::string& a : argv) pointers.push_back(a.data());
  pointers.push_back(nullptr);
  const std::string log = out + ".log";
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_addopen(&files, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&files, 1, 2);
  posix_spawnattr_t attr;  // a shell may start tests with SIGINT ignored: the app gets the default
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);  // its own group, as a terminal's foreground job
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, pointers[0], &files, &attr, pointers.data(), environ);
  posix_spawn_file_actions_destroy(&files);
  posix_spawnattr_destroy(&attr);
  REQUIRE(rc == 0);
  // Both children are training once each has written its first last.gnm (after epoch 1).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!(fs::exists(out + "/btad/01/last.gnm") && fs::exists(out + "/btad/02/last.gnm")) &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ::kill(-pid, SIGINT);  // to the whole group, as Ctrl-C at a terminal
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  const std::string output = read_file(log);
  INFO("output: <<<" << output << ">>>");
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 130);
  CHECK(output.find("interrupted: 0 of 2 runs finished; an interrupted one resumes from its last.gnm\n") !=
        std::string::npos);
  const nlohmann::json j = nlohmann::json::parse(read_file(out + "/btad_results.json"));
  CHECK(j["interrupted"] == true);
  REQUIRE(j["categories"].size() == 2);
  for (int i = 0; i < 2; ++i) {
    CHECK(j["categories"][i]["status"] == "interrupted");
    // One signal each: the child finished its step and wrote its checkpoint (a second
    // one would have made it leave at once).
    const std::string child = read_file(out + "/logs/btad_task_" + std::to_string(i) + ".log");
    INFO("child " << i << ": <<<" << child << ">>>");
    CHECK(child.find("interrupted: resumable checkpoint") != std::string::npos);
  }
}
