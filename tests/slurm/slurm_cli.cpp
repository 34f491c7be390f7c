// Tests of include/speedrunner/exec/detail/slurm_cli.hpp: reading what squeue,
// sacct, scontrol and sbatch print (text captured from Slurm 22.05), job state
// names, and the batch script.
#include <speedrunner/exec/detail/slurm_cli.hpp>
#include <speedrunner/exec/slurm.hpp>

#include "catch.hpp"

namespace d = speedrunner::exec::detail;
namespace ex = speedrunner::exec;
using S = d::JobState;

TEST_CASE("every Slurm job state the executor maps has a name, and only unfinished ones are in flight",
          "[slurm][cli]") {
  struct Row { const char* word; S state; bool in_flight; };
  const Row rows[] = {
      {"PENDING", S::pending, true},         {"RUNNING", S::running, true},
      {"COMPLETING", S::completing, true},   {"REQUEUED", S::requeued, true},
      {"SUSPENDED", S::suspended, true},     {"CONFIGURING", S::pending, true},
      {"COMPLETED", S::completed, false},    {"FAILED", S::failed, false},
      {"TIMEOUT", S::timeout, false},        {"CANCELLED", S::cancelled, false},
      {"CANCELLED by 0", S::cancelled, false}, {"CANCELLED+", S::cancelled, false},
      {"NODE_FAIL", S::node_fail, false},    {"PREEMPTED", S::preempted, false},
      {"OUT_OF_MEMORY", S::out_of_memory, false}, {"BOOT_FAIL", S::boot_fail, false},
      {"DEADLINE", S::deadline, false},      {"SOMETHING_NEW", S::unknown, true},
  };
  for (const auto& r : rows) {
    INFO(r.word);
    CHECK(d::parse_state(r.word) == r.state);
    CHECK(d::in_flight(d::parse_state(r.word)) == r.in_flight);
  }
}

TEST_CASE("squeue lines give state, reason, exit status or signal, run time, node, partition and folder",
          "[slurm][cli]") {
  const auto jobs = d::parse_squeue(
      "4|FAILED|NonZeroExitCode|768|0:01|vm|debug|/tmp/run/v_1|\n"
      "5|CANCELLED|None|15|1:02:03|vm|debug|/tmp/odd|name/v_2|\n"
      "6|PENDING|Priority|0|0:00||gpu|/tmp/run/v_3|\n"
      "7|RUNNING|None|0|2-01:00:00|node[1-2]|gpu|/tmp/run/v_4|\n"
      "\n"
      "garbage line\n");
  REQUIRE(jobs.size() == 4);
  CHECK(jobs[0].id == "4");
  CHECK(jobs[0].state == S::failed);
  CHECK(jobs[0].exit_code == 3);
  CHECK(jobs[0].reason == "NonZeroExitCode");
  CHECK(jobs[0].run_s == 1);
  CHECK(jobs[0].work_dir == "/tmp/run/v_1");
  CHECK_FALSE(jobs[1].exit_code);
  CHECK(jobs[1].signal == 15);
  CHECK(jobs[1].run_s == 3723);
  CHECK(jobs[1].work_dir == "/tmp/odd|name/v_2");
  CHECK(jobs[2].state == S::pending);
  CHECK(jobs[2].reason == "Priority");
  CHECK_FALSE(jobs[2].exit_code);  // not over: no exit status yet
  CHECK(jobs[3].run_s == 2 * 86400 + 3600);
  CHECK(jobs[3].nodes == "node[1-2]");
  CHECK(jobs[3].partition == "gpu");
}

TEST_CASE("sacct and scontrol lines give the same facts as squeue", "[slurm][cli]") {
  const auto jobs = d::parse_sacct("12|CANCELLED by 0|0:15|7|vm|debug|/tmp/a\n13|COMPLETED|0:0|42|vm|debug|/tmp/b\n"
                                   "14|OUT_OF_MEMORY|0:125|3|vm|debug|/tmp/c\n");
  REQUIRE(jobs.size() == 3);
  CHECK(jobs[0].state == S::cancelled);
  CHECK(jobs[0].signal == 15);
  CHECK(jobs[0].run_s == 7);
  CHECK(jobs[1].exit_code == 0);
  CHECK(jobs[1].work_dir == "/tmp/b");
  CHECK(jobs[2].state == S::out_of_memory);

  auto sc = d::parse_scontrol_job(
      "JobId=4 JobName=wrap UserId=root(0) JobState=FAILED Reason=NonZeroExitCode Dependency=(null) "
      "Requeue=1 Restarts=0 BatchFlag=1 ExitCode=3:0 RunTime=00:00:05 TimeLimit=UNLIMITED Partition=debug "
      "NodeList=vm BatchHost=vm WorkDir=/tmp/tmp.ypcRW2XZqt StdErr=/tmp/tmp.ypcRW2XZqt/out");
  REQUIRE(sc);
  CHECK(sc->id == "4");
  CHECK(sc->state == S::failed);
  CHECK(sc->exit_code == 3);
  CHECK(sc->run_s == 5);
  CHECK(sc->work_dir == "/tmp/tmp.ypcRW2XZqt");
  CHECK_FALSE(d::parse_scontrol_job("slurm_load_jobs error: Invalid job id specified"));
}

TEST_CASE("durations, job ids from sbatch and shell quoting read Slurm's forms", "[slurm][cli]") {
  CHECK(d::parse_duration("59") == 59);
  CHECK(d::parse_duration("1:30") == 90);
  CHECK(d::parse_duration("01:00:00") == 3600);
  CHECK(d::parse_duration("1-00:00:01") == 86401);
  CHECK_FALSE(d::parse_duration("INVALID"));
  CHECK_FALSE(d::parse_duration("x:1"));
  CHECK(d::parse_sbatch_id("42\n") == "42");
  CHECK(d::parse_sbatch_id("42;cluster-a\n") == "42");
  CHECK(d::parse_sbatch_id("Submitted batch job 77\n") == "77");
  CHECK(d::parse_sbatch_id("sbatch: warning: something\n43\n") == "43");
  CHECK_FALSE(d::parse_sbatch_id(""));
  CHECK_FALSE(d::parse_sbatch_id("error"));
  CHECK(d::shell_quote("it's $HOME") == "'it'\\''s $HOME'");
  CHECK(d::env_name_ok("CUDA_VISIBLE_DEVICES"));
  CHECK_FALSE(d::env_name_ok("1X"));
  CHECK_FALSE(d::env_name_ok("A-B"));
  CHECK_FALSE(d::env_name_ok(""));
}

TEST_CASE("the batch script asks for the configured resources and starts one process per GPU with srun",
          "[slurm][cli]") {
  ex::SlurmOptions o;
  o.partition = "gpu";
  o.account = "lab";
  o.qos = "high";
  o.gpus_per_node = 8;
  o.cpus_per_task = 12;
  o.job_ttl = std::chrono::minutes(90);
  o.extra_sbatch_lines = {"--constraint=h100", "#SBATCH --exclusive"};
  o.env = {{"NCCL_DEBUG", "WARN"}};
  ex::Slurm slurm(o);
  ex::JobSpec spec{"v_3", "/runs/a b/v_3", "./run.sh --steps 10", std::chrono::minutes(5), {{"MSG", "it's"}}, {}};
  const std::string s = slurm.script(spec);
  INFO(s);
  CHECK(s.starts_with("#!/bin/bash\n"));
  CHECK(s.find("#SBATCH --job-name=speedrun_v_3\n") != std::string::npos);
  CHECK(s.find("#SBATCH --nodes=1\n") != std::string::npos);
  CHECK(s.find("#SBATCH --ntasks-per-node=8\n") != std::string::npos);
  CHECK(s.find("#SBATCH --gres=gpu:8\n") != std::string::npos);
  CHECK(s.find("#SBATCH --cpus-per-task=12\n") != std::string::npos);
  CHECK(s.find("#SBATCH --time=90\n") != std::string::npos);
  CHECK(s.find("#SBATCH --partition=gpu\n") != std::string::npos);
  CHECK(s.find("#SBATCH --account=lab\n") != std::string::npos);
  CHECK(s.find("#SBATCH --qos=high\n") != std::string::npos);
  CHECK(s.find("#SBATCH --requeue\n") != std::string::npos);
  CHECK(s.find("#SBATCH --constraint=h100\n") != std::string::npos);
  CHECK(s.find("#SBATCH --exclusive\n") != std::string::npos);
  CHECK(s.find("export NCCL_DEBUG='WARN'\n") != std::string::npos);
  CHECK(s.find("export MSG='it'\\''s'\n") != std::string::npos);
  CHECK(s.find("cd '/runs/a b/v_3' || exit 126\n") != std::string::npos);
  // each task in a sandbox of its own (exec/sandbox.hpp)
  CHECK(s.find("exec srun --nodes=1 --ntasks-per-node=8 --cpus-per-task=12 --kill-on-bad-exit=1 "
               "\"$sr_bwrap\" \"$@\" -- $sr_term /bin/sh -c './run.sh --steps 10'\n") != std::string::npos);
  // Every #SBATCH line comes before the first command, or sbatch ignores it.
  CHECK(s.rfind("#SBATCH") < s.find("export"));
}

TEST_CASE("a one-task job runs its command directly, with a time limit from the task's timeout",
          "[slurm][cli]") {
  ex::SlurmOptions o;
  o.requeue_preempted = false;
  ex::Slurm slurm(o);
  ex::JobSpec spec{"v_1", "/r/v_1", "./run.sh", std::chrono::seconds(150), {}, {}};
  const std::string s = slurm.script(spec);
  INFO(s);
  CHECK(s.find("#SBATCH --time=4\n") != std::string::npos);  // 3 minutes rounded up, plus one
  CHECK(s.find("--gres") == std::string::npos);
  CHECK(s.find("--partition") == std::string::npos);
  CHECK(s.find("#SBATCH --no-requeue\n") != std::string::npos);
  CHECK(s.find("srun") == std::string::npos);
  CHECK(s.find("exec \"$sr_bwrap\" \"$@\" -- $sr_term /bin/sh -c './run.sh'\n") != std::string::npos);
  o.sandbox.kind = ex::SandboxKind::off;
  CHECK(ex::Slurm(o).script(spec).find("exec /bin/sh -c './run.sh'\n") != std::string::npos);
  o.sandbox.kind = ex::SandboxKind::bwrap;

  o.srun = ex::SrunMode::always;
  CHECK(ex::Slurm(o).script(spec).find("exec srun --nodes=1 --ntasks-per-node=1") != std::string::npos);
  o.srun = ex::SrunMode::never;
  o.nodes = 2;
  CHECK(ex::Slurm(o).script(spec).find("srun") == std::string::npos);
}
