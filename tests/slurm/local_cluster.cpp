// The Slurm executor against a real Slurm: tests/slurm/local-slurm starts a
// one-node cluster (munged, slurmctld, slurmd on localhost); where it cannot
// (not root, packages missing) this program exits 77 and Meson reports it skipped.
#include <speedrunner/exec/slurm.hpp>
#include <speedrunner/workspace/atomic_file.hpp>

#include "catch.hpp"
#include "cluster.hpp"
#include "support.hpp"

#include <thread>

namespace ex = speedrunner::exec;
using speedrunner::testing::need_cluster;
using speedrunner::testing::run_shell;
using speedrunner::testing::TempDir;
using namespace std::chrono_literals;

namespace {

ex::SlurmOptions options() {
  ex::SlurmOptions o;
  o.poll_interval = 200ms;
  o.cpus_per_task = 1;
  o.job_name = "speedrunner-test";
  return o;
}

ex::JobSpec spec(const TempDir& dir, std::string command, std::chrono::milliseconds timeout = 60s) {
  return ex::JobSpec{"v_1", dir.path(), std::move(command), timeout, {}, {}};
}

ex::JobResult wait(ex::Slurm& slurm, const ex::JobHandle& h, std::chrono::seconds limit = 60s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto r = slurm.poll(h)) return *r;
    std::this_thread::sleep_for(50ms);
  }
  FAIL("job " << h.ref << " did not end within " << limit.count() << " s (state " << slurm.state(h) << ")");
  return {};
}

std::string slurm_state(const ex::JobHandle& h) { return speedrunner::testing::slurm_state(*ex::Slurm::job_id(h)); }

std::string read(const std::filesystem::path& p) { return speedrunner::workspace::read_file(p).value_or(""); }

}  // namespace

TEST_CASE("a batch job runs in its version folder with its environment, logs and exit status",
          "[slurm][cluster]") {
  need_cluster();
  TempDir ok_dir, fail_dir;
  auto o = options();
  o.env = {{"GREETING", "hello from the executor"}};
  ex::Slurm slurm(o);
  auto s = spec(ok_dir, "pwd; echo \"$GREETING / $TASK_VALUE\"; echo to-stderr >&2; echo job=$SLURM_JOB_ID");
  s.env = {{"TASK_VALUE", "it's 42"}};
  auto ok = slurm.submit(s);
  REQUIRE(ok);
  auto bad = slurm.submit(spec(fail_dir, "echo trying; exit 3"));
  REQUIRE(bad);
  CHECK(slurm.free_slots() == 6);

  auto r = wait(slurm, *ok);
  CHECK(r.succeeded());
  CHECK(r.exit_code == 0);
  const std::string out = read(ok_dir.path() / "stdout.log");
  CHECK(out.find(std::filesystem::canonical(ok_dir.path()).string() + "\n") != std::string::npos);
  CHECK(out.find("hello from the executor / it's 42\n") != std::string::npos);
  CHECK(out.find("job=" + *ex::Slurm::job_id(*ok) + "\n") != std::string::npos);
  CHECK(read(ok_dir.path() / "stderr.log") == "to-stderr\n");
  CHECK(r.placement.starts_with("Slurm job " + *ex::Slurm::job_id(*ok) + " on "));
  CHECK(std::filesystem::exists(ok_dir.path() / "slurm_job.sh"));

  auto f = wait(slurm, *bad);
  CHECK_FALSE(f.succeeded());
  CHECK(f.exit_code == 3);
  CHECK(f.describe() == "exit status 3");
  CHECK(read(fail_dir.path() / "stdout.log") == "trying\n");
  CHECK(slurm.free_slots() == 8);
}

TEST_CASE("a job past the task's timeout is cancelled in Slurm and reported timed out", "[slurm][cluster]") {
  need_cluster();
  TempDir dir;
  ex::Slurm slurm(options());
  const auto t0 = std::chrono::steady_clock::now();
  // `&&`: the cancel signals the shell and its sleep in no set order; a killed sleep
  // must not let the shell go on to the next command before its own signal lands
  auto h = slurm.submit(spec(dir, "echo started; sleep 60 && echo never", 2s));
  REQUIRE(h);
  auto r = wait(slurm, *h);
  CHECK(r.timed_out);
  CHECK_FALSE(r.succeeded());
  CHECK(r.describe().starts_with("timed out after "));
  CHECK(std::chrono::steady_clock::now() - t0 < 20s);
  CHECK(slurm_state(*h) == "CANCELLED");
  CHECK(read(dir.path() / "stdout.log") == "started\n");
}

TEST_CASE("a node stopped under Slurm gets SIGTERM inside the sandbox and a grace before SIGKILL",
          "[slurm][cluster][sandbox]") {
  need_cluster();
  ex::Slurm slurm(options());  // the sandbox is on by default
  REQUIRE(slurm.options().sandbox.kind == ex::SandboxKind::bwrap);
  {
    // the command's own handler runs and may work for a moment (the cluster's KillWait is 2 s)
    TempDir dir;
    auto h = slurm.submit(spec(dir, "trap 'echo got-term; sleep 1; echo cleaned-up; exit 7' TERM; "
                                    "echo started; while :; do sleep 0.05; done", 3s));
    REQUIRE(h);
    auto r = wait(slurm, *h);
    INFO(read(dir.path() / "stderr.log"));
    CHECK(r.timed_out);
    CHECK(read(dir.path() / "stdout.log") == "started\ngot-term\ncleaned-up\n");
  }
  {
    // a command that ignores SIGTERM is killed with all it started once the grace is over
    TempDir dir;
    const auto t0 = std::chrono::steady_clock::now();
    auto h = slurm.submit(spec(dir, "trap '' TERM; (trap '' TERM; while :; do echo x >> beat; sleep 0.05; done) & "
                                    "echo started; while :; do sleep 0.05; done", 3s));
    REQUIRE(h);
    auto r = wait(slurm, *h);
    CHECK(r.timed_out);
    CHECK(std::chrono::steady_clock::now() - t0 < 40s);
    std::error_code ec;
    const auto size = std::filesystem::file_size(dir.path() / "beat", ec);
    std::this_thread::sleep_for(600ms);
    CHECK(std::filesystem::file_size(dir.path() / "beat", ec) == size);
    std::string state;
    for (int i = 0; i < 100 && (state = slurm_state(*h)) != "CANCELLED"; ++i) std::this_thread::sleep_for(100ms);
    CHECK(state == "CANCELLED");
  }
}

TEST_CASE("cancel stops a running job through scancel", "[slurm][cluster]") {
  need_cluster();
  TempDir dir;
  ex::Slurm slurm(options());
  auto h = slurm.submit(spec(dir, "echo started; sleep 60"));
  REQUIRE(h);
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!slurm.state(*h).starts_with("RUNNING") && std::chrono::steady_clock::now() < deadline) {
    CHECK_FALSE(slurm.poll(*h));
    std::this_thread::sleep_for(50ms);
  }
  REQUIRE(slurm.state(*h).starts_with("RUNNING on "));
  slurm.cancel(*h);
  CHECK(slurm.free_slots() == 8);
  std::string state;
  for (int i = 0; i < 100 && (state = slurm_state(*h)) != "CANCELLED"; ++i) std::this_thread::sleep_for(100ms);
  CHECK(state == "CANCELLED");
}

TEST_CASE("a restarted runner re-attaches to its job instead of submitting it again", "[slurm][cluster]") {
  need_cluster();
  TempDir dir, elsewhere;
  ex::JobHandle saved;
  {
    ex::Slurm first(options());
    auto h = first.submit(spec(dir, "sleep 2; echo finished"));
    REQUIRE(h);
    saved = *h;
  }  // the runner is gone; the job is not
  CHECK(slurm_state(saved) != "CANCELLED");
  ex::Slurm second(options());
  CHECK_FALSE(second.reattach(spec(elsewhere, "x"), saved));  // not this folder's job
  REQUIRE(second.reattach(spec(dir, "sleep 2; echo finished"), saved));
  auto r = wait(second, saved);
  CHECK(r.succeeded());
  CHECK(read(dir.path() / "stdout.log") == "finished\n");
  CHECK_FALSE(second.reattach(spec(dir, "x"), ex::JobHandle{"slurm:999999"}));
}

TEST_CASE("several tasks per node start one process each through srun", "[slurm][cluster]") {
  need_cluster();
  TempDir dir;
  auto o = options();
  o.tasks_per_node = 2;
  ex::Slurm slurm(o);
  auto h = slurm.submit(spec(dir, "echo \"rank $SLURM_PROCID of $SLURM_NTASKS local $SLURM_LOCALID\""));
  REQUIRE(h);
  auto r = wait(slurm, *h);
  CHECK(r.succeeded());
  const std::string out = read(dir.path() / "stdout.log");
  CHECK(out.find("rank 0 of 2 local 0\n") != std::string::npos);
  CHECK(out.find("rank 1 of 2 local 1\n") != std::string::npos);
}

TEST_CASE("a job Slurm refuses gives sbatch's reason", "[slurm][cluster]") {
  need_cluster();
  TempDir dir;
  auto o = options();
  o.partition = "no-such-partition";
  ex::Slurm slurm(o);
  auto h = slurm.submit(spec(dir, "true"));
  REQUIRE_FALSE(h);
  CHECK(h.error().what.starts_with("Slurm refused the job for v_1: "));
  CHECK(h.error().what.find("invalid partition") != std::string::npos);
  CHECK(slurm.free_slots() == 8);
}

TEST_CASE("a job preempted by a more urgent one is requeued and runs to its end", "[slurm][cluster]") {
  need_cluster();
  TempDir dir;
  auto o = options();
  o.cpus_per_task = 4;  // the whole node, so the urgent job must preempt it
  ex::Slurm slurm(o);
  auto h = slurm.submit(spec(dir, "echo \"attempt ${SLURM_RESTART_COUNT:-0}\"; sleep 3"));
  REQUIRE(h);
  const std::string id = *ex::Slurm::job_id(*h);
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!slurm.state(*h).starts_with("RUNNING") && std::chrono::steady_clock::now() < deadline) {
    CHECK_FALSE(slurm.poll(*h));
    std::this_thread::sleep_for(50ms);
  }
  REQUIRE(slurm.state(*h).starts_with("RUNNING"));
  // The local cluster's "urgent" partition preempts (cancels) jobs of the default one.
  auto urgent = run_shell("sbatch --parsable --partition=urgent --cpus-per-task=4 --output=/dev/null --wrap 'sleep 1'");
  REQUIRE(urgent.status == 0);
  bool released = false;
  std::optional<ex::JobResult> r;
  deadline = std::chrono::steady_clock::now() + 60s;
  while (!r && std::chrono::steady_clock::now() < deadline) {
    r = slurm.poll(*h);
    // Slurm holds a requeued job for two minutes; the test lets it go at once.
    if (!released && slurm.state(*h).find("BeginTime") != std::string::npos)
      released = run_shell("scontrol update JobId=" + id + " StartTime=now").status == 0;
    std::this_thread::sleep_for(50ms);
  }
  REQUIRE(r);
  CHECK(released);
  CHECK(r->succeeded());
  CHECK(run_shell("scontrol show job -o " + id).output.find("Restarts=1") != std::string::npos);
  CHECK(read(dir.path() / "stdout.log").find("attempt 1\n") != std::string::npos);
}
