// The scientist loop with the Slurm executor on a real one-node Slurm: the
// collatz demo end to end, and a runner killed while its job runs, whose
// resume re-attaches to that job instead of submitting it again.
#include <speedrunner/exec/slurm.hpp>
#include <speedrunner/runner.hpp>
#include <speedrunner/search/aide.hpp>

#include "catch.hpp"
#include "cluster.hpp"
#include "runner/doubles.hpp"
#include "support.hpp"

#include <csignal>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

namespace sr = speedrunner;
using namespace speedrunner::testing;
using namespace std::chrono_literals;

namespace {

sr::exec::Slurm slurm_executor() {
  sr::exec::SlurmOptions o;
  o.poll_interval = 200ms;
  o.cpus_per_task = 1;
  o.job_name = "speedrunner-test";
  return sr::exec::Slurm(o);
}

sr::Task collatz_task() {
  sr::Task t;
  t.name = "collatz";
  t.description = "Find the start value below --limit with the longest Collatz chain.";
  t.template_dir = source_root() / "workspace_templates" / "collatz";
  t.files = {"collatz.cpp"};
  t.launch_command = "c++ -O1 -o collatz collatz.cpp && ./collatz --limit 200000";
  t.timeout = 60s;
  t.metrics.metrics = {{"runtime", sr::metrics::Unit::s}, {"start_value", {}, true}, {"max_steps", {}, true}};
  t.metrics.selection = "max_steps";
  t.ignore = {"collatz"};
  return t;
}

}  // namespace

TEST_CASE("the collatz demo runs end to end with every experiment a Slurm job", "[slurm][cluster][runner]") {
  need_cluster();
  TempDir tmp;
  ScriptedIdeator ideator;
  ideator.script = {{"upper half", "only start values in [limit/2, limit) can hold the longest chain"},
                    {"as is", "keep the loop"},
                    {"odd only", "skip even start values"}};
  ScriptedCoder coder;
  coder.edit = [](const sr::code::CodeRequest& r) -> sr::Result<void> {
    const auto file = r.version_dir / "collatz.cpp";
    if (r.hypothesis.summary == "upper half")
      return replace_in(file, "for (std::uint64_t i = 1; i < limit; ++i) {",
                        "for (std::uint64_t i = limit / 2; i < limit; ++i) {");
    if (r.hypothesis.summary == "odd only")
      return replace_in(file, "i < limit; ++i) {", "i < limit; ++i) {\n    if ((i & 1) == 0) continue;");
    return {};
  };
  sr::Runner<sr::search::Aide, ScriptedIdeator, ScriptedCoder, sr::exec::Slurm> runner(
      sr::search::Aide{.drafts = 2, .debug_prob = 0.0}, ideator, coder, slurm_executor(), collatz_task(),
      {.n_iterations = 2, .poll_interval = 20ms});
  auto s = runner.start(tmp.path() / "run");
  REQUIRE(s.has_value());
  const auto& j = runner.journal();
  REQUIRE(j.n_nodes() == 3);
  for (int k = 1; k <= 3; ++k) {
    INFO("v_" << k << ": " << j.at(k).outcome);
    CHECK(j.at(k).valid);
    CHECK(j.at(k).metrics.at("max_steps") == 382);
    CHECK(j.at(k).metrics.at("start_value") == 156159);
    CHECK(j.at(k).job.empty());  // finished: no job left to re-attach to
    CHECK(std::filesystem::exists(tmp.path() / "run" / ("v_" + std::to_string(k)) / "slurm_job.sh"));
  }
  CHECK(j.at(3).stage == sr::ideate::Stage::improve);
  CHECK(s->best.has_value());
}

TEST_CASE("a runner killed while its Slurm job runs re-attaches to the job on resume", "[slurm][cluster][runner]") {
  need_cluster();
  TempDir tmp;
  const auto run_dir = tmp.path() / "run";
  auto task = score_task(tmp.path() / "template");
  task.launch_command = "sleep 3; echo \"score: $(cat score.txt)\"; echo \"slurm job $SLURM_JOB_ID\"";
  task.timeout = 60s;
  auto make_runner = [&] {
    ScriptedCoder coder;
    coder.edit = score_edit;
    return sr::Runner<sr::search::Aide, ScriptedIdeator, ScriptedCoder, sr::exec::Slurm>(
        sr::search::Aide{.drafts = 1, .debug_prob = 0.0}, ScriptedIdeator{}, coder, slurm_executor(), task,
        {.n_iterations = 1, .poll_interval = 20ms});
  };

  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto runner = make_runner();
    (void)runner.start(run_dir);
    ::_exit(0);
  }
  // Once the journal holds the job's id, the runner dies without a word.
  std::string job;
  for (int i = 0; i < 300 && job.empty(); ++i) {
    std::this_thread::sleep_for(50ms);
    if (auto jr = sr::workspace::Journal::load(run_dir / "journal.json"); jr && jr->n_nodes() >= 1)
      job = jr->at(1).job;
  }
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  REQUIRE(job.starts_with("slurm:"));
  const std::string id = job.substr(6);
  CHECK(slurm_state(id) != "CANCELLED");

  auto runner = make_runner();
  auto s = runner.resume(run_dir);
  REQUIRE(s.has_value());
  const auto& n = runner.journal().at(1);
  INFO(n.outcome);
  CHECK(n.valid);
  CHECK(n.metrics.at("score") == 10);
  // The result came from the job the first runner submitted, not from a new one.
  CHECK(sr::workspace::read_file(run_dir / "v_1" / "stdout.log").value_or("").find("slurm job " + id + "\n") != std::string::npos);
}
