// The offline collatz demo through the speedrun executable with executor=slurm
// on the real one-node Slurm: interrupted with SIGINT while a job runs, the
// run scancels it and stops cleanly; `speedrun resume` finishes the same tree.
#include <speedrunner/workspace/journal.hpp>

#include "catch.hpp"
#include "cluster.hpp"
#include "support.hpp"

#include <csignal>
#include <filesystem>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

namespace ws = speedrunner::workspace;
using namespace speedrunner::testing;
using speedrunner::ideate::Stage;

TEST_CASE("the collatz demo runs with executor=slurm, scancels its job on SIGINT and resumes to the same tree",
          "[slurm][cluster][cli][demo]") {
  need_cluster();
  TempDir tmp;
  link_sources(tmp.path());
  const std::string out = (tmp.path() / "first.txt").string();
  const pid_t child = spawn_speedrun(tmp.path(), out,
                                     {"executor=slurm", "executor.cpus_per_task=1", "executor.poll_interval_s=0.2",
                                      "executor.job_name=speedrunner-test", "executor.mem=100M", "executor.max_requeues=1"});
  REQUIRE(child >= 0);
  // Interrupt once a node after the first has its Slurm job in flight.
  std::filesystem::path run;
  std::string job;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline && job.empty()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::error_code ec;
    if (run.empty())
      for (const auto& e : std::filesystem::directory_iterator(tmp.path() / "workspaces", ec))
        if (std::filesystem::exists(e.path() / "journal.json")) run = e.path();
    if (auto j = ws::Journal::load(run / "journal.json"); j && j->n_nodes() >= 2)
      for (const auto& n : j->nodes)
        if (n.id >= 2 && n.job.starts_with("slurm:")) job = n.job.substr(6);
  }
  ::kill(child, SIGINT);
  int status = 0;
  ::waitpid(child, &status, 0);
  const std::string first = *ws::read_file(out);
  INFO(first);
  REQUIRE_FALSE(job.empty());
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 130);
  CHECK(first.find("stopped: interrupted by signal 2") != std::string::npos);
  // The job in flight was cancelled in Slurm (it needs about a second to build and run collatz).
  std::string state;
  for (int i = 0; i < 50 && (state = slurm_state(job)) != "CANCELLED"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(state == "CANCELLED");

  auto r = run_shell("cd '" + tmp.path().string() + "' && " + speedrun_exe() + " resume '" + run.string() + "'");
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(r.output.find("best: v_6") != std::string::npos);
  auto j = ws::Journal::load(run / "journal.json");
  REQUIRE(j.has_value());
  REQUIRE(j->n_nodes() == 9);
  for (const auto& n : j->nodes) {
    CHECK(n.finished());
    if (n.parent) {  // each ran as a Slurm job, with the memory the config asked for
      const auto script = ws::read_file(run / n.name() / "slurm_job.sh");
      REQUIRE(script.has_value());
      CHECK(script->find("#SBATCH --mem=100M\n") != std::string::npos);
    }
  }
  CHECK(j->at(1).valid);
  CHECK(j->at(2).buggy());
  CHECK(j->at(6).stage == Stage::debug);
  CHECK(j->at(6).metrics.at("max_steps") == 685);
  CHECK(j->at(6).metrics.at("start_value") == 8400511);
  CHECK(j->best_valid() == 6);
  CHECK(j->at(7).reason.find("signal 11") != std::string::npos);
  CHECK(j->at(9).valid);
}
