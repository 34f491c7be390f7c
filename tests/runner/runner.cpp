// Tests of include/speedrunner/runner.hpp: the loop on a scripted task, stopping
// rules, signals, and resume after a kill in each phase of a node.
#include <speedrunner/runner.hpp>
#include <speedrunner/search/aide.hpp>
#include <speedrunner/search/bon.hpp>

#include "catch.hpp"
#include "doubles.hpp"
#include "support.hpp"

#include <csignal>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

namespace sr = speedrunner;
namespace ws = speedrunner::workspace;
using namespace speedrunner::testing;
using sr::ideate::Stage;

namespace {

using ScoreRunner = sr::Runner<sr::search::BoN, ScriptedIdeator, ScriptedCoder>;

ScoreRunner score_runner(const sr::Task& task, sr::RunControl control, sr::Hooks hooks = {},
                         sr::search::BoN bon = {.n_initial_hypotheses = 2, .n_hypotheses = 1}) {
  ScriptedCoder coder;
  coder.edit = score_edit;
  control.poll_interval = std::chrono::milliseconds(5);
  return ScoreRunner(bon, ScriptedIdeator{}, std::move(coder), sr::exec::Local{{.slots = 2, .kill_grace = std::chrono::milliseconds(200)}},
                     task, control, std::move(hooks));
}

}  // namespace

TEST_CASE("a runner that misses a policy member does not compile, with a sentence", "[runner][concepts]") {
  STATIC_REQUIRE(sr::search::SearchPolicy<sr::search::BoN>);
  STATIC_REQUIRE(sr::ideate::Ideator<ScriptedIdeator>);
  STATIC_REQUIRE(sr::code::Coder<ScriptedCoder>);
  // Runner<int, ...> fails with "Runner<Search, ...>: Search must have a member `plan...`"
  // (checked by tests/runner/must_not_compile.sh).
}

TEST_CASE("the runner grows a tree, judges each node from its log and keeps the journal",
          "[runner]") {
  TempDir tmp;
  auto task = score_task(tmp.path() / "template");
  auto runner = score_runner(task, {.n_iterations = 3, .max_n_nodes = 20});
  auto s = runner.start(tmp.path() / "run");
  REQUIRE(s.has_value());
  CHECK(s->code == sr::ExitCode::ok);
  CHECK(s->stopped_because == "n_iterations (3) reached");
  const auto& j = runner.journal();
  // iteration 0: two drafts (scores 10, 20); then one improvement of the best per iteration
  REQUIRE(j.n_nodes() == 4);
  CHECK(j.at(1).stage == Stage::draft);
  CHECK(j.at(2).stage == Stage::draft);
  CHECK(j.at(3).stage == Stage::improve);
  CHECK(j.at(3).parent == 2);
  CHECK(j.at(4).parent == 3);
  CHECK(j.at(4).metrics.at("score") == 40);
  CHECK(s->best == 4);
  CHECK(s->usd == Approx(4 * 0.03));
  for (const auto& n : j.nodes) CHECK(n.finished());
  // files on disk agree with memory
  auto back = ws::Journal::load(tmp.path() / "run" / "journal.json");
  REQUIRE(back.has_value());
  CHECK(back->best_valid() == 4);
  CHECK(std::filesystem::exists(tmp.path() / "run" / "v_4" / "results.json"));
  CHECK(*ws::read_file(tmp.path() / "run" / "v_4" / "stdout.log") == "score: 40\n");
  // the ideator saw the parent's code and outcome, and the ideas already tried
  const auto& reqs = *runner.ideator().requests;
  REQUIRE(reqs.size() == 4);
  CHECK(reqs[1].tried == std::vector<std::string>{"idea 1"});
  CHECK(reqs[2].stage == Stage::improve);
  CHECK(reqs[2].code.find("score.txt\n```\n20\n```") != std::string::npos);
  CHECK(reqs[2].parent_outcome.find("score 20") == 0);
}

TEST_CASE("a node whose log has no metrics is buggy with the reason, and is debugged", "[runner]") {
  TempDir tmp;
  auto task = score_task(tmp.path() / "template");
  ScriptedIdeator ideator;
  ideator.script = {{"crash", "write garbage"}, {"fix 5", "write a number"}};
  ScriptedCoder coder;
  coder.edit = score_edit;
  ScoreRunner runner(sr::search::BoN{.debug_prob = 1.0}, ideator, coder, sr::exec::Local{}, task,
                     {.n_iterations = 2, .poll_interval = std::chrono::milliseconds(5)});
  auto s = runner.start(tmp.path() / "run");
  REQUIRE(s.has_value());
  const auto& j = runner.journal();
  REQUIRE(j.n_nodes() == 2);
  CHECK(j.at(1).buggy());
  CHECK(j.at(1).reason == "no line of the log carries all of score");
  CHECK(j.at(1).bug_depth == 1);
  CHECK(j.at(2).stage == Stage::debug);
  CHECK(j.at(2).parent == 1);
  CHECK(j.at(2).valid);
  CHECK(j.at(2).stable_ancestor == 0);
  // the debug request carried the failing log
  CHECK((*runner.ideator().requests)[1].parent_outcome.find("score: not") != std::string::npos);
}

TEST_CASE("the coder gets the task and the failed attempts under the node's stable ancestor", "[runner]") {
  TempDir tmp;
  auto task = score_task(tmp.path() / "template");
  ScriptedIdeator ideator;
  // v_1..v_4 crash (drafts from v_0); v_5 debugs one of them
  ideator.script = {{"crash", "a"}, {"crash", "b"}, {"crash", "c"}, {"crash", "d"}, {"fix 5", "e"}};
  auto requests = std::make_shared<std::vector<sr::code::CodeRequest>>();
  ScriptedCoder coder;
  coder.edit = [requests](const sr::code::CodeRequest& r) {
    requests->push_back(r);
    return score_edit(r);
  };
  ScoreRunner runner(sr::search::BoN{.n_initial_hypotheses = 4, .debug_prob = 1.0}, ideator, coder,
                     sr::exec::Local{}, task, {.n_iterations = 2, .poll_interval = std::chrono::milliseconds(5)});
  REQUIRE(runner.start(tmp.path() / "run").has_value());
  REQUIRE(requests->size() == 5);
  CHECK((*requests)[0].task_description == "make the score higher");
  CHECK((*requests)[0].bug_history.empty());  // nothing had failed yet
  const auto& last = requests->back();
  const auto& debugged = runner.journal().at(5);
  REQUIRE(debugged.stage == Stage::debug);
  // v_1..v_4 are the buggy descendants of v_0 (the stable ancestor): the latest three are shown
  REQUIRE(last.bug_history.size() == 3);
  CHECK(last.bug_history[0].version == "v_4");
  CHECK(last.bug_history[2].version == "v_2");
  CHECK(last.bug_history[0].hypothesis == "crash");
  CHECK(last.bug_history[0].error.starts_with("buggy: "));
}

TEST_CASE("v_0 is a selection candidate scored from its template's results.json", "[runner][baseline]") {
  TempDir tmp;
  auto task = score_task(tmp.path() / "template");
  std::ofstream(tmp.path() / "template" / "results.json") << R"({"metrics": {"score": 15, "other": 1}})";
  auto runner = score_runner(task, {.n_iterations = 1, .max_n_nodes = 20});
  auto s = runner.start(tmp.path() / "run");
  REQUIRE(s.has_value());
  const auto& j = runner.journal();
  CHECK(j.at(0).valid);
  CHECK(j.at(0).metrics == std::map<std::string, double>{{"score", 15}});  // the task's metrics only
  // the drafts score 10 and 20: v_2 beats the baseline, v_1 does not
  CHECK(s->best == 2);
  // the ideator saw the baseline's metrics at the first iteration
  const auto& first = runner.ideator().requests->front();
  CHECK(first.parent_outcome.find("measured baseline") != std::string::npos);
  CHECK(first.parent_outcome.find("score 15") != std::string::npos);

  // a NanoGPT record's calibration on the task's track; a baseline out of bounds is no candidate
  TempDir tmp2;
  auto record = score_task(tmp2.path() / "template");
  record.metrics.metrics = {{"train_time", sr::metrics::Unit::ms}, {"val_loss"}};
  record.metrics.selection = "train_time";
  record.metrics.lower_is_better = true;
  record.metrics.at_most = {{"val_loss", 3.5}};
  record.env = {{"SPEEDRUN_TRACK", "mini"}};
  std::ofstream(tmp2.path() / "template" / "results.json")
      << R"({"tracks": {"mini": {"train_time_ms": 90081, "target_val_loss": 3.5}, "fineweb": {"train_time_ms": 1}}})";
  auto r2 = score_runner(record, {.n_iterations = 1, .max_n_nodes = 20});
  auto s2 = r2.start(tmp2.path() / "run");
  REQUIRE(s2.has_value());
  CHECK(r2.journal().at(0).valid);
  // its drafts print no train_time: v_0 stays the best, and the search itself found nothing
  CHECK(s2->best == 0);
  CHECK(s2->code == sr::ExitCode::failure);
  CHECK(r2.journal().at(0).metrics.at("train_time") == 90081);
  CHECK(r2.journal().at(0).metrics.at("val_loss") == 3.5);
  // no results.json (or one without a score): v_0 stays unscored, as before
  TempDir tmp3;
  auto plain = score_runner(score_task(tmp3.path() / "template"), {.n_iterations = 1});
  REQUIRE(plain.start(tmp3.path() / "run").has_value());
  CHECK_FALSE(plain.journal().at(0).valid);
}

TEST_CASE("the model fallback reads metrics only when the contract finds none", "[runner][metrics]") {
  TempDir tmp;
  auto task = score_task(tmp.path() / "template");
  task.launch_command = "echo 'the score came out as seventy'";
  int asked = 0;
  sr::Hooks hooks;
  hooks.metrics_fallback = [&](std::string_view log, const sr::metrics::Contract&) -> sr::Result<std::map<std::string, double>> {
    ++asked;
    CHECK(log.find("seventy") != std::string_view::npos);
    return std::map<std::string, double>{{"score", 70}};
  };
  auto runner = score_runner(task, {.n_iterations = 1}, hooks, {.n_initial_hypotheses = 1});
  auto s = runner.start(tmp.path() / "run");
  REQUIRE(s.has_value());
  CHECK(asked == 1);
  CHECK(runner.journal().at(1).valid);
  CHECK(runner.journal().at(1).metrics.at("score") == 70);
}

TEST_CASE("max_n_nodes and the money budget stop the run; the budget stop is resumable", "[runner][control]") {
  TempDir tmp;
  auto task = score_task(tmp.path() / "template");
  {
    auto runner = score_runner(task, {.n_iterations = 10, .max_n_nodes = 3});
    auto s = runner.start(tmp.path() / "capped");
    REQUIRE(s.has_value());
    CHECK(s->nodes == 3);
    CHECK(s->stopped_because == "max_n_nodes (3) reached");
  }
  auto runner = score_runner(task, {.n_iterations = 10, .budget_usd = 0.05});
  auto s = runner.start(tmp.path() / "budget");
  REQUIRE(s.has_value());
  CHECK(s->code == sr::ExitCode::budget);
  CHECK(s->stopped_because.find("money budget of $0.05 spent") == 0);
  CHECK(s->nodes == 2);
  auto more = score_runner(task, {.n_iterations = 3, .budget_usd = 1.0});
  auto r = more.resume(tmp.path() / "budget");
  REQUIRE(r.has_value());
  CHECK(r->code == sr::ExitCode::ok);
  CHECK(r->nodes == 4);
}

TEST_CASE("a wall-clock limit and a stop signal stop running jobs; the run resumes", "[runner][control]") {
  TempDir tmp;
  auto task = score_task(tmp.path() / "template");
  task.launch_command = "sleep 30";
  auto runner = score_runner(task, {.n_iterations = 2, .wall_clock_s = 0.3});
  const auto t0 = std::chrono::steady_clock::now();
  auto s = runner.start(tmp.path() / "run");
  REQUIRE(s.has_value());
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
  CHECK(s->stopped_because.find("wall-clock budget") == 0);
  for (ws::NodeId id : {1, 2}) {
    CHECK(runner.journal().at(id).phase == ws::Phase::coded);
    CHECK(runner.journal().at(id).job.empty());
  }

  sr::Hooks hooks;
  hooks.observe = [](const sr::Event& e, const sr::RunStatus&) {
    if (e.kind == sr::EventKind::submitted) sr::request_stop(SIGINT);
  };
  sr::install_stop_handlers();
  auto stopped = score_runner(task, {.n_iterations = 2}, hooks);
  auto i = stopped.start(tmp.path() / "signal");
  sr::install_stop_handlers();  // clears the flag for the next tests
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  REQUIRE(i.has_value());
  CHECK(i->code == sr::ExitCode::interrupted);
  CHECK(i->stopped_because == "interrupted by signal 2");

  task.launch_command = "echo score: 5";
  auto resumed = score_runner(task, {.n_iterations = 2});
  auto r = resumed.resume(tmp.path() / "signal");
  REQUIRE(r.has_value());
  CHECK(r->nodes == 3);
  for (const auto& n : resumed.journal().nodes) CHECK(n.finished());
}

// A child process runs the search and is killed (SIGKILL) right after node v_3
// reaches `phase`; the parent resumes the run and checks what was kept.
TEST_CASE("a run killed in any phase of a node resumes: finished nodes kept, the node in flight continued",
          "[runner][resume]") {
  const auto [kill_at, ideas_after, codes_after] = GENERATE(table<sr::EventKind, int, int>({
      {sr::EventKind::ideated, 1, 2},    // hypothesis kept, coded again
      {sr::EventKind::coded, 1, 1},      // edits kept, run again
      {sr::EventKind::submitted, 1, 1},  // killed while its job runs
      {sr::EventKind::executed, 1, 1},   // judged from its log
  }));
  CAPTURE(static_cast<int>(kill_at));
  TempDir tmp;
  auto task = score_task(tmp.path() / "template");
  task.launch_command = "sleep 0.2; echo \"score: $(cat score.txt)\"";
  const sr::RunControl control{.n_iterations = 3};
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    sr::Hooks hooks;
    hooks.observe = [kill_at](const sr::Event& e, const sr::RunStatus&) {
      if (e.kind == kill_at && e.node != nullptr && e.node->id == 3) ::raise(SIGKILL);
    };
    auto runner = score_runner(task, control, hooks);
    (void)runner.start(tmp.path() / "run");
    ::_exit(0);  // not reached when the kill happened
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  REQUIRE(WIFSIGNALED(status));

  auto before = ws::Journal::load(tmp.path() / "run" / "journal.json");
  REQUIRE(before.has_value());
  REQUIRE(before->n_nodes() == 3);
  CHECK(before->at(1).finished());
  CHECK(before->at(2).finished());
  CHECK_FALSE(before->at(3).finished());

  auto runner = score_runner(task, control);
  auto s = runner.resume(tmp.path() / "run");
  REQUIRE(s.has_value());
  const auto& j = runner.journal();
  CHECK(j.n_nodes() == 4);
  for (const auto& n : j.nodes) CHECK(n.finished());
  for (ws::NodeId id : {1, 2}) {  // kept as they were, not re-run
    CHECK(j.at(id).created == before->at(id).created);
    CHECK(j.at(id).timings.execute_s == before->at(id).timings.execute_s);
  }
  CHECK(j.at(3).hypothesis == before->at(3).hypothesis);
  CHECK(j.at(3).valid);
  CHECK(j.at(3).metrics.at("score") == 30);
  CHECK(static_cast<int>(runner.ideator().requests->size()) == ideas_after);
  CHECK(*runner.coder().calls == codes_after);
  CHECK(j.at(4).parent == 3);
}
