// Tests of include/speedrunner/exec/local.hpp: logs, exit status, timeouts that
// kill whole process trees, GPU slots and early abort.
#include <speedrunner/exec/local.hpp>
#include <speedrunner/workspace/atomic_file.hpp>

#include "catch.hpp"
#include "support.hpp"

#include <fstream>
#include <thread>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

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

// Whether a process of this test's (a child, or one it cannot reap) still runs.
bool alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(stat, text)) return false;
  const auto close = text.rfind(')');
  return close != std::string::npos && close + 2 < text.size() && text[close + 2] != 'Z';
}

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

TEST_CASE("a log is capped: its head and tail are kept and the note says how much was dropped",
          "[exec][local][log_cap]") {
  TempDir dir;
  ex::Local local({.slots = 1, .max_log_bytes = 100000});
  // 3 MB on stdout: a first line, numbered lines, a last line; a little on stderr
  auto h = local.submit(spec(dir, "echo first; seq 1 400000; echo last; echo err-line >&2"));
  REQUIRE(h.has_value());
  auto r = wait(local, *h);
  CHECK(r.exit_code == 0);
  const auto out = *speedrunner::workspace::read_file(r.stdout_path);
  const std::size_t total = 6 + 2688895 + 5;  // "first\n", seq 1..400000 with newlines, "last\n"
  CHECK(out.size() < 100000 + 200);
  CHECK(out.rfind("first\n1\n2\n", 0) == 0);
  CHECK(out.ends_with("399999\n400000\nlast\n"));
  const std::string note = "[... speedrun dropped " + std::to_string(total - 100000) + " bytes of this log here";
  CHECK(out.find(note) != std::string::npos);
  CHECK(*speedrunner::workspace::read_file(r.stderr_path) == "err-line\n");
}

TEST_CASE("a program printing as fast as it can is still stopped at its time limit, its log capped",
          "[exec][local][timeout][log_cap]") {
  TempDir dir;
  // unconfined: the sandbox's start-up (slow on a busy machine) would eat into the short limit
  ex::Local local({.slots = 1, .kill_grace = 200ms, .sandbox = {.kind = ex::SandboxKind::off}, .max_log_bytes = 1 << 20});
  auto s = spec(dir, "yes 'a line printed without end'");
  s.timeout = 1s;
  const auto start = std::chrono::steady_clock::now();
  auto h = local.submit(s);
  REQUIRE(h.has_value());
  auto r = wait(local, *h);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(r.timed_out);
  CHECK(took < 5.0);
  CHECK(std::filesystem::file_size(r.stdout_path) < (1 << 20) + 200);
  CHECK(speedrunner::workspace::read_file(r.stdout_path)->find("bytes of this log here") != std::string::npos);
}

TEST_CASE("after SIGTERM the whole group gets its grace period, even when the shell leader dies at once",
          "[exec][local][timeout]") {
  TempDir dir;
  // unconfined: in the sandbox the node's processes end with its command (the sandbox's init goes)
  ex::Local local({.slots = 1, .kill_grace = 3s, .sandbox = {.kind = ex::SandboxKind::off}});
  // the leader (sh waiting) dies on SIGTERM; its child cleans up for 0.3 s first
  auto s = spec(dir, "sh -c 'trap \"sleep 0.3; echo cleaned > done.txt; exit 0\" TERM; "
                     "echo ready > ready.txt; while :; do sleep 0.05; done' & wait");
  s.timeout = 10s;
  SECTION("at the time limit") {
    s.timeout = 500ms;
    auto h = local.submit(s);
    REQUIRE(h.has_value());
    auto r = wait(local, *h);
    CHECK(r.timed_out);
  }
  SECTION("when cancelled") {
    auto h = local.submit(s);
    REQUIRE(h.has_value());
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!std::filesystem::exists(dir.path() / "ready.txt") && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(5ms);
    std::this_thread::sleep_for(100ms);  // the trap is set once the loop runs
    local.cancel(*h);
  }
  CHECK(speedrunner::workspace::read_file(dir.path() / "done.txt").value_or("") == "cleaned\n");
}

TEST_CASE("what a killed runner left running in a job's folder is stopped, and nothing else",
          "[exec][local][resume]") {
  TempDir dir, elsewhere;
  // a job's program (it carries the folder in its environment) and a bystander's shell working there
  const std::string var = std::string(ex::Local::version_dir_variable) + "=" +
                          std::filesystem::canonical(dir.path()).string();
  const pid_t job = ::fork();
  if (job == 0) {
    ::setpgid(0, 0);
    if (::chdir(elsewhere.path().c_str()) != 0) ::_exit(126);
    ::putenv(const_cast<char*>(var.c_str()));
    ::execl("/bin/sh", "sh", "-c", "sleep 30 & wait", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const pid_t bystander = ::fork();
  if (bystander == 0) {
    if (::chdir(dir.path().c_str()) != 0) ::_exit(126);
    ::execl("/bin/sleep", "sleep", "30", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::this_thread::sleep_for(200ms);
  ex::Local local;
  CHECK_FALSE(local.reattach(spec(dir, "true"), ex::JobHandle{""}));
  CHECK_FALSE(alive(job));  // stopped (and reaped: it was this test's child)
  CHECK(alive(bystander));
  int status = 0;
  ::kill(bystander, SIGKILL);
  ::waitpid(bystander, &status, 0);
}

TEST_CASE("a sandboxed program a killed runner left is stopped with its whole sandbox, even one that drops "
          "the folder from its environment", "[exec][local][resume][sandbox]") {
  TempDir dir;
  const std::string var = std::string(ex::Local::version_dir_variable) + "=" +
                          std::filesystem::canonical(dir.path()).string();
  const std::string d = std::filesystem::canonical(dir.path()).string();
  // bwrap as the executor starts it, but without --die-with-parent (as if its runner died before bwrap
  // started): a PID namespace, a new session, and a program inside that runs with an empty environment
  const std::string inner = "env -i /bin/sh -c '" + beat(d + "/beat") + "' & wait";
  const pid_t sandbox = ::fork();
  if (sandbox == 0) {
    ::setpgid(0, 0);
    ::putenv(const_cast<char*>(var.c_str()));
    ::execlp("bwrap", "bwrap", "--unshare-all", "--unshare-user", "--new-session", "--ro-bind", "/", "/", "--proc",
             "/proc", "--dev", "/dev", "--bind", d.c_str(), d.c_str(), "--chdir", d.c_str(), "/bin/sh", "-c",
             inner.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!std::filesystem::exists(dir.path() / "beat") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  REQUIRE(still_beating(dir.path() / "beat"));
  ex::Local local;
  CHECK_FALSE(local.reattach(spec(dir, "true"), ex::JobHandle{""}));
  CHECK_FALSE(alive(sandbox));
  CHECK_FALSE(still_beating(dir.path() / "beat"));
  ::kill(sandbox, SIGKILL);
  ::waitpid(sandbox, nullptr, 0);
}
