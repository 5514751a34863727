// bench/bench_stats.h: the medians, ranges, ratios, the thread check and the Markdown
// of ganomaly_bench's speed table, on hand values. Nothing here is timed.
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

#include "../bench/bench_stats.h"

using namespace gan::bench;

TEST_CASE("bench stats: median of an odd and an even count, min and max") {
  const Summary odd = summarize({3.0, 1.0, 2.0});
  CHECK(odd.median == 2.0);
  CHECK(odd.min == 1.0);
  CHECK(odd.max == 3.0);
  const Summary even = summarize({4.0, 1.0, 3.0, 2.0});
  CHECK(even.median == 2.5);
  CHECK(even.min == 1.0);
  CHECK(even.max == 4.0);
  const Summary one = summarize({7.5});
  CHECK(one.median == 7.5);
  CHECK(one.min == 7.5);
  CHECK(one.max == 7.5);
  CHECK_THROWS_AS(summarize({}), std::invalid_argument);
}

TEST_CASE("bench stats: a ratio is of the medians, its range the worst and best pairings") {
  const Summary r = ratio({60, 50, 70}, {20, 10, 25});
  CHECK(r.median == doctest::Approx(3.0));
  CHECK(r.min == doctest::Approx(2.0));  // 50 / 25
  CHECK(r.max == doctest::Approx(7.0));  // 70 / 10
  CHECK_THROWS_AS(ratio({1, 1, 1}, {0, 0, 0}), std::invalid_argument);
}

TEST_CASE("bench stats: a side over its threads + 0.2 cores is flagged") {
  CHECK_FALSE(over_threads(1.0, 1));
  CHECK_FALSE(over_threads(1.2, 1));
  CHECK(over_threads(1.21, 1));
  CHECK_FALSE(over_threads(2.15, 2));
  CHECK(over_threads(2.5, 2));
  CHECK(cpu_cell(1.98, 2) == "1.98");
  CHECK(cpu_cell(1.98, 1) == "1.98 (!)");
}

TEST_CASE("bench stats: figures keep three significant digits, cells show the range") {
  CHECK(figure(1234.4) == "1234");
  CHECK(figure(251.6) == "252");
  CHECK(figure(41.45) == "41.5");
  CHECK(figure(3.532) == "3.53");
  CHECK(figure(0.6321) == "0.632");
  CHECK(cell({75.23, 74.1, 76.0}) == "75.2 (74.1-76.0)");
  CHECK(cell({20.0, 20.0, 20.0}) == "20.0");
  CHECK(ratio_cell({2.934, 2.8, 3.05}, 1.0) == "**2.93x** (2.80-3.05)");
  CHECK(ratio_cell({1.1, 0.95, 1.2}, 1.0) == "1.10x (0.95-1.20)");
  CHECK(ratio_cell({1.5, 1.5, 1.5}) == "1.50x");
}

TEST_CASE("bench stats: configurations SIZE:BATCH:THREADS") {
  const Config c = parse_config("256:4:2");
  CHECK(c.size == 256);
  CHECK(c.batch == 4);
  CHECK(c.threads == 2);
  for (const char* bad : {"", "64", "64:32", "64:32:2:1", "63:32:2", "64:1:2", "64:32:0", "64:32:2x", "a:b:c"})
    CHECK_THROWS_WITH_AS(parse_config(bad), doctest::Contains("--configs"), std::invalid_argument);
  CHECK(quick_run(19, 3));
  CHECK(quick_run(20, 2));
  CHECK_FALSE(quick_run(20, 3));
}

TEST_CASE("bench stats: the Markdown table, with and without PyTorch") {
  Row r;
  r.size = 64;
  r.batch = 32;
  r.threads = 2;
  r.train = {75.0, 74.0, 76.0};
  r.torch_train = {25.0, 24.0, 26.0};
  r.score = {490.0, 480.0, 500.0};
  r.torch_score = {500.0, 490.0, 510.0};
  r.cpu_train = 1.97;
  r.cpu_score = 1.9;
  r.torch_cpu_train = 2.4;
  r.torch_cpu_score = 1.5;
  r.rss_mib = 363.4;
  r.rss_before_mib = 6.2;
  r.torch_rss_mib = 690;
  r.torch_rss_before_mib = 228;
  const std::string both = markdown_table({r}, true);
  CHECK(both.find("| px | batch | threads | train img/s | torch train | train ratio |") == 0);
  CHECK(both.find("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n") != std::string::npos);
  CHECK(both.find("| 64 | 32 | 2 | 75.0 (74.0-76.0) | 25.0 (24.0-26.0) | **3.00x** (2.85-3.17) | "
                  "490 (480-500) | 500 (490-510) | 0.98x (0.94-1.02) | 1.97, 1.90 | 2.40 (!), 1.50 | 363 (6) | "
                  "690 (228) |\n") != std::string::npos);
  CHECK(any_over_threads({r}));
  r.torch_cpu_train = 2.0;
  CHECK_FALSE(any_over_threads({r}));

  const std::string ours = markdown_table({r}, false);
  CHECK(ours.find("| px | batch | threads | train img/s | score img/s | CPU/wall train, score | peak RSS MiB (before model) |\n"
                  "|---|---|---|---|---|---|---|\n") == 0);
  CHECK(ours.find("| 64 | 32 | 2 | 75.0 (74.0-76.0) | 490 (480-500) | 1.97, 1.90 | 363 (6) |\n") != std::string::npos);
}
