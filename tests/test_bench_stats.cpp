// bench/bench_stats.h: the medians, ranges, ratios, the thread check and the Markdown
// of ganomaly_bench's speed table, on hand values; bench/step_flops.h: a step's FLOPs
// from the network's shapes, against multiply-adds counted by hand. Nothing here is timed.
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

#include "../bench/bench_stats.h"
#include "../bench/step_flops.h"

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
  const std::string both = markdown_table({r}, Sides{true, false});
  CHECK(both.find("| px | batch | threads | train img/s | torch train | train ratio |") == 0);
  CHECK(both.find("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n") != std::string::npos);
  CHECK(both.find("| 64 | 32 | 2 | 75.0 (74.0-76.0) | 25.0 (24.0-26.0) | **3.00x** (2.85-3.17) | "
                  "490 (480-500) | 500 (490-510) | 0.98x (0.94-1.02) | 1.97, 1.90 | 2.40 (!), 1.50 | 363 (6) | "
                  "690 (228) |\n") != std::string::npos);
  CHECK(any_over_threads({r}));
  r.torch_cpu_train = 2.0;
  CHECK_FALSE(any_over_threads({r}));

  const std::string ours = markdown_table({r}, Sides{});
  CHECK(ours.find("| px | batch | threads | train img/s | score img/s | CPU/wall train, score | peak RSS MiB (before model) |\n"
                  "|---|---|---|---|---|---|---|\n") == 0);
  CHECK(ours.find("| 64 | 32 | 2 | 75.0 (74.0-76.0) | 490 (480-500) | 1.97, 1.90 | 363 (6) |\n") != std::string::npos);
}

TEST_CASE("bench stats: the ONNX Runtime columns and the GFLOP/s table") {
  Row r;
  r.size = 64;
  r.batch = 32;
  r.threads = 1;
  r.train = {40.0, 39.0, 41.0};
  r.torch_train = {35.0, 34.0, 36.0};
  r.score = {250.0, 240.0, 260.0};
  r.torch_score = {200.0, 200.0, 200.0};
  r.ort_score = {300.0, 290.0, 310.0};
  r.cpu_train = r.cpu_score = r.torch_cpu_train = r.torch_cpu_score = 1.0;
  r.ort_cpu_score = 1.3;
  r.rss_mib = 360;
  r.rss_before_mib = 7;
  r.torch_rss_mib = 630;
  r.torch_rss_before_mib = 226;
  r.ort_rss_mib = 150.4;
  r.ort_rss_before_mib = 60;
  r.flops_train = 2.0e9;
  r.flops_score = 0.5e9;
  r.peak_gflops = 200;
  const std::string all = markdown_table({r}, Sides{true, true});
  CHECK(all.find("| score ratio | ORT score | ratio to ORT | CPU/wall train, score | torch CPU/wall | ORT CPU/wall | "
                 "peak RSS MiB (before model) | torch peak RSS MiB (before model) | ORT peak RSS MiB (before model) |\n"
                 "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n") != std::string::npos);
  CHECK(all.find("| 64 | 32 | 1 | 40.0 (39.0-41.0) | 35.0 (34.0-36.0) | **1.14x** (1.08-1.21) | 250 (240-260) | 200 | "
                 "**1.25x** (1.20-1.30) | 300 (290-310) | 0.83x (0.77-0.90) | 1.00, 1.00 | 1.00, 1.00 | 1.30 (!) | "
                 "360 (7) | 630 (226) | 150 (60) |\n") != std::string::npos);
  CHECK(any_over_threads({r}));
  const std::string ort_only = markdown_table({r}, Sides{false, true});
  CHECK(ort_only.find("torch") == std::string::npos);
  CHECK(ort_only.find("| 64 | 32 | 1 | 40.0 (39.0-41.0) | 250 (240-260) | 300 (290-310) | 0.83x (0.77-0.90) |") == 
        ort_only.find("| 64 |"));

  // 40 img/s x 2 GFLOP = 80 GFLOP/s, 40 % of 200; scoring 250 x 0.5 = 125 (63 %).
  CHECK(gflops_cell(40, 2.0e9, 200) == "80.0 (40%)");
  const std::string g = gflops_table({r}, Sides{true, true});
  CHECK(g.find("| px | batch | threads | FMA peak GFLOP/s | GFLOP per image train, score | train GFLOP/s (of peak) | "
               "torch train | score GFLOP/s | torch score | ORT score |\n|---|---|---|---|---|---|---|---|---|---|\n") == 0);
  CHECK(g.find("| 64 | 32 | 1 | 200 | 2.00, 0.500 | 80.0 (40%) | 70.0 (35%) | 125 (63%) | 100 (50%) | 150 (75%) |\n") !=
        std::string::npos);
  const std::string g_ours = gflops_table({r}, Sides{});
  CHECK(g_ours.find("| 64 | 32 | 1 | 200 | 2.00, 0.500 | 80.0 (40%) | 125 (63%) |\n") != std::string::npos);
}

TEST_CASE("step FLOPs: the anomalib network's shapes and multiply-adds at 64 px, counted by hand") {
  // Encoder at 64 px: 3->64 (padding 4) to 35x35, 64->128 to 17x17, 128->256 to 8x8,
  // 256->512 to 4x4, 512->100 to 1x1; multiply-adds = out_c * out_side^2 * in_c * 16.
  const auto e = encoder_layers(64, 3, 64, 100);
  REQUIRE(e.size() == 5);
  CHECK(e[0].out_side == 35);
  CHECK(e[1].out_side == 17);
  CHECK(e[2].out_side == 8);
  CHECK(e[3].out_side == 4);
  CHECK(e[4].out_side == 1);
  const int64_t e_macs[] = {64 * 35 * 35 * 3 * 16, 128 * 17 * 17 * 64 * 16, 256 * 8 * 8 * 128 * 16,
                            512 * 4 * 4 * 256 * 16, 100 * 1 * 1 * 512 * 16};
  int64_t encoder = 0;
  for (int i = 0; i < 5; ++i) {
    CHECK(e[i].macs() == e_macs[i]);
    encoder += e_macs[i];
  }
  CHECK(encoder == 109571072);
  // Decoder: 100->512 to 4x4, 512->256 to 8x8, 256->128 to 16x16, 128->64 to 32x32,
  // 64->3 to 64x64; transposed: in_c * in_side^2 * out_c * 16.
  const auto d = decoder_layers(64, 3, 64, 100);
  REQUIRE(d.size() == 5);
  const int64_t d_macs[] = {100 * 1 * 512 * 16, 512 * 4 * 4 * 256 * 16, 256 * 8 * 8 * 128 * 16,
                            128 * 16 * 16 * 64 * 16, 64 * 32 * 32 * 3 * 16};
  int64_t decoder = 0;
  for (int i = 0; i < 5; ++i) {
    CHECK(d[i].macs() == d_macs[i]);
    decoder += d_macs[i];
  }
  CHECK(d.back().out_side == 64);
  CHECK(d.back().out_c == 3);
  // The discriminator is the encoder with one output channel.
  const int64_t disc = encoder - 100 * 512 * 16 + 512 * 16, e1 = e_macs[0], d1 = e_macs[0];
  const StepFlops f = step_flops(64);
  CHECK(f.score == doctest::Approx(2.0 * (2 * encoder + decoder)));
  CHECK(f.train == doctest::Approx(2.0 * ((2 * encoder + decoder + 3 * disc) + (disc + 4 * encoder + 2 * decoder - e1) +
                                          2 * (2 * disc - d1))));
  // Parameters: weights, and batch norm's scale and shift on the middle layers; the
  // bench checks this count against the model's own.
  int64_t params = 0;
  for (int i = 0; i < 5; ++i) params += e_macs[i] / (e[i].out_side * e[i].out_side);
  params += 2 * (128 + 256 + 512);
  int64_t dec_params = 0;
  for (int i = 0; i < 5; ++i) dec_params += d[i].in_c * d[i].out_c * 16;
  dec_params += 2 * (512 + 256 + 128 + 64);
  const int64_t disc_params = params - 100 * 512 * 16 + 512 * 16;
  CHECK(f.params == 2 * params + dec_params + disc_params);
  CHECK_THROWS_AS(step_flops(48), std::invalid_argument);
}
