// File and folder names the apps must carry whole: a comma in a positional argument, bytes
// that are not UTF-8 in JSON (io/json_text.h), tab and line feed in ganomaly_infer's text
// output, and a dangling symbolic link or a folder of folders among infer's inputs.
//
// One tiny training run (the app, kFast) on a data set whose folder name is not UTF-8
// gives the model every other case uses.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "../apps/app_common.h"
#include "ganomaly/io/json_text.h"
#include "support/fixtures.h"
#include "support/run_app.h"

namespace fs = std::filesystem;
using gan::testing::AppResult;
using gan::testing::read_file;
using gan::testing::run_app;
using gan::testing::temp_dir;

namespace {

const std::string kFast = " --epochs 1 --min-steps 0 --image-size 32 --n-features 8 --latent-size 8 --batch-size 8 --threads 2";
const std::string kNotUtf8 = "\xff\xfe";  // never valid in UTF-8

// Quoted for the shell; no test name holds a single quote.
std::string q(const std::string& s) { return "'" + s + "'"; }

// Every \xNN back to its byte: the inverse of json_safe_text, as a reader would write it.
std::string unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s.compare(i, 2, "\\x") == 0 && i + 3 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 2])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 3]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 2, 2), nullptr, 16));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

struct OddRun {
  std::string data;   // a category folder whose parent's name is not UTF-8
  std::string out;    // ganomaly_train's --out
  std::string model;  // out/model.gnm
  AppResult train;
};

// The data set under a folder named "data<0xff 0xfe>", one test image renamed to hold
// those bytes too, trained on once (with its report) by the app.
const OddRun& odd_run() {
  static const OddRun run = [] {
    OddRun r;
    const std::string generated = gan::testing::write_tiny_dataset("names_data");
    const std::string parent = temp_dir("names") + "/data" + kNotUtf8;
    fs::create_directories(parent);
    r.data = parent + "/bottle";
    fs::rename(generated, r.data);
    const std::string good = r.data + "/test/good/";
    fs::rename(good + "000.png", good + "x" + kNotUtf8 + ".png");
    r.out = temp_dir("names_run");
    r.train = run_app("ganomaly_train", q(r.data) + " --out " + q(r.out) + kFast);
    r.model = r.out + "/model.gnm";
    return r;
  }();
  return run;
}

}  // namespace

TEST_CASE("json_safe_text: valid UTF-8 unchanged; any other byte as \\xNN, reversibly") {
  for (const std::string valid : {"", "plain/a b,c.png", "caf\xc3\xa9/\xe2\x82\xac/\xf0\x9f\x98\x80.png", "back\\slash"})
    CHECK(gan::json_safe_text(valid) == valid);
  CHECK(gan::json_safe_text("a\xff.png") == "a\\xFF.png");
  // A backslash in an escaped name is escaped too, so that unescaping gives the bytes back.
  CHECK(gan::json_safe_text("a\\xFF\xff") == "a\\x5CxFF\\xFF");
  for (const std::string bad : {"a\xff.png", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82", "\x80x",
                                "\xc3\xa9\xff\\x41"}) {
    INFO(bad);
    CHECK(!gan::is_valid_utf8(bad));
    const std::string safe = gan::json_safe_text(bad);
    CHECK(gan::is_valid_utf8(safe));
    CHECK(unescape(safe) == bad);
  }
}

TEST_CASE("dump_json writes keys and strings that are not UTF-8 escaped, never throws") {
  const nlohmann::json j = {{"path", "d/\xff.png"}, {"list", {"ok", "\xfe"}}, {"k\xff", 1}};
  std::string text;
  REQUIRE_NOTHROW(text = gan::dump_json(j));
  const nlohmann::json back = nlohmann::json::parse(text);
  CHECK(back["path"] == "d/\\xFF.png");
  CHECK(back["list"][1] == "\\xFE");
  CHECK(back["k\\xFF"] == 1);
  CHECK(gan::dump_json({{"a", "b"}}, 2) == nlohmann::json({{"a", "b"}}).dump(2));
}

TEST_CASE("tsv_field_text: tab, line feed and control characters escaped; the rest as is") {
  CHECK(gan::tsv_field_text("a\tb\nc\rd\\e\x01\x7f\xff.png") == "a\\tb\\nc\\rd\\\\e\\x01\\x7F\xff.png");
  CHECK(gan::tsv_field_text("plain, name.png") == "plain, name.png");
}

TEST_CASE("names that are not UTF-8: training, test, baseline and infer --json carry them escaped") {
  const OddRun& r = odd_run();
  INFO(r.train.output);
  REQUIRE(r.train.exit_code == 0);
  const std::string escaped_data = gan::json_safe_text(r.data);
  CHECK(r.train.output.find("json.exception") == std::string::npos);

  SUBCASE("ganomaly_train: summary.json, the log and the report") {
    const nlohmann::json summary = nlohmann::json::parse(read_file(r.out + "/summary.json"));
    CHECK(summary["data"] == escaped_data);
    CHECK(unescape(summary["data"].get<std::string>()) == r.data);
    CHECK(fs::exists(r.out + "/report.html"));
    CHECK(fs::exists(r.out + "/train_log.jsonl"));
  }
  SUBCASE("ganomaly_test: test_metrics.json is written and names the data set") {
    const std::string out = temp_dir("names_test") + "/eval";
    const AppResult t = run_app("ganomaly_test", q(r.model) + " " + q(r.data) + " --out " + q(out) + " --threads 2");
    INFO(t.output);
    CHECK(t.exit_code == 0);
    REQUIRE(fs::exists(out + "/test_metrics.json"));
    CHECK(nlohmann::json::parse(read_file(out + "/test_metrics.json")).is_object());
  }
  SUBCASE("ganomaly_baseline --json") {
    const std::string json = temp_dir("names_baseline") + "/floors.json";
    const AppResult b = run_app("ganomaly_baseline", q(r.data) + " --json " + q(json) + " --threads 2");
    INFO(b.output);
    CHECK(b.exit_code == 0);
    const nlohmann::json j = nlohmann::json::parse(read_file(json));
    CHECK(unescape(j["data"].get<std::string>()) == r.data);
  }
  SUBCASE("ganomaly_infer --json: every image scored, each path read back byte for byte") {
    const std::string dir = r.data + "/test/good";
    const AppResult i = run_app("ganomaly_infer", q(r.model) + " " + q(dir) + " --json --threads 2");
    INFO(i.output);
    CHECK(i.exit_code == 0);
    std::vector<std::string> paths;
    for (const std::string& line : lines_of(i.output))
      paths.push_back(unescape(nlohmann::json::parse(line)["path"].get<std::string>()));
    std::vector<std::string> expected;
    for (const auto& e : fs::directory_iterator(dir)) expected.push_back(e.path().string());
    std::sort(expected.begin(), expected.end());
    CHECK(paths == expected);
  }
}

TEST_CASE("a comma in a positional argument is part of the name, in every app") {
  const OddRun& r = odd_run();
  REQUIRE(r.train.exit_code == 0);
  SUBCASE("ganomaly_infer scores the file a,b.png as one image, even when a and b.png exist") {
    const std::string dir = temp_dir("names_comma");
    const std::string image = r.data + "/test/good/001.png";
    for (const std::string name : {"a,b.png", "a", "b.png"}) fs::copy_file(image, dir + "/" + name);
    const std::string named = dir + "/a,b.png";
    const AppResult i = run_app("ganomaly_infer", q(r.model) + " " + q(named) + " --json --threads 2");
    INFO(i.output);
    CHECK(i.exit_code == 0);
    const std::vector<std::string> lines = lines_of(i.output);
    REQUIRE(lines.size() == 1);
    CHECK(nlohmann::json::parse(lines[0])["path"] == named);
  }
  SUBCASE("the other apps name the whole argument") {
    const std::string missing = temp_dir("names_comma_missing") + "/no,where";
    for (const auto& [app, args] : std::vector<std::pair<std::string, std::string>>{
             {"ganomaly_train", q(missing) + " --out " + q(missing + "_out") + kFast},
             {"ganomaly_test", q(r.model) + " " + q(missing) + " --out " + q(missing + "_out")},
             {"ganomaly_baseline", q(missing)},
             {"ganomaly_export", q(missing) + " " + q(missing + ".onnx")}}) {
      const AppResult a = run_app(app, args);
      INFO(app << ": " << a.output);
      CHECK(a.exit_code == 1);
      CHECK(a.output.find(missing) != std::string::npos);
    }
  }
}

TEST_CASE("ganomaly_infer text output: a tab or line feed in a name stays in the first column") {
  const OddRun& r = odd_run();
  REQUIRE(r.train.exit_code == 0);
  const std::string dir = temp_dir("names_tab");
  const std::string named = dir + "/a\tb\nc.png";
  fs::copy_file(r.data + "/test/good/001.png", named);
  const AppResult i = run_app("ganomaly_infer", q(r.model) + " " + q(named) + " --threads 2");
  INFO(i.output);
  CHECK(i.exit_code == 0);
  const std::vector<std::string> lines = lines_of(i.output);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].rfind(dir + "/a\\tb\\nc.png\t", 0) == 0);
  CHECK(std::count(lines[0].begin(), lines[0].end(), '\t') == 2);
}

TEST_CASE("ganomaly_infer: a dangling symbolic link is reported and skipped like any unreadable image") {
  const OddRun& r = odd_run();
  REQUIRE(r.train.exit_code == 0);
  const std::string dir = temp_dir("names_dangling");
  for (const std::string name : {"001.png", "002.png"}) fs::copy_file(r.data + "/test/good/" + name, dir + "/" + name);
  fs::create_symlink("gone.png", dir + "/001b.png");
  const std::string link_error = "ganomaly_infer: image: " + dir + "/001b.png: a symbolic link to gone.png, which does not exist";
  for (const std::string& inputs : {q(dir), q(dir + "/001.png") + " " + q(dir + "/001b.png") + " " + q(dir + "/002.png")}) {
    const AppResult i = run_app("ganomaly_infer", q(r.model) + " " + inputs + " --threads 2");
    INFO(inputs << ": " << i.output);
    CHECK(i.exit_code == 1);
    const std::vector<std::string> lines = lines_of(i.output);
    CHECK(std::count_if(lines.begin(), lines.end(), [](const std::string& l) { return l.rfind("ganomaly_infer:", 0) != 0; }) == 2);
    CHECK(std::find(lines.begin(), lines.end(), link_error) != lines.end());
    CHECK(std::find(lines.begin(), lines.end(), "ganomaly_infer: 1 of 3 images could not be read and were skipped") !=
          lines.end());
  }
}

TEST_CASE("ganomaly_infer: a folder of folders says that subfolders are not searched") {
  const OddRun& r = odd_run();
  REQUIRE(r.train.exit_code == 0);
  const std::string dir = temp_dir("names_nested");
  fs::create_directories(dir + "/good");
  fs::create_directories(dir + "/crack");
  const AppResult i = run_app("ganomaly_infer", q(r.model) + " " + q(dir) + " --threads 2");
  CHECK(i.exit_code == 1);
  CHECK(i.output == "ganomaly_infer: " + dir + ": no images (.png .jpg .jpeg .bmp) directly in this folder, and its 2 "
                    "subfolders are not searched: name them (e.g. " + dir + "/*)\n");
}

// The last line of defence: a JSON library error that reaches an app's boundary is one
// line without nlohmann's "[json.exception...]" prefix, exit 1.
TEST_CASE("app::run: a JSON library error is one line without the library's prefix, exit 1") {
  const std::string log = temp_dir("names_stderr") + "/stderr.txt";
  const int saved = dup(2), file = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  REQUIRE((saved >= 0 && file >= 0));
  dup2(file, 2);
  const int code = gan::app::run("ganomaly_x", []() -> int {
    return static_cast<int>(nlohmann::json::parse("[1, 2]").at(5).get<int>());
  });
  std::fflush(stderr);
  dup2(saved, 2);
  close(saved);
  close(file);
  CHECK(code == 1);
  CHECK(read_file(log) == "ganomaly_x: internal error in JSON handling: array index 5 is out of range\n");
}

TEST_CASE("line_text: a clean message unchanged; control characters, stray bytes and then backslashes as \\xNN") {
  for (const std::string clean : {"", "ganomaly_infer: a b,c.png: no such file", "caf\xc3\xa9/\xe2\x82\xac.png", "back\\slash"})
    CHECK(gan::line_text(clean) == clean);
  CHECK(gan::line_text("a\tb\nc\\d.png") == "a\\x09b\\x0Ac\\x5Cd.png");
  for (const std::string bad : {"a\nb", "a\xff.png", "\x1b[31mred\\x41", "\xc3\xa9\r\x7f"}) {
    INFO(bad);
    const std::string line = gan::line_text(bad);
    CHECK(gan::is_valid_utf8(line));
    CHECK(std::none_of(line.begin(), line.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }));
    CHECK(unescape(line) == bad);
  }
}

TEST_CASE("error lines on stderr: a line feed or stray bytes in a name are escaped, one line per error") {
  const OddRun& r = odd_run();
  REQUIRE(r.train.exit_code == 0);
  const std::string dir = temp_dir("names_stderr_lines");
  const std::string named = dir + "/bad\nname\xff.png";
  {
    std::ofstream(named) << "not an image\n";
  }
  fs::copy_file(r.data + "/test/good/001.png", dir + "/good.png");
  for (const std::string& extra : {std::string(), std::string(" --maps ") + q(temp_dir("names_stderr_maps"))}) {
    const AppResult i = run_app("ganomaly_infer", q(r.model) + " " + q(dir) + " --threads 2" + extra);
    INFO(i.output);
    CHECK(i.exit_code == 1);
    const std::vector<std::string> lines = lines_of(i.output);
    CHECK(lines.size() == 3);  // the good image's score, the bad one's error, the count
    const std::string escaped = gan::line_text(named);
    CHECK(escaped == dir + "/bad\\x0Aname\\xFF.png");
    CHECK(std::any_of(lines.begin(), lines.end(), [&](const std::string& l) {
      return l.rfind("ganomaly_infer: ", 0) == 0 && l.find(escaped) != std::string::npos;
    }));
  }
  // An error that ends the run (app::run's line), naming a missing model.
  const std::string missing = dir + "/no\nmodel\xfe.gnm";
  const AppResult m = run_app("ganomaly_infer", q(missing) + " " + q(dir) + " --threads 2");
  CHECK(m.exit_code == 1);
  CHECK(lines_of(m.output).size() == 1);
  CHECK(m.output.find(gan::line_text(missing)) != std::string::npos);
}

TEST_CASE("the HTML report writes names that are not UTF-8 escaped, never as raw bytes") {
  const OddRun& r = odd_run();
  REQUIRE(r.train.exit_code == 0);
  const std::string page = read_file(r.out + "/report.html");
  REQUIRE(!page.empty());
  CHECK(gan::is_valid_utf8(page));
  CHECK(page.find(gan::json_safe_text(r.data)) != std::string::npos);
}
