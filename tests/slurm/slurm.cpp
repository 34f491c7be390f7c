// Tests of include/speedrunner/exec/slurm.hpp against stand-in Slurm tools:
// small scripts named sbatch, squeue, sacct, scancel and scontrol that print
// text in the real tools' formats, so every end state (NODE_FAIL, PREEMPTED,
// OUT_OF_MEMORY...) and every failure of the tools can be shown on any machine.
// tests/slurm/local_cluster.cpp runs the same executor against a real Slurm.
#include <speedrunner/exec/slurm.hpp>
#include <speedrunner/workspace/atomic_file.hpp>

#include "catch.hpp"
#include "support.hpp"

#include <fstream>
#include <sstream>
#include <thread>

namespace ex = speedrunner::exec;
using speedrunner::testing::TempDir;
using namespace std::chrono_literals;

namespace {

// A folder of stand-in tools. Each prints <name>.out and <name>.err and exits
// with <name>.rc when those files exist, and appends its command line to calls.log.
// sbatch hands out ids 100, 101, ...
class FakeSlurm {
 public:
  FakeSlurm() {
    const std::string generic =
        "#!/bin/sh\nn=$(basename \"$0\"); d=$(dirname \"$0\")\necho \"$n $*\" >> \"$d/calls.log\"\n"
        "[ -f \"$d/$n.out\" ] && cat \"$d/$n.out\"\n[ -f \"$d/$n.err\" ] && cat \"$d/$n.err\" >&2\n"
        "[ -f \"$d/$n.rc\" ] && exit $(cat \"$d/$n.rc\")\nexit 0\n";
    for (const char* name : {"squeue", "sacct", "scancel", "scontrol"}) write_tool(name, generic);
    write_tool("sbatch",
               "#!/bin/sh\nd=$(dirname \"$0\")\necho \"sbatch $*\" >> \"$d/calls.log\"\n"
               "[ -f \"$d/sbatch.err\" ] && cat \"$d/sbatch.err\" >&2\n"
               "[ -f \"$d/sbatch.rc\" ] && exit $(cat \"$d/sbatch.rc\")\n"
               "n=$(cat \"$d/next_id\" 2>/dev/null || echo 100); echo $((n+1)) > \"$d/next_id\"; echo $n\n");
  }
  [[nodiscard]] const std::filesystem::path& bin() const { return bin_.path(); }
  void says(const std::string& tool, const std::string& out, int rc = 0, const std::string& err = "") const {
    (void)speedrunner::workspace::write_file_atomic(bin() / (tool + ".out"), out);
    (void)speedrunner::workspace::write_file_atomic(bin() / (tool + ".err"), err);
    (void)speedrunner::workspace::write_file_atomic(bin() / (tool + ".rc"), std::to_string(rc));
  }
  // The command lines of one tool, in call order.
  [[nodiscard]] std::vector<std::string> calls(const std::string& tool) const {
    std::ifstream in(bin() / "calls.log");
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);)
      if (line.starts_with(tool + " ")) out.push_back(line);
    return out;
  }

 private:
  void write_tool(const std::string& name, const std::string& text) const {
    (void)speedrunner::workspace::write_file_atomic(bin() / name, text);
    std::filesystem::permissions(bin() / name, std::filesystem::perms::owner_all);
  }
  TempDir bin_{"sr-fake-slurm"};
};

ex::SlurmOptions options(const FakeSlurm& fake) {
  ex::SlurmOptions o;
  o.bin_dir = fake.bin();
  o.poll_interval = 0ms;  // every poll asks
  return o;
}

ex::JobSpec spec(const TempDir& dir, std::string command = "./run.sh") {
  return ex::JobSpec{"v_1", dir.path(), std::move(command), 60s, {}, {}};
}

std::string line(const std::string& id, const std::string& state, int raw, const std::string& used,
                 const std::filesystem::path& dir) {
  return id + "|" + state + "|None|" + std::to_string(raw) + "|" + used + "|n1|gpu|" + dir.string() + "|\n";
}

}  // namespace

TEST_CASE("each Slurm end state maps onto the job's result", "[slurm][exec]") {
  STATIC_REQUIRE(ex::Executor<ex::Slurm>);
  struct Row {
    const char* state;
    int raw_status;
    bool succeeded, timed_out;
    const char* describe;
  };
  const Row rows[] = {
      {"COMPLETED", 0, true, false, "exit status 0"},
      {"FAILED", 3 << 8, false, false, "exit status 3"},
      {"FAILED", 9, false, false, "killed by signal 9 (Killed)"},
      {"TIMEOUT", 15, false, true, "timed out after 65 s"},
      {"CANCELLED", 15, false, false, "cancelled outside the runner (Slurm CANCELLED)"},
      {"NODE_FAIL", 0, false, false, "node failure (Slurm NODE_FAIL)"},
      {"OUT_OF_MEMORY", 0, false, false, "out of memory (Slurm OUT_OF_MEMORY)"},
      {"PREEMPTED", 0, false, false, "preempted (Slurm PREEMPTED)"},
      {"BOOT_FAIL", 0, false, false, "node boot failure (Slurm BOOT_FAIL)"},
  };
  for (const auto& row : rows) {
    INFO(row.state << " " << row.raw_status);
    FakeSlurm fake;
    TempDir dir;
    auto o = options(fake);
    o.requeue_preempted = false;
    ex::Slurm slurm(o);
    auto h = slurm.submit(spec(dir));
    REQUIRE(h);
    CHECK(h->ref == "slurm:100");
    fake.says("squeue", line("100", "PENDING", 0, "0:00", dir.path()));
    CHECK_FALSE(slurm.poll(*h));
    CHECK(slurm.state(*h) == "PENDING");
    fake.says("squeue", line("100", row.state, row.raw_status, "1:05", dir.path()));
    auto r = slurm.poll(*h);
    REQUIRE(r);
    CHECK(r->succeeded() == row.succeeded);
    CHECK(r->timed_out == row.timed_out);
    CHECK(r->describe() == row.describe);
    CHECK(r->wall_s == 65);
    CHECK(r->placement == "Slurm job 100 on n1 (partition gpu)");
    CHECK(r->stdout_path == dir.path() / "stdout.log");
    CHECK(slurm.free_slots() == 8);
  }
}

TEST_CASE("sbatch gets the script written into the version folder and the folder's log paths",
          "[slurm][exec]") {
  FakeSlurm fake;
  TempDir dir;
  ex::Slurm slurm(options(fake));
  auto h = slurm.submit(spec(dir));
  REQUIRE(h);
  const auto script = speedrunner::workspace::read_file(dir.path() / "slurm_job.sh");
  REQUIRE(script);
  CHECK(script->find("/bin/sh -c './run.sh'") != std::string::npos);
  const auto calls = fake.calls("sbatch");
  REQUIRE(calls.size() == 1);
  const auto abs = std::filesystem::absolute(dir.path()).string();
  CHECK(calls[0] == "sbatch --parsable --chdir=" + abs + " --output=" + abs + "/stdout.log --error=" + abs +
                        "/stderr.log " + abs + "/slurm_job.sh");
}

TEST_CASE("a preempted job is requeued and then followed to its end", "[slurm][exec]") {
  FakeSlurm fake;
  TempDir dir;
  auto o = options(fake);
  o.max_requeues = 1;
  ex::Slurm slurm(o);
  auto h = slurm.submit(spec(dir));
  REQUIRE(h);
  fake.says("squeue", line("100", "PREEMPTED", 0, "0:30", dir.path()));
  CHECK_FALSE(slurm.poll(*h));
  REQUIRE(fake.calls("scontrol") == std::vector<std::string>{"scontrol requeue 100"});
  CHECK_FALSE(slurm.poll(*h));  // the controller has not acted yet: still PREEMPTED, read as requeued
  CHECK(slurm.state(*h) == "REQUEUED");
  fake.says("squeue", line("100", "RUNNING", 0, "0:01", dir.path()));
  CHECK_FALSE(slurm.poll(*h));
  // Preempted again, with no requeues left: it ends, and says so.
  fake.says("squeue", line("100", "PREEMPTED", 0, "0:09", dir.path()));
  auto r = slurm.poll(*h);
  REQUIRE(r);
  CHECK(r->describe() == "preempted (Slurm PREEMPTED) after 1 requeues");
  CHECK(fake.calls("scontrol").size() == 1);
}

TEST_CASE("a requeue Slurm refuses ends the job with the refusal", "[slurm][exec]") {
  FakeSlurm fake;
  TempDir dir;
  ex::Slurm slurm(options(fake));
  auto h = slurm.submit(spec(dir));
  REQUIRE(h);
  fake.says("scontrol", "", 1, "scontrol: error: Requested operation is presently disabled for job 100\n");
  fake.says("squeue", line("100", "PREEMPTED", 0, "0:30", dir.path()));
  auto r = slurm.poll(*h);
  REQUIRE(r);
  CHECK(r->describe() ==
        "preempted (Slurm PREEMPTED); requeue failed: scontrol: error: Requested operation is presently disabled for job 100");
}

TEST_CASE("one squeue call per poll interval serves every job in flight", "[slurm][exec]") {
  FakeSlurm fake;
  TempDir a, b, c;
  auto o = options(fake);
  o.poll_interval = 1h;
  ex::Slurm slurm(o);
  std::vector<ex::JobHandle> handles;
  for (const TempDir* d : {&a, &b, &c}) {
    auto h = slurm.submit(spec(*d));
    REQUIRE(h);
    handles.push_back(*h);
  }
  CHECK(slurm.free_slots() == 5);
  fake.says("squeue", line("100", "RUNNING", 0, "0:01", a.path()) + line("101", "PENDING", 0, "0:00", b.path()) +
                          line("102", "PENDING", 0, "0:00", c.path()));
  for (int round = 0; round < 50; ++round)
    for (const auto& h : handles) CHECK_FALSE(slurm.poll(h));
  const auto calls = fake.calls("squeue");
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].find("--jobs=100,101,102") != std::string::npos);
  CHECK(slurm.queries() == 1);
  CHECK(slurm.state(handles[0]) == "RUNNING on n1");
}

TEST_CASE("the executor stops a job that runs past the task's timeout and reports it timed out",
          "[slurm][exec]") {
  FakeSlurm fake;
  TempDir dir;
  ex::Slurm slurm(options(fake));
  auto s = spec(dir);
  s.timeout = 5s;
  auto h = slurm.submit(s);
  REQUIRE(h);
  fake.says("squeue", line("100", "RUNNING", 0, "0:04", dir.path()));
  CHECK_FALSE(slurm.poll(*h));
  CHECK(fake.calls("scancel").empty());
  fake.says("squeue", line("100", "RUNNING", 0, "0:06", dir.path()));
  // A fresh executor state sees 6 s used; the first sighting fixed the start, so wait for the clock.
  std::this_thread::sleep_for(1100ms);
  CHECK_FALSE(slurm.poll(*h));
  REQUIRE(fake.calls("scancel") == std::vector<std::string>{"scancel 100"});
  fake.says("squeue", line("100", "CANCELLED", 15, "0:06", dir.path()));
  auto r = slurm.poll(*h);
  REQUIRE(r);
  CHECK(r->timed_out);
  CHECK(r->describe() == "timed out after 6 s");
}

TEST_CASE("a log line that breaks an early-abort rule cancels the job and says why", "[slurm][exec]") {
  FakeSlurm fake;
  TempDir dir;
  ex::Slurm slurm(options(fake));
  auto s = spec(dir);
  s.watch.nonfinite_loss = true;
  auto h = slurm.submit(s);
  REQUIRE(h);
  REQUIRE(speedrunner::workspace::write_file_atomic(dir.path() / "stdout.log", "step:1/10 val_loss:4.2\nstep:2/10 val_loss:nan\n"));
  fake.says("squeue", line("100", "RUNNING", 0, "0:02", dir.path()));
  CHECK_FALSE(slurm.poll(*h));
  REQUIRE(fake.calls("scancel").size() == 1);
  fake.says("squeue", line("100", "CANCELLED", 15, "0:02", dir.path()));
  auto r = slurm.poll(*h);
  REQUIRE(r);
  CHECK_FALSE(r->aborted.empty());
  CHECK(r->describe().starts_with("stopped early: "));
  CHECK_FALSE(r->succeeded());
}

TEST_CASE("jobs the controller forgot are read from sacct, and from nowhere once sacct is disabled",
          "[slurm][exec]") {
  FakeSlurm fake;
  TempDir dir;
  ex::Slurm slurm(options(fake));
  auto h = slurm.submit(spec(dir));
  REQUIRE(h);
  fake.says("squeue", "", 1, "slurm_load_jobs error: Invalid job id specified\n");
  fake.says("sacct", "100|COMPLETED|0:0|12|n1|gpu|" + dir.path().string() + "\n");
  auto r = slurm.poll(*h);
  REQUIRE(r);
  CHECK(r->succeeded());
  CHECK(r->wall_s == 12);

  auto h2 = slurm.submit(spec(dir));
  REQUIRE(h2);
  fake.says("sacct", "", 1, "sacct: error: Slurm accounting storage is disabled\n");
  CHECK_FALSE(slurm.poll(*h2));
  CHECK_FALSE(slurm.poll(*h2));
  auto lost = slurm.poll(*h2);
  REQUIRE(lost);
  CHECK_FALSE(lost->succeeded());
  CHECK(lost->describe() == "Slurm no longer knows job 101 (purged, and sacct cannot tell how it ended)");
  CHECK(fake.calls("sacct").size() == 2);  // disabled accounting is asked once, not every round
}

TEST_CASE("an unreachable controller keeps jobs waiting, then fails them after the limit", "[slurm][exec]") {
  FakeSlurm fake;
  TempDir dir;
  auto o = options(fake);
  o.unreachable_limit = 300ms;
  ex::Slurm slurm(o);
  auto h = slurm.submit(spec(dir));
  REQUIRE(h);
  fake.says("squeue", "", 1, "slurm_load_jobs error: Unable to contact slurm controller (connect failure)\n");
  CHECK_FALSE(slurm.poll(*h));
  CHECK_FALSE(slurm.poll(*h));
  std::this_thread::sleep_for(400ms);
  auto r = slurm.poll(*h);
  REQUIRE(r);
  CHECK(r->describe().find("Unable to contact slurm controller") != std::string::npos);
}

TEST_CASE("sbatch missing or refusing the job gives an error that shows why", "[slurm][exec]") {
  TempDir dir;
  {
    TempDir empty;
    ex::SlurmOptions o;
    o.bin_dir = empty.path();
    ex::Slurm slurm(o);
    auto h = slurm.submit(spec(dir));
    REQUIRE_FALSE(h);
    CHECK(h.error().what.find("cannot run " + (empty.path() / "sbatch").string()) != std::string::npos);
    CHECK(h.error().fix.find("slurm-client") != std::string::npos);
    CHECK(slurm.free_slots() == 8);
  }
  FakeSlurm fake;
  fake.says("sbatch", "", 1, "sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified\n");
  ex::Slurm slurm(options(fake));
  auto h = slurm.submit(spec(dir));
  REQUIRE_FALSE(h);
  CHECK(h.error().what == "Slurm refused the job for v_1: sbatch: error: Batch job submission failed: Invalid account "
                          "or account/partition combination specified");
  CHECK(h.error().fix.find("slurm_job.sh") != std::string::npos);
  CHECK(slurm.free_slots() == 8);

  ex::SlurmOptions bad_env = options(fake);
  bad_env.env = {{"BAD-NAME", "1"}};
  auto e = ex::Slurm(bad_env).submit(spec(dir));
  REQUIRE_FALSE(e);
  CHECK(e.error().what.find("BAD-NAME") != std::string::npos);
}

TEST_CASE("max_parallel bounds the jobs in flight", "[slurm][exec]") {
  FakeSlurm fake;
  TempDir dir;
  auto o = options(fake);
  o.max_parallel = 2;
  ex::Slurm slurm(o);
  auto a = slurm.submit(spec(dir));
  auto b = slurm.submit(spec(dir));
  REQUIRE(a);
  REQUIRE(b);
  CHECK(slurm.free_slots() == 0);
  CHECK_FALSE(slurm.submit(spec(dir)));
  slurm.cancel(*a);
  CHECK(fake.calls("scancel") == std::vector<std::string>{"scancel 100"});
  CHECK(slurm.free_slots() == 1);
  slurm.cancel(*a);  // a no-op the second time
  CHECK(fake.calls("scancel").size() == 1);
}

TEST_CASE("re-attaching takes a job Slurm still knows in the same folder, and nothing else", "[slurm][exec]") {
  FakeSlurm fake;
  TempDir dir, other;
  ex::Slurm slurm(options(fake));
  fake.says("squeue", line("77", "RUNNING", 0, "0:10", dir.path()));
  CHECK(slurm.reattach(spec(dir), ex::JobHandle{"slurm:77"}));
  CHECK(slurm.free_slots() == 7);
  CHECK_FALSE(slurm.poll(ex::JobHandle{"slurm:77"}));
  fake.says("squeue", line("77", "COMPLETED", 0, "0:20", dir.path()));
  auto r = slurm.poll(ex::JobHandle{"slurm:77"});
  REQUIRE(r);
  CHECK(r->succeeded());

  fake.says("squeue", line("78", "RUNNING", 0, "0:10", other.path()));
  CHECK_FALSE(slurm.reattach(spec(dir), ex::JobHandle{"slurm:78"}));  // an id reused for another folder
  CHECK_FALSE(slurm.reattach(spec(dir), ex::JobHandle{"local:1234"}));
  CHECK_FALSE(slurm.reattach(spec(dir), ex::JobHandle{"slurm:x"}));
  fake.says("squeue", "", 1, "slurm_load_jobs error: Invalid job id specified\n");
  fake.says("sacct", "", 1, "sacct: error: Slurm accounting storage is disabled\n");
  CHECK_FALSE(slurm.reattach(spec(dir), ex::JobHandle{"slurm:79"}));
  CHECK(slurm.free_slots() == 8);
}
