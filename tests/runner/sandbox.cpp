// The runner with nodes that attack their run (exec/sandbox.hpp): in the
// sandbox the journal, the other versions and the run folder stay as the
// runner wrote them and the search goes on; unconfined, the same nodes do damage.
#include <speedrunner/runner.hpp>
#include <speedrunner/search/bon.hpp>

#include "catch.hpp"
#include "doubles.hpp"
#include "support.hpp"

namespace sr = speedrunner;
namespace ws = speedrunner::workspace;
using namespace speedrunner::testing;

namespace {

using ScoreRunner = sr::Runner<sr::search::BoN, ScriptedIdeator, ScriptedCoder>;

// score_task, whose nodes first try to wreck the run around them.
sr::Task hostile_task(const std::filesystem::path& template_dir) {
  auto t = score_task(template_dir);
  t.launch_command = "rm -rf ../v_0 ../journal.json; echo broken > ../journal.json; touch ../pwned; " + t.launch_command;
  return t;
}

sr::Result<sr::Summary> run(const std::filesystem::path& root, sr::exec::SandboxKind sandbox) {
  ScriptedCoder coder;
  coder.edit = score_edit;
  sr::exec::LocalOptions local{.slots = 2, .kill_grace = std::chrono::milliseconds(200)};
  local.sandbox.kind = sandbox;
  ScoreRunner runner(sr::search::BoN{.n_initial_hypotheses = 2, .n_hypotheses = 1}, ScriptedIdeator{}, std::move(coder),
                     sr::exec::Local(local), hostile_task(root / "template"),
                     {.n_iterations = 2, .max_n_nodes = 10, .poll_interval = std::chrono::milliseconds(5)});
  return runner.start(root / "run");
}

}  // namespace

TEST_CASE("nodes that attack the run leave the journal and other versions intact", "[runner][sandbox]") {
  TempDir tmp;
  auto s = run(tmp.path(), sr::exec::SandboxKind::bwrap);
  REQUIRE(s.has_value());
  CHECK(s->code == sr::ExitCode::ok);
  auto j = ws::Journal::load(tmp.path() / "run" / "journal.json");
  REQUIRE(j.has_value());
  REQUIRE(j->n_nodes() == 3);
  for (const auto& n : j->nodes) CHECK(n.finished());
  CHECK(j->at(3).metrics.at("score") == 30);
  CHECK(std::filesystem::exists(tmp.path() / "run" / "v_0" / "score.txt"));
  CHECK_FALSE(std::filesystem::exists(tmp.path() / "run" / "pwned"));
}

TEST_CASE("unconfined, the same nodes delete the parent version", "[runner][sandbox]") {
  TempDir tmp;
  (void)run(tmp.path(), sr::exec::SandboxKind::off);
  CHECK_FALSE(std::filesystem::exists(tmp.path() / "run" / "v_0"));
  CHECK(std::filesystem::exists(tmp.path() / "run" / "pwned"));
}

TEST_CASE("a node that fills its folder is stopped at the disk limit; the run and its journal go on",
          "[runner][sandbox][limits]") {
  TempDir tmp;
  ScriptedCoder coder;
  coder.edit = score_edit;
  sr::exec::LocalOptions local{.slots = 1, .kill_grace = std::chrono::milliseconds(200)};
  local.sandbox.limits.disk_mb = 2;
  auto task = score_task(tmp.path() / "template");
  // many files, each under every per-file limit, that add up without end
  task.launch_command = "i=0; while :; do head -c 500000 /dev/zero > fill$i; i=$((i+1)); sleep 0.02; done";
  task.timeout = std::chrono::seconds(60);
  ScoreRunner runner(sr::search::BoN{.n_initial_hypotheses = 1, .n_hypotheses = 1}, ScriptedIdeator{}, std::move(coder),
                     sr::exec::Local(local), task,
                     {.n_iterations = 1, .max_n_nodes = 5, .poll_interval = std::chrono::milliseconds(5)});
  auto s = runner.start(tmp.path() / "run");
  REQUIRE(s.has_value());
  auto j = ws::Journal::load(tmp.path() / "run" / "journal.json");
  REQUIRE(j.has_value());
  REQUIRE(j->n_nodes() == 1);  // v_1 (v_0 is not counted)
  const auto& n = j->at(1);
  INFO(n.outcome);
  CHECK(n.finished());
  CHECK(n.buggy());
  CHECK(n.outcome.find("stopped early: its folder holds more than its disk limit of 2 MB (executor.limits.disk_mb)") !=
        std::string::npos);
  CHECK(n.timings.execute_s < 20.0);  // stopped at the limit, long before the node's time limit
  // well short of unbounded: the quota is looked at once a second
  CHECK(sr::exec::folder_bytes(tmp.path() / "run" / "v_1") < 60u * 1024 * 1024);
  CHECK(j->at(0).finished());
  CHECK(std::filesystem::exists(tmp.path() / "run" / "v_0" / "score.txt"));
}
