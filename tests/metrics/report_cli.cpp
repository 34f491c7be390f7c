// Tests for `speedrun report` (runner/report.cpp) on run directories written
// here: the per-run table, per-record means, the labelled top-k variant, errors.
#include "catch.hpp"
#include "support.hpp"

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using speedrunner::testing::run_shell;
using speedrunner::testing::speedrun_exe;
using speedrunner::testing::TempDir;

namespace {

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

// templates record_1 (100 s) and record_2 (60 s); a run from record 1 whose best valid node took `ms`.
void write_run(const fs::path& root, const std::string& name, double ms) {
  write(root / name / "config.json", R"({"task": {"record": 1, "track": "mini"}})");
  write(root / name / "journal.json", R"({"nodes": [{"id": 0, "results": {"valid": false}},
    {"id": 1, "results": {"valid": true, "metrics": {"train_time": )" + std::to_string(ms) + "}}}]}");
}

}  // namespace

TEST_CASE("speedrun report prints each run's FSR, the per-record mean and the labelled top-k mean", "[runner][report]") {
  TempDir dir;
  write(dir.path() / "t/record_1/results.json",
        R"({"tracks": {"mini": {"train_time_ms": 100000, "train_time_ms_min": 98000, "train_time_ms_max": 104000}}})");
  write(dir.path() / "t/record_2/results.json", R"({"tracks": {"mini": {"train_time_ms": 60000}}})");
  write_run(dir.path(), "run_a", 80000);  // FSR 0.5
  write_run(dir.path(), "run_b", 64000);  // FSR 0.9
  const std::string cmd = speedrun_exe() + " report " + (dir.path() / "run_a").string() + " " +
                          (dir.path() / "run_b").string() + " --templates " + (dir.path() / "t").string();
  auto r = run_shell(cmd);
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(r.output.find("0.500") != std::string::npos);
  CHECK(r.output.find("0.900") != std::string::npos);
  // record 1's runs took 98-104 s: run_a's FSR spans (98-80)/38 to (104-80)/44
  CHECK(r.output.find("0.474-0.545") != std::string::npos);
  CHECK(r.output.find("mean FSR over 1 record(s): 0.700") != std::string::npos);
  CHECK(r.output.find("top-1-across-runs FSR (the original benchmark's variant), mean over records: 0.900") !=
        std::string::npos);
  auto k2 = run_shell(cmd + " --top-k 2");
  CHECK(k2.output.find("top-2-across-runs FSR (the original benchmark's variant), mean over records: 0.700") !=
        std::string::npos);
}

TEST_CASE("speedrun report says when a run's baselines were measured on another card", "[runner][report][cards]") {
  TempDir dir;
  write(dir.path() / "t/record_1/results.json", R"({"tracks": {"mini": {"card": "NVIDIA H200", "train_time_ms": 100000}}})");
  write(dir.path() / "t/record_2/results.json", R"({"tracks": {"mini": {"card": "NVIDIA H200", "train_time_ms": 60000}}})");
  write_run(dir.path(), "run_h100", 80000);
  write(dir.path() / "run_h100/v_1/stdout.log",
        "batch: 32 x 1024 tokens x 1 micro-steps x 1 GPUs (NVIDIA H100 80GB HBM3) = 32768 tokens per step\n");
  write_run(dir.path(), "run_h200", 70000);
  write(dir.path() / "run_h200/v_1/stdout.log",
        "batch: 32 x 1024 tokens x 1 micro-steps x 1 GPUs (NVIDIA H200) = 32768 tokens per step\n");
  auto r = run_shell(speedrun_exe() + " report " + (dir.path() / "run_h100").string() + " " +
                     (dir.path() / "run_h200").string() + " --templates " + (dir.path() / "t").string());
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(r.output.find("run_h100 trained on NVIDIA H100 80GB HBM3, but results.json has no calibration of records 1 "
                      "and 2 on it, so its FSR uses times measured on NVIDIA H200") != std::string::npos);
  CHECK(r.output.find("run_h200 trained on") == std::string::npos);  // its own card: nothing to say
  CHECK(r.output.find("baselines measured on: NVIDIA H200 (2 runs)") != std::string::npos);
}

TEST_CASE("speedrun report fails clearly on bad arguments and unscorable runs", "[runner][report]") {
  TempDir dir;
  auto none = run_shell(speedrun_exe() + " report");
  CHECK(none.status == 2);
  CHECK(none.output.find("no run directory") != std::string::npos);
  auto bad_k = run_shell(speedrun_exe() + " report x --top-k zero");
  CHECK(bad_k.status == 2);
  CHECK(bad_k.output.find("--top-k") != std::string::npos);
  auto missing = run_shell(speedrun_exe() + " report " + (dir.path() / "nope").string());
  CHECK(missing.status == 1);
  CHECK(missing.output.find("config.json") != std::string::npos);
  CHECK(missing.output.find("could not be scored") != std::string::npos);
}

TEST_CASE("speedrun report labels an FSR scored against the original's times, not ours", "[runner][report][fineweb]") {
  TempDir dir;
  const std::string source = "the original's PyTorch re-timing on 8x H100, not a measurement of these templates";
  for (int r = 1; r <= 2; ++r)
    write(dir.path() / ("t/record_" + std::to_string(r) + "/results.json"),
          R"({"tracks": {"mini": {"train_time_ms": 1}, "fineweb": {"train_time_ms": )" + std::to_string(r == 1 ? 100000 : 60000) +
              R"(, "source": ")" + source + R"("}}})");
  write(dir.path() / "fw/config.json", R"({"task": {"record": 1, "track": "fineweb"}})");
  write(dir.path() / "fw/journal.json", R"({"nodes": [{"id": 1, "results": {"valid": true, "metrics": {"train_time": 80000}}}]})");
  write_run(dir.path(), "mini", 1);
  auto r = run_shell(speedrun_exe() + " report " + (dir.path() / "fw").string() + " --templates " + (dir.path() / "t").string());
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(r.output.find("fw is scored against times that are not this project's measurements of its templates: " + source) !=
        std::string::npos);
  // a run scored against our own calibration gets no such note
  write(dir.path() / "t/record_1/results.json", R"({"tracks": {"mini": {"train_time_ms": 100000}}})");
  write(dir.path() / "t/record_2/results.json", R"({"tracks": {"mini": {"train_time_ms": 60000}}})");
  auto own = run_shell(speedrun_exe() + " report " + (dir.path() / "mini").string() + " --templates " + (dir.path() / "t").string());
  CHECK(own.output.find("not this project's measurements") == std::string::npos);
}

TEST_CASE("speedrun report keeps a step whose next record is not faster, labelled and out of the means",
          "[runner][report][no_speedup]") {
  TempDir dir;
  // record 1 -> 2 has a speedup; record 2 -> 3 has none on this track
  write(dir.path() / "t/record_1/results.json", R"({"tracks": {"mini": {"train_time_ms": 100000}}})");
  write(dir.path() / "t/record_2/results.json", R"({"tracks": {"mini": {"train_time_ms": 60000}}})");
  write(dir.path() / "t/record_3/results.json", R"({"tracks": {"mini": {"train_time_ms": 61000}}})");
  write_run(dir.path(), "run_1", 80000);  // FSR 0.5
  write(dir.path() / "run_2/config.json", R"({"task": {"record": 2, "track": "mini"}})");
  write(dir.path() / "run_2/journal.json", R"({"nodes": [{"id": 0, "results": {"valid": true, "metrics": {"train_time": 59000}}}]})");
  auto r = run_shell(speedrun_exe() + " report " + (dir.path() / "run_1").string() + " " +
                     (dir.path() / "run_2").string() + " --templates " + (dir.path() / "t").string());
  INFO(r.output);
  CHECK(r.status == 0);  // nothing failed: the step is measured, it just has no speedup to recover
  CHECK(r.output.find("mean FSR over 1 record(s): 0.500") != std::string::npos);
  CHECK(r.output.find("left out of every mean above") != std::string::npos);
  CHECK(r.output.find("run_2") != std::string::npos);
  CHECK(r.output.find("no gain on this track: record R+1 (61000") != std::string::npos);
  CHECK(r.output.find("is not faster than record R (60000") != std::string::npos);
}

TEST_CASE("speedrun report leaves out a step labelled no_gain in the next record's results.json, with its reason",
          "[runner][report][no_speedup]") {
  TempDir dir;
  // record 2 is faster than record 1 by noise alone (same code): its results.json says so
  write(dir.path() / "t/record_1/results.json", R"({"tracks": {"mini": {"train_time_ms": 100000}}})");
  write(dir.path() / "t/record_2/results.json",
        R"({"tracks": {"mini": {"train_time_ms": 99800, "no_gain": "record 2 is record 1's code on a newer framework"}}})");
  write_run(dir.path(), "run_1", 99900);  // would score 0.5 against 100000 -> 99800
  auto r = run_shell(speedrun_exe() + " report " + (dir.path() / "run_1").string() + " --templates " +
                     (dir.path() / "t").string());
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK(r.output.find("mean FSR") == std::string::npos);  // no scored run, so no mean
  CHECK(r.output.find("left out of every mean above") != std::string::npos);
  CHECK(r.output.find("(record 1 -> 2, mini): no gain on this track: record 2 is record 1's code on a newer framework") !=
        std::string::npos);
  // a no_gain that is not a sentence is an error naming the file and the key
  write(dir.path() / "t/record_2/results.json", R"({"tracks": {"mini": {"train_time_ms": 99800, "no_gain": true}}})");
  auto bad = run_shell(speedrun_exe() + " report " + (dir.path() / "run_1").string() + " --templates " +
                       (dir.path() / "t").string());
  CHECK(bad.status != 0);
  CHECK(bad.output.find("record_2/results.json: tracks.mini.no_gain must be a sentence") != std::string::npos);
}
