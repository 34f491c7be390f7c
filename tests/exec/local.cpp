// Tests of include/speedrunner/exec/local.hpp: logs, exit status, timeouts that
// kill whole process trees, GPU slots and early abort.
#include <speedrunner/exec/local.hpp>
#include <speedrunner/workspace/atomic_file.hpp>

#include "catch.hpp"
#include "support.hpp"

#include <fstream>
#include <thread>

namespace ex = speedrunner::exec;
using speedrunner::testing::TempDir;
using namespace std::chrono_literals;

namespace {

ex::JobResult wait(ex::Local& local, const ex::JobHandle& h, std::chrono::seconds limit = 20s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto r = local.poll(h)) return *r;
    std::this_thread::sleep_for(5ms);
  }
  FAIL("the job did not finish in time");
  return {};
}

ex::JobSpec spec(const TempDir& dir, std::string command) {
  ex::JobSpec s;
  s.name = "v_1";
  s.dir = dir.path();
  s.command = std::move(command);
  s.timeout = 10s;
  return s;
}

// Whether a heartbeat file still grows: a process left running appends to it.
// (Process ids would not do: in the sandbox they are those of its PID namespace.)
bool still_beating(const std::filesystem::path& beat) {
  std::error_code ec;
  const auto before = std::filesystem::file_size(beat, ec);
  std::this_thread::sleep_for(600ms);
  const auto after = std::filesystem::file_size(beat, ec);
  return after != before;
}

// A shell loop that appends to `file` every 50 ms.
std::string beat(const std::string& file) { return "while :; do echo x >> " + file + "; sleep 0.05; done"; }

}  // namespace

TEST_CASE("a job runs in its folder with stdout and stderr in files and its exit status",
          "[exec][local]") {
  STATIC_REQUIRE(ex::Executor<ex::Local>);
  TempDir dir;
  ex::Local local;
  auto h = local.submit(spec(dir, "pwd; echo to-stderr >&2; exit 3"));
  REQUIRE(h.has_value());
  CHECK(local.free_slots() == 0);
  auto r = wait(local, *h);
  CHECK(r.exit_code == 3);
  CHECK_FALSE(r.succeeded());
  CHECK(r.describe() == "exit status 3");
  CHECK(local.free_slots() == 1);
  auto out = *speedrunner::workspace::read_file(r.stdout_path);
  CHECK(std::filesystem::equivalent(out.substr(0, out.size() - 1), dir.path()));
  CHECK(*speedrunner::workspace::read_file(r.stderr_path) == "to-stderr\n");
  CHECK(r.wall_s >= 0);
}

TEST_CASE("a timeout stops the whole process tree, with SIGKILL for what ignores SIGTERM",
          "[exec][local][timeout]") {
  TempDir dir;
  ex::Local local({.slots = 1, .kill_grace = 300ms});
  // A child that ignores SIGTERM and a grandchild, both beating.
  auto s = spec(dir, "sh -c 'trap \"\" TERM; " + beat("beat1") + "' & sh -c '" + beat("beat2") + "' & wait");
  s.timeout = 4s;  // time for the sandbox to start on a loaded machine, so both loops run at the limit
  const auto start = std::chrono::steady_clock::now();
  auto h = local.submit(s);
  REQUIRE(h.has_value());
  auto r = wait(local, *h);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(r.timed_out);
  CHECK(r.describe().rfind("timed out", 0) == 0);
  CHECK(took < 15.0);
  CHECK(std::filesystem::exists(dir.path() / "beat1"));
  CHECK(std::filesystem::exists(dir.path() / "beat2"));
  CHECK_FALSE(still_beating(dir.path() / "beat1"));
  CHECK_FALSE(still_beating(dir.path() / "beat2"));
}

TEST_CASE("background processes left behind by a finished command are stopped", "[exec][local]") {
  TempDir dir;
  ex::Local local;
  auto h = local.submit(spec(dir, "sh -c '" + beat("beat") + "' & sleep 0.2; echo done"));
  REQUIRE(h.has_value());
  auto r = wait(local, *h);
  CHECK(r.exit_code == 0);
  CHECK(std::filesystem::exists(dir.path() / "beat"));
  CHECK_FALSE(still_beating(dir.path() / "beat"));
}

TEST_CASE("slots run side by side, each with its own GPUs", "[exec][local][slots]") {
  TempDir a, b, meeting;
  // The meeting folder is the one host path both jobs see besides their own.
  ex::Local local({.slots = 2, .gpus = {"0", "1", "2", "3"}, .sandbox = {.writable = {meeting.path().string()}}});
  CHECK(local.slot_gpus(0) == "0,1");
  CHECK(local.slot_gpus(1) == "2,3");
  // Each job waits (10 s at most) for the other to have started: in a row, neither could finish.
  auto meet = [&](const std::string& mine, const std::string& other) {
    const std::string m = (meeting.path() / mine).string(), o = (meeting.path() / other).string();
    return "touch '" + m + "'; i=0; while [ ! -e '" + o + "' ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; " +
           "[ $i -lt 200 ] || exit 9; ";
  };
  auto s1 = spec(a, meet("a", "b") + "echo $CUDA_VISIBLE_DEVICES");
  auto s2 = spec(b, meet("b", "a") + "echo $CUDA_VISIBLE_DEVICES $EXTRA");
  s2.env = {{"EXTRA", "x"}};
  auto h1 = local.submit(s1);
  auto h2 = local.submit(s2);
  REQUIRE(h1.has_value());
  REQUIRE(h2.has_value());
  CHECK(local.free_slots() == 0);
  CHECK_FALSE(local.submit(spec(a, "true")).has_value());
  auto r1 = wait(local, *h1);
  auto r2 = wait(local, *h2);
  CHECK(r1.exit_code == 0);  // in parallel: each saw the other start
  CHECK(r2.exit_code == 0);
  CHECK(*speedrunner::workspace::read_file(r1.stdout_path) == "0,1\n");
  CHECK(*speedrunner::workspace::read_file(r2.stdout_path) == "2,3 x\n");
  CHECK(r2.placement == "slot 1, CUDA_VISIBLE_DEVICES=2,3");
}

TEST_CASE("a NaN loss in the streaming log stops the run early", "[exec][local][abort]") {
  TempDir dir;
  ex::Local local({.slots = 1, .kill_grace = 300ms});
  auto s = spec(dir, "echo 'step:1/100 train_loss:2.5'; sleep 0.1; echo 'step:2/100 train_loss:nan' >&2; sleep 30");
  const auto start = std::chrono::steady_clock::now();
  auto h = local.submit(s);
  REQUIRE(h.has_value());
  auto r = wait(local, *h);
  CHECK(std::chrono::steady_clock::now() - start < 15s);  // not the command's 30 s
  CHECK(r.aborted == "train_loss is nan at step 2 (non-finite loss)");
  CHECK_FALSE(r.timed_out);
  CHECK(r.describe() == "stopped early: train_loss is nan at step 2 (non-finite loss)");
}

TEST_CASE("a task's rule stops a run whose metric is still out of bounds", "[exec][local][abort]") {
  TempDir dir;
  ex::Local local({.slots = 1, .kill_grace = 300ms});
  auto s = spec(dir, "echo 'step:500/1000 val_loss:4.9'; sleep 30");
  s.watch.rules = {{"val_loss", 500, 4.5, std::nullopt}};
  auto h = local.submit(s);
  REQUIRE(h.has_value());
  auto r = wait(local, *h);
  CHECK(r.aborted.find("val_loss 4.9 is still above 4.5 at step 500") == 0);
}

TEST_CASE("cancel stops a running job at once and frees its slot", "[exec][local]") {
  TempDir dir;
  ex::Local local({.slots = 1, .kill_grace = 300ms});
  auto h = local.submit(spec(dir, beat("beat")));
  REQUIRE(h.has_value());
  while (!std::filesystem::exists(dir.path() / "beat")) std::this_thread::sleep_for(10ms);
  local.cancel(*h);
  CHECK(local.free_slots() == 1);
  CHECK_FALSE(local.poll(*h).has_value());
  CHECK_FALSE(still_beating(dir.path() / "beat"));
  CHECK_FALSE(local.reattach(spec(dir, "true"), *h));
}

TEST_CASE("a run killed by a signal says which, directly or through the shell", "[exec][local]") {
  TempDir dir;
  // Unconfined: in the sandbox bwrap reports a signal as the shell does, as 128 + N (below).
  ex::Local local({.sandbox = {.kind = ex::SandboxKind::off}});
  auto direct = local.submit(spec(dir, "exec kill -SEGV $$"));
  REQUIRE(direct.has_value());
  auto r = wait(local, *direct);
  CHECK_FALSE(r.exit_code.has_value());
  CHECK(r.signal == SIGSEGV);
  CHECK(r.describe().rfind("killed by signal 11", 0) == 0);
  auto shell = local.submit(spec(dir, "sh -c 'kill -SEGV $$'; exit $?"));
  REQUIRE(shell.has_value());
  auto s = wait(local, *shell);
  CHECK(s.exit_code == 139);
  CHECK(s.describe().rfind("exit status 139 (signal 11", 0) == 0);
}

TEST_CASE("in the sandbox a run killed by a signal reads as the shell reports it", "[exec][local][sandbox]") {
  TempDir dir;
  ex::Local local;
  auto h = local.submit(spec(dir, "exec kill -SEGV $$"));
  REQUIRE(h.has_value());
  auto r = wait(local, *h);
  CHECK(r.exit_code == 139);
  CHECK(r.describe().rfind("exit status 139 (signal 11", 0) == 0);
}
