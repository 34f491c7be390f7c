// Tests of runner/cancel.cpp (`speedrun cancel RUN_DIR`) on a real Slurm: the
// jobs the journal names and the jobs working inside the run are cancelled.
#include <speedrunner/exec/slurm.hpp>
#include <speedrunner/workspace/journal.hpp>

#include "catch.hpp"
#include "cluster.hpp"
#include "support.hpp"

#include <thread>

namespace sr = speedrunner;
using namespace speedrunner::testing;
using namespace std::chrono_literals;

TEST_CASE("speedrun cancel stops the run's Slurm jobs, recorded in the journal or not", "[slurm][cluster][cli]") {
  need_cluster();
  TempDir tmp;
  const auto run = tmp.path() / "run";
  for (const char* v : {"v_0", "v_1", "v_2"}) std::filesystem::create_directories(run / v);
  sr::exec::SlurmOptions o;
  o.cpus_per_task = 1;
  o.job_name = "speedrunner-test";
  sr::exec::Slurm slurm(o);
  auto recorded = slurm.submit({"v_1", run / "v_1", "sleep 60", 120s, {}, {}});
  auto unrecorded = slurm.submit({"v_2", run / "v_2", "sleep 60", 120s, {}, {}});
  REQUIRE(recorded);
  REQUIRE(unrecorded);
  auto journal = sr::workspace::Journal::with_root({"score", false}, 0);
  journal.add_child(0, sr::ideate::Stage::draft, 0).job = recorded->ref;
  journal.add_child(0, sr::ideate::Stage::draft, 0);
  REQUIRE(journal.save(run / "journal.json"));

  auto r = run_shell(speedrun_exe() + " cancel " + run.string());
  INFO(r.output);
  CHECK(r.status == 0);
  const auto a = *sr::exec::Slurm::job_id(*recorded), b = *sr::exec::Slurm::job_id(*unrecorded);
  CHECK(r.output.find("cancelled 2 Slurm jobs of " + run.string() + ": " + a + " " + b + "\n") != std::string::npos);
  std::string sa, sb;
  for (int i = 0; i < 100 && ((sa = slurm_state(a)) != "CANCELLED" || (sb = slurm_state(b)) != "CANCELLED"); ++i)
    std::this_thread::sleep_for(100ms);
  CHECK(sa == "CANCELLED");
  CHECK(sb == "CANCELLED");

  auto again = run_shell(speedrun_exe() + " cancel " + run.string());
  CHECK(again.status == 0);
  CHECK(again.output == "no jobs of " + run.string() + " are queued or running\n");
}

TEST_CASE("speedrun cancel on a folder that holds no run is a usage error", "[slurm][cli]") {
  TempDir tmp;
  auto r = run_shell(speedrun_exe() + " cancel " + tmp.path().string());
  CHECK(r.status == 2);
  CHECK(r.output.find("is not a run directory") != std::string::npos);
  CHECK(r.output.find("fix: pass the folder a run printed") != std::string::npos);
  CHECK(run_shell(speedrun_exe() + " cancel").status == 2);
}
