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

TEST_CASE("the shipped templates hold baselines for every step on both tracks", "[metrics][run_scores][shipped]") {
  const auto templates = speedrunner::testing::source_root() / "workspace_templates" / "nanogpt_speedrun";
  for (int r = 1; r <= 4; ++r) {
    INFO("record " << r);
    auto fineweb = m::load_baseline(templates, r, "fineweb");
    REQUIRE(fineweb);
    CHECK(fineweb->next_ms < fineweb->record_ms);  // the public re-timed records get faster
    auto mini = m::load_baseline(templates, r, "mini");
    REQUIRE(mini);
    CHECK(mini->next_ms < mini->record_ms);  // calibrated so that every step is a speedup
  }
  CHECK(m::load_baseline(templates, 1, "fineweb")->record_ms == Approx(2968348));  // shared/RECORDS.md
}
