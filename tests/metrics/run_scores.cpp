// Tests for include/speedrunner/metrics/run_scores.hpp: scoring run
// directories (config.json + journal.json) against templates' results.json.
#include <speedrunner/metrics/run_scores.hpp>

#include "catch.hpp"
#include "support.hpp"

#include <fstream>

namespace m = speedrunner::metrics;
namespace fs = std::filesystem;
using speedrunner::testing::TempDir;

namespace {

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

// Templates record_1..3 with mini-track times 100, 60, 50 s.
void write_templates(const fs::path& dir) {
  const double ms[] = {100000, 60000, 50000};
  for (int r = 1; r <= 3; ++r)
    write(dir / ("record_" + std::to_string(r)) / "results.json",
          R"({"record": )" + std::to_string(r) + R"(, "tracks": {"mini": {"train_time_ms": )" +
              std::to_string(ms[r - 1]) + R"(}, "fineweb": {"train_time_ms": )" + std::to_string(ms[r - 1] * 30) + "}}}");
}

void write_run(const fs::path& run, const std::string& task, const std::string& nodes) {
  write(run / "config.json", R"({"task": )" + task + "}");
  write(run / "journal.json", R"({"selection": {"metric": "train_time", "lower_is_better": true}, "nodes": [)" + nodes + "]}");
}

}  // namespace

TEST_CASE("a run from record 1 is scored against records 1 and 2 of its track", "[metrics][run_scores]") {
  TempDir dir;
  write_templates(dir.path() / "templates");
  write_run(dir.path() / "run",
            R"({"record": 1, "track": "mini", "selection": {"metric": "train_time", "direction": "lower"}})",
            R"({"id": 0, "results": {"valid": false, "metrics": {}}},
               {"id": 1, "results": {"valid": true, "metrics": {"train_time": 80000, "val_loss": 4.4}}},
               {"id": 2, "results": {"valid": false, "metrics": {"train_time": 1000, "val_loss": 9.0}}})");
  auto s = m::score_run(dir.path() / "run", dir.path() / "templates");
  REQUIRE(s);
  CHECK(s->record == 1);
  CHECK(s->track == "mini");
  CHECK(s->baseline.record_ms == Approx(100000));
  CHECK(s->baseline.next_ms == Approx(60000));
  CHECK(s->agent_ms == Approx(80000));
  CHECK(s->fsr == Approx(0.5));
  CHECK(s->nodes == 3);
  CHECK(s->valid_nodes == 1);
}

TEST_CASE("the record comes from template_dir when task.record is missing; the track picks the baselines",
          "[metrics][run_scores]") {
  TempDir dir;
  write_templates(dir.path() / "templates");
  // flat node layout (meta and results in one object) is read too
  write_run(dir.path() / "run", R"({"template_dir": "workspace_templates/nanogpt_speedrun/record_2", "track": "fineweb"})",
            R"({"id": 0, "valid": true, "metrics": {"train_time": 1800000}},
               {"id": 1, "valid": true, "metrics": {"train_time": 1650000}})");
  auto s = m::score_run(dir.path() / "run", dir.path() / "templates");
  REQUIRE(s);
  CHECK(s->record == 2);
  CHECK(s->baseline.record_ms == Approx(1800000));
  CHECK(s->baseline.next_ms == Approx(1500000));
  CHECK(s->fsr == Approx(0.5));
}

TEST_CASE("runs that cannot be scored say why and what to do", "[metrics][run_scores]") {
  TempDir dir;
  write_templates(dir.path() / "templates");
  SECTION("not a run directory") {
    auto s = m::score_run(dir.path() / "nothing", dir.path() / "templates");
    REQUIRE_FALSE(s);
    CHECK(s.error().what.find("config.json") != std::string::npos);
  }
  SECTION("a task that is not a record") {
    write_run(dir.path() / "run", R"({"name": "collatz", "template_dir": "workspace_templates/collatz"})", R"({"id": 0})");
    auto s = m::score_run(dir.path() / "run", dir.path() / "templates");
    REQUIRE_FALSE(s);
    CHECK(s.error().what.find("names no record") != std::string::npos);
  }
  SECTION("no template for record R+1") {
    write_run(dir.path() / "run", R"({"record": 3, "track": "mini"})", R"({"id": 0})");
    auto s = m::score_run(dir.path() / "run", dir.path() / "templates");
    REQUIRE_FALSE(s);
    CHECK(s.error().what.find("record_4") != std::string::npos);
    CHECK(s.error().fix.find("--templates") != std::string::npos);
  }
  SECTION("a damaged journal") {
    write(dir.path() / "run" / "config.json", R"({"task": {"record": 1}})");
    write(dir.path() / "run" / "journal.json", "{not json");
    auto s = m::score_run(dir.path() / "run", dir.path() / "templates");
    REQUIRE_FALSE(s);
    CHECK(s.error().what.find("journal.json") != std::string::npos);
  }
}

TEST_CASE("a run is scored only against baselines measured at its target and on its validation tokens",
          "[metrics][run_scores][target]") {
  TempDir dir;
  const auto templates = dir.path() / "templates";
  for (int r = 1; r <= 2; ++r)
    write(templates / ("record_" + std::to_string(r)) / "results.json",
          R"({"tracks": {"mini": {"train_time_ms": )" + std::to_string(r == 1 ? 100000 : 60000) +
              R"(, "target_val_loss": 3.5, "val_tokens": 1048576}}})");
  const std::string nodes = R"({"id": 1, "results": {"valid": true, "metrics": {"train_time": 80000}}})";
  SECTION("the same target and validation tokens") {
    write_run(dir.path() / "run",
              R"({"record": 1, "track": "mini", "tracks": {"mini": {"target_val_loss": 3.5, "val_tokens": 1048576}}})",
              nodes);
    auto s = m::score_run(dir.path() / "run", templates);
    REQUIRE(s);
    CHECK(s->fsr == Approx(0.5));
  }
  SECTION("a run to another target (task.tracks.T)") {
    write_run(dir.path() / "run", R"({"record": 1, "track": "mini", "tracks": {"mini": {"target_val_loss": 4.75}}})", nodes);
    auto s = m::score_run(dir.path() / "run", templates);
    REQUIRE_FALSE(s);
    CHECK(s.error().what.find("target validation loss 4.75 (config.json, task.tracks.mini.target_val_loss)") !=
          std::string::npos);
    CHECK(s.error().what.find("record 1's baseline was measured at 3.5") != std::string::npos);
    CHECK(s.error().fix.find("calibrate") != std::string::npos);
  }
  SECTION("a run to another target (task.data, the track's resolved settings)") {
    write_run(dir.path() / "run", R"({"record": 1, "track": "mini", "data": {"target_val_loss": 3.6}})", nodes);
    auto s = m::score_run(dir.path() / "run", templates);
    REQUIRE_FALSE(s);
    CHECK(s.error().what.find("3.6 (config.json, task.data.target_val_loss)") != std::string::npos);
  }
  SECTION("a run on other validation tokens") {
    write_run(dir.path() / "run", R"({"record": 1, "track": "mini", "data": {"target_val_loss": 3.5, "val_tokens": 524288}})",
              nodes);
    auto s = m::score_run(dir.path() / "run", templates);
    REQUIRE_FALSE(s);
    CHECK(s.error().what.find("validation tokens 524288") != std::string::npos);
  }
  SECTION("a run that records neither is scored as before") {
    write_run(dir.path() / "run", R"({"record": 1, "track": "mini"})", nodes);
    CHECK(m::score_run(dir.path() / "run", templates));
  }
}

TEST_CASE("baselines come from a calibration on the card the run trained on, when both records have one",
          "[metrics][run_scores][cards]") {
  TempDir dir;
  const auto templates = dir.path() / "templates";
  // main calibrations on an H200 (100, 60, 50 s); records 1 and 2 also on an H100 (110, 70 s)
  const double h200[] = {100000, 60000, 50000};
  for (int r = 1; r <= 3; ++r) {
    std::string other = r <= 2 ? R"x(, "other_cards": [{"card": "NVIDIA H100 80GB HBM3 (one GPU of a 1-GPU machine)", )x"
                                 R"("train_time_ms": )" + std::to_string(r == 1 ? 110000 : 70000) +
                                     R"(, "train_time_ms_min": 1, "train_time_ms_max": 200000}])"
                               : "";
    write(templates / ("record_" + std::to_string(r)) / "results.json",
          R"x({"tracks": {"mini": {"card": "NVIDIA H200 (one GPU of a 4-GPU machine, 4 runs side by side)", )x"
          R"("train_time_ms": )" + std::to_string(h200[r - 1]) + other + "}}}");
  }
  const std::string nodes = R"({"id": 0, "results": {"valid": false, "metrics": {}}},
                               {"id": 1, "results": {"valid": true, "metrics": {"train_time": 65000}}})";
  const std::string h100_log = "model: 12 layers\nbatch: 32 x 1024 tokens x 1 micro-steps x 1 GPUs (NVIDIA H100 80GB HBM3) "
                               "= 32768 tokens per step; 32 val batches\nstep:0/10 val_loss:11.0\n";

  SECTION("an H100 run from record 1: both records have H100 times") {
    write_run(dir.path() / "run", R"({"record": 1, "track": "mini"})", nodes);
    write(dir.path() / "run" / "v_1" / "stdout.log", h100_log);
    auto s = m::score_run(dir.path() / "run", templates);
    REQUIRE(s);
    CHECK(s->run_cards == std::vector<std::string>{"NVIDIA H100 80GB HBM3"});
    CHECK(s->baseline_card == "NVIDIA H100 80GB HBM3");
    CHECK(s->baseline.record_ms == Approx(110000));
    CHECK(s->baseline.next_ms == Approx(70000));
    CHECK(s->baseline.record_min_ms == Approx(1));
    CHECK(s->fsr == Approx((110000.0 - 65000) / (110000 - 70000)));
  }
  SECTION("an H100 run from record 2: record 3 has no H100 time, so both come from the H200") {
    write_run(dir.path() / "run", R"({"record": 2, "track": "mini"})",
              R"({"id": 0, "results": {"valid": false, "metrics": {}}},
                 {"id": 1, "results": {"valid": true, "metrics": {"train_time": 55000}}})");
    write(dir.path() / "run" / "v_1" / "stdout.log", h100_log);
    auto s = m::score_run(dir.path() / "run", templates);
    REQUIRE(s);
    CHECK(s->baseline_card == "NVIDIA H200");
    CHECK(s->baseline.record_ms == Approx(60000));
    CHECK(s->baseline.next_ms == Approx(50000));
  }
  SECTION("a run whose logs name no card is scored against the main calibration") {
    write_run(dir.path() / "run", R"({"record": 1, "track": "mini"})", nodes);
    auto s = m::score_run(dir.path() / "run", templates);
    REQUIRE(s);
    CHECK(s->run_cards.empty());
    CHECK(s->baseline_card == "NVIDIA H200");
    CHECK(s->baseline.record_ms == Approx(100000));
  }
  SECTION("an H200 run uses the main calibration") {
    write_run(dir.path() / "run", R"({"record": 1, "track": "mini"})", nodes);
    write(dir.path() / "run" / "v_1" / "stdout.log",
          "batch: 32 x 1024 tokens x 1 micro-steps x 1 GPUs (NVIDIA H200) = 32768 tokens per step; 32 val batches\n");
    auto s = m::score_run(dir.path() / "run", templates);
    REQUIRE(s);
    CHECK(s->baseline_card == "NVIDIA H200");
    CHECK(s->baseline.record_ms == Approx(100000));
  }
  SECTION("a step whose next record is not faster on the run's card is refused, naming the card") {
    write(templates / "record_2" / "results.json",
          R"({"tracks": {"mini": {"card": "NVIDIA H200", "train_time_ms": 60000, "other_cards": [)"
          R"({"card": "NVIDIA H100 80GB HBM3", "train_time_ms": 120000}]}}})");
    write_run(dir.path() / "run", R"({"record": 1, "track": "mini"})", nodes);
    write(dir.path() / "run" / "v_1" / "stdout.log", h100_log);
    auto s = m::score_run(dir.path() / "run", templates);
    REQUIRE_FALSE(s);
    CHECK(s.error().message().find("not faster") != std::string::npos);
    CHECK(s.error().message().find("baselines measured on NVIDIA H100 80GB HBM3") != std::string::npos);
  }
}

TEST_CASE("a step labelled no_gain by the next record is not scored, whatever its times", "[metrics][run_scores]") {
  TempDir dir;
  write_templates(dir.path() / "templates");
  // record 3 is faster than record 2 (50 against 60 s), but its results.json labels the step on the mini track
  write(dir.path() / "templates" / "record_3" / "results.json",
        R"({"tracks": {"mini": {"train_time_ms": 50000, "no_gain": "one GPU: nothing to share"}, )"
        R"("fineweb": {"train_time_ms": 1500000}}})");
  const std::string nodes = R"({"id": 1, "results": {"valid": true, "metrics": {"train_time": 55000}}})";
  write_run(dir.path() / "run", R"({"record": 2, "track": "mini"})", nodes);
  auto s = m::score_run(dir.path() / "run", dir.path() / "templates");
  REQUIRE_FALSE(s);
  CHECK(s.error().kind == "no_speedup");
  CHECK(s.error().message().find("(record 2 -> 3, mini): no gain on this track: one GPU: nothing to share") !=
        std::string::npos);
  // the label is per track: on fineweb the same step is scored
  write_run(dir.path() / "fw", R"({"record": 2, "track": "fineweb"})",
            R"({"id": 1, "results": {"valid": true, "metrics": {"train_time": 1650000}}})");
  auto fw = m::score_run(dir.path() / "fw", dir.path() / "templates");
  REQUIRE(fw);
  CHECK(fw->fsr == Approx(0.5));
  // record 3's label says nothing about the step from record 3
  write(dir.path() / "templates" / "record_4" / "results.json", R"({"tracks": {"mini": {"train_time_ms": 40000}}})");
  write_run(dir.path() / "r3", R"({"record": 3, "track": "mini"})",
            R"({"id": 1, "results": {"valid": true, "metrics": {"train_time": 45000}}})");
  auto next = m::score_run(dir.path() / "r3", dir.path() / "templates");
  REQUIRE(next);
  CHECK(next->fsr == Approx(0.5));
}

TEST_CASE("the shipped templates hold baselines for every step on both tracks", "[metrics][run_scores][shipped]") {
  const auto templates = speedrunner::testing::source_root() / "workspace_templates" / "nanogpt_speedrun";
  for (int r = 1; r <= 4; ++r) {
    INFO("record " << r);
    auto fineweb = m::load_baseline(templates, r, "fineweb");
    REQUIRE(fineweb);
    CHECK(fineweb->baseline.next_ms < fineweb->baseline.record_ms);  // the public re-timed records get faster
    auto mini = m::load_baseline(templates, r, "mini");
    REQUIRE(mini);
    CHECK(mini->baseline.next_ms < mini->baseline.record_ms);  // calibrated so that every step is a speedup
  }
  CHECK(m::load_baseline(templates, 1, "fineweb")->baseline.record_ms == Approx(2968348));  // shared/RECORDS.md
}

TEST_CASE("a run on pinned data is scored only against baselines calibrated on that data, naming both",
          "[metrics][run_scores][data]") {
  TempDir dir;
  const auto templates = dir.path() / "templates";
  auto write_records = [&](const std::string& hash1, const std::string& hash2) {
    for (int r = 1; r <= 2; ++r) {
      const std::string& h = r == 1 ? hash1 : hash2;
      write(templates / ("record_" + std::to_string(r)) / "results.json",
            R"({"tracks": {"mini": {"train_time_ms": )" + std::to_string(r == 1 ? 100000 : 60000) +
                (h.empty() ? std::string() : R"(, "data_hash": ")" + h + "\"") + "}}}");
    }
  };
  const std::string nodes = R"({"id": 1, "results": {"valid": true, "metrics": {"train_time": 80000}}})";
  const std::string a(32, 'a'), b(32, 'b');
  SECTION("the same data") {
    write_records(a, a);
    write_run(dir.path() / "run", R"({"record": 1, "track": "mini", "data": {"data_hash": ")" + a + "\"}}", nodes);
    auto s = m::score_run(dir.path() / "run", templates);
    REQUIRE(s);
    CHECK(s->fsr == Approx(0.5));
  }
  SECTION("other data: both hashes and where they come from") {
    write_records(a, b);
    write_run(dir.path() / "run", R"({"record": 1, "track": "mini", "tracks": {"mini": {"data_hash": ")" + a + "\"}}}", nodes);
    auto s = m::score_run(dir.path() / "run", templates);
    REQUIRE_FALSE(s);
    CHECK(s.error().what.find("trained on data " + a + " (config.json, task.tracks.mini.data_hash)") != std::string::npos);
    CHECK(s.error().what.find("record 2's baseline") != std::string::npos);
    CHECK(s.error().what.find("was measured on data " + b) != std::string::npos);
    CHECK(s.error().fix.find("calibrate the records on the run's data") != std::string::npos);
  }
  SECTION("baselines from before the data was defined") {
    write_records("", "");
    write_run(dir.path() / "run", R"({"record": 1, "track": "mini", "data": {"data_hash": ")" + a + "\"}}", nodes);
    auto s = m::score_run(dir.path() / "run", templates);
    REQUIRE_FALSE(s);
    CHECK(s.error().what.find("names no data_hash") != std::string::npos);
  }
  SECTION("a run from before the pin is scored as before") {
    write_records(a, a);
    write_run(dir.path() / "run", R"({"record": 1, "track": "mini"})", nodes);
    CHECK(m::score_run(dir.path() / "run", templates));
  }
}
