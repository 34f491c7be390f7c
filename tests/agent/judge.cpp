// Tests for include/speedrunner/agent/judge.hpp with the replay model: the
// verdict is validated (score in [0, 1], reasons given), a rejected answer is
// sent back with the reason, and judge.json reads back what was written.
#include <speedrunner/agent/judge.hpp>
#include <speedrunner/llm/replay.hpp>

#include "catch.hpp"
#include "support.hpp"

namespace agent = speedrunner::agent;
namespace llm = speedrunner::llm;
using speedrunner::testing::TempDir;

namespace {
agent::JudgeSettings shipped() {
  agent::JudgeSettings s;
  s.prompt_dir = speedrunner::testing::source_root() / "config/prompts";
  return s;
}
const agent::JudgeRequest request{"Make training faster.", "diff --git a/adam.cuh b/muon.cuh\n+muon\n",
                                  "diff --git a/train.cpp b/train.cpp\n+lr *= 2\n", 2};
}  // namespace

TEST_CASE("the judge's verdict is the model's validated JSON; the prompt holds both diffs", "[agent][judge]") {
  auto model = llm::ReplayModel::from_text(
      R"({"agent": "judge", "answer": "{\"score\": 0.25, \"reasons\": [\"Muon is missing\", \"the schedule matches\"]}", "expect": "+lr *= 2"})",
      "inline");
  REQUIRE(model.has_value());
  auto judge = agent::Judge<llm::ReplayModel>::create(std::move(*model), shipped());
  REQUIRE(judge.has_value());
  auto v = judge->judge(request);
  REQUIRE(v.has_value());
  CHECK(v->score == Approx(0.25));
  CHECK(v->reasons == std::vector<std::string>{"Muon is missing", "the schedule matches"});
}

TEST_CASE("a score outside [0, 1] or no reasons is rejected and asked again", "[agent][judge]") {
  auto model = llm::ReplayModel::from_text(
      "{\"answer\": \"{\\\"score\\\": 1.4, \\\"reasons\\\": [\\\"all of it\\\"]}\"}\n"
      "{\"answer\": \"{\\\"score\\\": 0.9, \\\"reasons\\\": [\\\" \\\"]}\", \"expect\": \"give a number from 0\"}\n"
      "{\"answer\": \"{\\\"score\\\": 1, \\\"reasons\\\": [\\\"Muon, as the record\\\"]}\", \"expect\": \"give at least one reason\"}\n",
      "inline");
  REQUIRE(model.has_value());
  auto judge = agent::Judge<llm::ReplayModel>::create(std::move(*model), shipped());
  REQUIRE(judge.has_value());
  auto v = judge->judge(request);
  REQUIRE(v.has_value());  // the third answer; the replay model checked each retry quoted the rejection
  CHECK(v->score == Approx(1.0));
  CHECK(v->reasons.size() == 1);

  CHECK_FALSE(agent::VerdictCheck{}("{\"score\": -0.1, \"reasons\": [\"x\"]}").has_value());
  CHECK_FALSE(agent::VerdictCheck{}("{\"score\": \"high\", \"reasons\": [\"x\"]}").has_value());
  CHECK_FALSE(agent::VerdictCheck{}("no JSON here").has_value());
}

TEST_CASE("judge.json round-trips, and a damaged one is an error naming the file", "[agent][judge]") {
  TempDir dir;
  agent::Judgement j{0.5, {"half"}, "v_3", 1, "replay", "level_0_diff.txt", "2026-01-01T00:00:00Z"};
  REQUIRE(speedrunner::workspace::write_file_atomic(dir.path() / "judge.json",
                                                    boost::json::serialize(agent::judgement_json(j))));
  auto back = agent::load_judgement(dir.path() / "judge.json");
  REQUIRE(back.has_value());
  CHECK(back->score == 0.5);
  CHECK(back->node == "v_3");
  CHECK(back->record == 1);
  CHECK(back->reasons == std::vector<std::string>{"half"});
  REQUIRE(speedrunner::workspace::write_file_atomic(dir.path() / "bad.json", "{\"score\": 3}"));
  auto bad = agent::load_judgement(dir.path() / "bad.json");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().what.find("bad.json") != std::string::npos);
}
