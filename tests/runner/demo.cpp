// The offline demo through the executable: `speedrun` with no arguments
// replays the shipped transcript on the collatz task; interrupted with SIGINT
// it stops cleanly (exit 130), and `speedrun resume` finishes the same tree: a
// draft, a buggy node, its debug and an improvement.
#include <speedrunner/workspace/journal.hpp>

#include "catch.hpp"
#include "support.hpp"

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace ws = speedrunner::workspace;
using namespace speedrunner::testing;
using speedrunner::ideate::Stage;

namespace {

// The run directory speedrun made under ./workspaces, once its journal exists.
std::filesystem::path run_dir_in(const std::filesystem::path& cwd) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(cwd / "workspaces", ec))
    if (std::filesystem::exists(e.path() / "journal.json")) return e.path();
  return {};
}

int finished_nodes(const std::filesystem::path& run) {
  auto j = ws::Journal::load(run / "journal.json");
  if (!j) return 0;
  int n = 0;
  for (const auto& node : j->nodes) n += node.parent && node.finished() ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("the offline demo runs, stops cleanly on SIGINT and resumes to the same tree", "[runner][cli][demo]") {
  TempDir tmp;
  link_sources(tmp.path());
  const std::string out = (tmp.path() / "first.txt").string();
  const pid_t child = spawn_speedrun(tmp.path(), out, {});
  REQUIRE(child >= 0);
  std::filesystem::path run;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline && (run.empty() || finished_nodes(run) < 2)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (run.empty()) run = run_dir_in(tmp.path());
  }
  ::kill(child, SIGINT);
  int status = 0;
  ::waitpid(child, &status, 0);
  const std::string first = *ws::read_file(out);
  INFO(first);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 130);
  CHECK(first.find("stopped: interrupted by signal 2") != std::string::npos);
  CHECK(first.find("resume with: speedrun resume") != std::string::npos);
  REQUIRE(run.filename().string().rfind("collatz_", 0) == 0);
  CHECK(std::filesystem::exists(run / "config.json"));
  CHECK(finished_nodes(run) < 9);

  auto r = run_shell("cd '" + tmp.path().string() + "' && " + speedrun_exe() + " resume '" + run.string() + "'");
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(r.output.find("best: v_6") != std::string::npos);
  auto j = ws::Journal::load(run / "journal.json");
  REQUIRE(j.has_value());
  REQUIRE(j->n_nodes() == 9);
  for (const auto& n : j->nodes) CHECK(n.finished());
  CHECK(j->at(1).stage == Stage::draft);
  CHECK(j->at(1).valid);
  CHECK(j->at(2).buggy());                        // the memo draft forgot #include <vector>
  CHECK(j->at(2).outcome.find("error") != std::string::npos);
  CHECK(j->at(6).stage == Stage::debug);          // ... and its debug fixed it
  CHECK(j->at(6).parent == 2);
  CHECK(j->at(6).metrics.at("max_steps") == 685);
  CHECK(j->at(6).metrics.at("start_value") == 8400511);
  CHECK(j->best_valid() == 6);
  CHECK(j->at(5).metrics.at("max_steps") == 667); // the best draft: top-down
  CHECK(j->at(8).stage == Stage::improve);        // an improvement of the best node
  CHECK(j->at(8).parent == 6);
  CHECK(j->at(8).valid);
  CHECK(j->at(7).reason.find("signal 11") != std::string::npos);  // a crash, then its debug
  CHECK(j->at(9).parent == 7);
  CHECK(j->at(9).valid);
}

TEST_CASE("speedrun resume without a run directory, or with a wrong one, says what to pass", "[runner][cli]") {
  auto none = run_shell(speedrun_exe() + " resume");
  CHECK(none.status == 2);
  CHECK(none.output.find("speedrun resume RUN_DIR") != std::string::npos);
  TempDir tmp;
  auto wrong = run_shell(speedrun_exe() + " resume '" + tmp.path().string() + "'");
  CHECK(wrong.status == 2);
  CHECK(wrong.output.find("config.json") != std::string::npos);
}

TEST_CASE("a task's abort rules are bound from the config with errors naming the key", "[runner][cli]") {
  TempDir tmp;
  auto r = run_shell(speedrun_exe() + " '+task.abort_rules=[{\"metric\": \"max_steps\"}]' workspace.root='" +
                     (tmp.path() / "run").string() + "'");
  CHECK(r.status == 2);
  CHECK(r.output.find("task.abort_rules") != std::string::npos);
  CHECK(r.output.find("from_step") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(tmp.path() / "run"));
}

TEST_CASE("llm.cache=record keeps every answer; llm.cache=replay answers from it and stops at a miss",
          "[runner][cli][demo][cache]") {
  TempDir tmp;
  const auto cache = tmp.path() / "cache";
  const std::string base = "cd " + tmp.path().string() + " && " + speedrun_exe() +
                           " llm.cache_dir=" + cache.string();
  auto first = run_shell(base + " llm.cache=record workspace.root=" + (tmp.path() / "run1").string());
  REQUIRE(first.status == 0);
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(cache)) ++entries;
  CHECK(entries > 0);

  // The transcript is swapped for one useless answer, so every real answer must come from the
  // cache. The prompts of later iterations carry measured runtimes, which differ between runs:
  // the first miss stops the run cleanly (exit 2, resumable) instead of marking nodes buggy.
  const auto useless = tmp.path() / "useless.jsonl";
  { std::ofstream(useless) << "{\"answer\": \"not an answer any agent accepts\"}\n"; }
  const auto run2 = tmp.path() / "run2";
  auto second = run_shell(base + " llm.cache=replay model.transcript=" + useless.string() +
                          " workspace.root=" + run2.string());
  INFO(second.output);
  auto j1 = ws::Journal::load(tmp.path() / "run1" / "journal.json");
  auto j2 = ws::Journal::load(run2 / "journal.json");
  REQUIRE(j1);
  REQUIRE(j2);
  // the first iteration's prompts (drafts from v_0) are identical, so their answers replay
  REQUIRE(j2->nodes.size() >= 6);
  for (std::size_t i = 1; i <= 5; ++i) CHECK(j1->nodes[i].hypothesis == j2->nodes[i].hypothesis);
  for (const auto& n : j2->nodes) CHECK(n.reason.find("llm cache") == std::string::npos);
  if (second.status != 0) {
    CHECK(second.status == 2);
    CHECK(second.output.find("no recorded answer for key") != std::string::npos);
    CHECK(second.output.find("stopped (resume it after fixing this)") != std::string::npos);
  }
}

TEST_CASE("budget.tokens stops the run cleanly before a call that would pass it, and says so",
          "[runner][cli][demo][budget]") {
  TempDir tmp;
  auto r = run_shell("cd " + tmp.path().string() + " && " + speedrun_exe() +
                     " budget.tokens=100 workspace.root=" + (tmp.path() / "run").string());
  CHECK(r.status == 3);
  CHECK(r.output.find("over budget.tokens = 100") != std::string::npos);
  CHECK(r.output.find("resume with: speedrun resume") != std::string::npos);
  CHECK(std::filesystem::exists(tmp.path() / "run" / "journal.json"));

  auto bad = run_shell(speedrun_exe() + " budget.tokens=-1");
  CHECK(bad.status == 2);
  CHECK(bad.output.find("budget.tokens: expected an integer >= 0, got -1") != std::string::npos);
  auto mode = run_shell(speedrun_exe() + " llm.cache=sometimes");
  CHECK(mode.status == 2);
  CHECK(mode.output.find("llm.cache: unknown value \"sometimes\"") != std::string::npos);
}

TEST_CASE("analysis.summarize=true makes the model's reading of each run the node's outcome",
          "[runner][cli][demo][analysis]") {
  TempDir tmp;
  // the demo's transcript plus answers for the analyst agent
  const auto transcript = tmp.path() / "with_analyst.jsonl";
  {
    std::ofstream out(transcript);
    out << speedrunner::workspace::read_file(source_root() / "data/demo/collatz_transcript.jsonl").value();
    for (int i = 0; i < 12; ++i)
      out << "{\"agent\": \"analyst\", \"answer\": \"{\\\"goal_met\\\": true, \\\"summary\\\": \\\"summary " << i
          << "\\\", \\\"errors\\\": [\\\"none that matter\\\"]}\"}\n";
  }
  auto r = run_shell("cd " + tmp.path().string() + " && " + speedrun_exe() + " analysis.summarize=true model.transcript=" +
                     transcript.string() + " workspace.root=" + (tmp.path() / "run").string());
  INFO(r.output);
  REQUIRE(r.status == 0);
  auto j = ws::Journal::load(tmp.path() / "run" / "journal.json");
  REQUIRE(j);
  int summarized = 0;
  for (const auto& n : j->nodes)
    if (n.outcome.starts_with("goal met: summary ") && n.outcome.ends_with("; none that matter")) ++summarized;
  // every node that ran (the ideator or coder failing makes a node buggy before it runs)
  CHECK(summarized >= 6);
}

TEST_CASE("each role may have its own model: coder.model answers the coder, model the ideator",
          "[runner][cli][demo][roles]") {
  TempDir tmp;
  // the demo's transcript split in two: the ideator's answers and the coder's
  const auto ideas = tmp.path() / "ideas.jsonl", edits = tmp.path() / "edits.jsonl";
  {
    std::ifstream in(source_root() / "data/demo/collatz_transcript.jsonl");
    std::ofstream to_ideator(ideas), to_coder(edits);
    for (std::string line; std::getline(in, line);)
      (line.find("\"agent\": \"ideator\"") != std::string::npos ? to_ideator : to_coder) << line << "\n";
  }
  auto r = run_shell("cd " + tmp.path().string() + " && " + speedrun_exe() + " model.transcript=" + ideas.string() +
                     " 'coder.model={\"provider\": \"replay\", \"name\": \"replay\", \"transcript\": \"" +
                     edits.string() + "\"}' workspace.root=" + (tmp.path() / "run").string());
  INFO(r.output);
  REQUIRE(r.status == 0);
  auto j = ws::Journal::load(tmp.path() / "run" / "journal.json");
  REQUIRE(j);
  CHECK(j->best_valid().has_value());
  int valid = 0;
  for (const auto& n : j->nodes) valid += n.valid ? 1 : 0;
  CHECK(valid >= 3);
  // a role's model by name is looked up among config/model/, and a bad one is named
  auto bad = run_shell("cd " + tmp.path().string() + " && " + speedrun_exe() +
                       " ideator.model=no_such_model workspace.root=" + (tmp.path() / "run2").string());
  CHECK(bad.status == 2);
  CHECK(bad.output.find("ideator.model") != std::string::npos);
  CHECK(bad.output.find("no_such_model") != std::string::npos);
}

TEST_CASE("a role's own replay model continues its transcript on resume, as the run's model does",
          "[runner][cli][demo][roles][resume]") {
  TempDir tmp;
  for (const char* d : {"config", "data", "workspace_templates"})
    std::filesystem::create_directory_symlink(source_root() / d, tmp.path() / d);
  // the demo's transcript split in two: the ideator's answers (model) and the coder's (coder.model)
  const auto ideas = tmp.path() / "ideas.jsonl", edits = tmp.path() / "edits.jsonl";
  int coder_answers = 0;
  {
    std::ifstream in(source_root() / "data/demo/collatz_transcript.jsonl");
    std::ofstream to_ideator(ideas), to_coder(edits);
    for (std::string line; std::getline(in, line);) {
      const bool ideator = line.find("\"agent\": \"ideator\"") != std::string::npos;
      (ideator ? to_ideator : to_coder) << line << "\n";
      coder_answers += ideator ? 0 : 1;
    }
  }
  const auto run = tmp.path() / "run";
  const std::string out = (tmp.path() / "first.txt").string();
  const pid_t child = spawn_speedrun(
      tmp.path(), out,
      {"model.transcript=" + ideas.string(),
       "coder.model={\"provider\": \"replay\", \"name\": \"replay\", \"transcript\": \"" + edits.string() + "\"}",
       "workspace.root=" + run.string()});
  REQUIRE(child >= 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline && finished_nodes(run) < 2)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ::kill(child, SIGINT);
  int status = 0;
  ::waitpid(child, &status, 0);
  INFO(*ws::read_file(out));
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 130);
  const int before = finished_nodes(run);
  CHECK(before < 9);
  // the coder's answers were logged under its role
  const std::string coder_log = ws::read_file(run / "llm.jsonl").value_or("");
  CHECK(coder_log.find("\"role\":\"coder\"") != std::string::npos);

  auto r = run_shell("cd '" + tmp.path().string() + "' && " + speedrun_exe() + " resume '" + run.string() + "'");
  INFO(r.output);
  REQUIRE(r.status == 0);
  // the coder's model went on from the answers it had not given yet
  const auto rest = ws::read_file(run / "replay_remaining_coder.jsonl");
  REQUIRE(rest);
  const auto rest_lines = static_cast<int>(std::count(rest->begin(), rest->end(), '\n'));
  CHECK(rest_lines < coder_answers);
  CHECK(rest_lines > 0);
  CHECK(std::filesystem::exists(run / "replay_remaining.jsonl"));
  // ... so the tree is the demo's, as if never stopped
  auto j = ws::Journal::load(run / "journal.json");
  REQUIRE(j.has_value());
  REQUIRE(j->n_nodes() == 9);
  for (const auto& n : j->nodes) CHECK(n.finished());
  CHECK(j->at(2).buggy());
  CHECK(j->at(6).metrics.at("max_steps") == 685);
  CHECK(j->at(5).metrics.at("max_steps") == 667);
  CHECK(j->best_valid() == 6);
  CHECK(j->at(8).valid);
  CHECK(j->at(9).valid);
}

TEST_CASE("speedrun cancel stops a live runner through its runner.pid, not only its jobs",
          "[runner][cli][cancel]") {
  TempDir tmp;
  const auto run = tmp.path() / "run";
  const auto out = tmp.path() / "out.txt";
  // every version's program sleeps, so the runner is busy when cancel comes
  auto started = run_shell("cd " + tmp.path().string() + " && (" + speedrun_exe() +
                           " 'task.launch_command=sleep 30' workspace.root=" + run.string() + " > " +
                           out.string() + " 2>&1; echo $? > " + (tmp.path() / "status").string() + ") > /dev/null 2>&1 &");
  REQUIRE(started.status == 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline && !std::filesystem::exists(run / "runner.pid"))
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  REQUIRE(std::filesystem::exists(run / "runner.pid"));
  std::this_thread::sleep_for(std::chrono::seconds(1));  // let jobs start

  auto cancel = run_shell(speedrun_exe() + " cancel " + run.string());
  INFO(cancel.output);
  CHECK(cancel.status == 0);
  CHECK(cancel.output.find("stopped the runner of " + run.string()) != std::string::npos);
  const auto status_file = tmp.path() / "status";
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < until && !std::filesystem::exists(status_file))
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  REQUIRE(std::filesystem::exists(status_file));
  INFO(speedrunner::workspace::read_file(out).value_or(""));
  CHECK(speedrunner::workspace::read_file(status_file).value_or("") == "130\n");
  CHECK_FALSE(std::filesystem::exists(run / "runner.pid"));
  CHECK(ws::Journal::load(run / "journal.json").has_value());
  // a second cancel finds nothing to stop
  auto again = run_shell(speedrun_exe() + " cancel " + run.string());
  CHECK(again.status == 0);
  CHECK(again.output.find("stopped the runner") == std::string::npos);
}
