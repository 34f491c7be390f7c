// Crash consistency of the offline demo through the executable: SIGKILL at a
// commit point (an fsync of the runner, through the kill_at_fsync preload shim)
// or while a node program runs, then `speedrun resume`, must finish with the
// tree an uninterrupted run grows, and stop what the killed runner left
// running first. (scripts/kill-harness does the same at every commit point and
// at 100 random moments.)
#include <speedrunner/workspace/journal.hpp>

#include "catch.hpp"
#include "support.hpp"

#include <csignal>
#include <fstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace ws = speedrunner::workspace;
using namespace speedrunner::testing;

namespace {

const std::string short_demo = "n_iterations=2";

// What must not depend on a kill: shape, ideas, verdicts, metrics but the
// measured runtime, the answers used and each version's entry file.
std::string tree_of(const std::filesystem::path& run) {
  auto j = ws::Journal::load(run / "journal.json");
  if (!j) return "unreadable journal: " + j.error().message();
  std::string out = "iterations " + std::to_string(j->iterations) + "\n";
  for (const auto& [agent, n] : j->answers_used.value_or(std::map<std::string, std::int64_t>{})) out += "used " + agent + " " + std::to_string(n) + "\n";
  for (const auto& n : j->nodes) {
    out += n.name() + " parent " + (n.parent ? std::to_string(*n.parent) : "-") + " stage " +
           std::string(ws::stage_name(n.stage)) + " finished " + std::to_string(n.finished()) + " buggy " +
           std::to_string(n.buggy()) + " valid " + std::to_string(n.valid) + " idea " + n.hypothesis.summary;
    for (const auto& [k, v] : n.metrics)
      if (k != "runtime") out += " " + k + "=" + std::to_string(v);
    out += "\n" + ws::read_file(run / n.name() / "collatz.cpp").value_or("(no collatz.cpp)") + "\n";
  }
  return out;
}

// Starts the demo in `cwd` with extra environment; returns the child's pid.
pid_t start_demo(const std::filesystem::path& cwd, const std::filesystem::path& run,
                 std::vector<std::pair<std::string, std::string>> env, const std::string& extra = "executor.sandbox=bwrap") {
  const pid_t child = ::fork();
  if (child == 0) {
    if (::chdir(cwd.c_str()) != 0) ::_exit(126);
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    const int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    const std::string exe = speedrun_exe(), root = "workspace.root=" + run.string();
    ::execl(exe.c_str(), exe.c_str(), short_demo.c_str(), extra.c_str(), root.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return child;
}

Run resume(const std::filesystem::path& cwd, const std::filesystem::path& run) {
  return run_shell("cd '" + cwd.string() + "' && " + speedrun_exe() + " resume '" + run.string() + "'");
}

// Processes a runner started for a version of `run`.
int node_programs_in(const std::filesystem::path& run) {
  int n = 0;
  std::error_code ec;
  const auto real = std::filesystem::canonical(run, ec);
  if (ec) return 0;  // not made yet
  const std::string marker = "SPEEDRUNNER_VERSION_DIR=" + real.string() + "/";
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    std::ifstream env(e.path() / "environ", std::ios::binary);
    for (std::string var; std::getline(env, var, '\0');)
      if (var.starts_with(marker)) ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("a demo killed at a commit point or mid-node resumes to the uninterrupted tree", "[runner][cli][crash]") {
  // one reference for every section (Catch runs the case once per section)
  static TempDir tmp;
  static const std::string expected = [] {
    link_sources(tmp.path());
    int status = 0;
    ::waitpid(start_demo(tmp.path(), tmp.path() / "reference", {}), &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? tree_of(tmp.path() / "reference") : std::string{};
  }();
  REQUIRE_FALSE(expected.empty());
  INFO(expected);
  const auto shim = std::getenv("SPEEDRUN_KILL_SHIM");
  REQUIRE(shim != nullptr);
  int status = 0;

  // the first commit point (nothing recorded yet) and the sixth (a model
  // answer given before its step was recorded)
  for (int k : {1, 6}) {
    DYNAMIC_SECTION("killed at fsync " << k) {
      const auto run = tmp.path() / ("fsync_" + std::to_string(k));
      ::waitpid(start_demo(tmp.path(), run, {{"LD_PRELOAD", shim}, {"SPEEDRUN_KILL_AT_FSYNC", std::to_string(k)}}),
                &status, 0);
      REQUIRE(WIFSIGNALED(status));
      CHECK(WTERMSIG(status) == SIGKILL);
      auto r = resume(tmp.path(), run);
      INFO(r.output);
      REQUIRE(r.status == 0);
      CHECK(tree_of(run) == expected);
    }
  }

  // Unconfined, a node program outlives its runner and the resume must stop it; in the sandbox
  // (bwrap --die-with-parent) it goes with the runner, and the resume stops whatever is left.
  for (const char* sandbox : {"off", "bwrap"}) {
    DYNAMIC_SECTION("killed while a node program runs, executor.sandbox=" << sandbox << ": the resume stops it first") {
      const auto run = tmp.path() / (std::string("mid_node_") + sandbox);
      const pid_t child = start_demo(tmp.path(), run, {}, std::string("executor.sandbox=") + sandbox);
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      while (std::chrono::steady_clock::now() < deadline && node_programs_in(run) == 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      REQUIRE(node_programs_in(run) > 0);
      ::kill(child, SIGKILL);
      ::waitpid(child, &status, 0);
      if (std::string(sandbox) == "off") CHECK(node_programs_in(run) > 0);  // the program outlives its runner...
      auto r = resume(tmp.path(), run);
      INFO(r.output);
      REQUIRE(r.status == 0);
      CHECK(node_programs_in(run) == 0);  // ...but not the resume
      CHECK(tree_of(run) == expected);
      // a finished run resumes to itself
      auto again = resume(tmp.path(), run);
      INFO(again.output);
      CHECK(again.status == 0);
      CHECK(tree_of(run) == expected);
    }
  }
}

TEST_CASE("SIGTERM as soon as the runner can catch it stops the demo cleanly, with v_0 and a journal",
          "[runner][cli][crash]") {
  TempDir tmp;
  link_sources(tmp.path());
  const auto run = tmp.path() / "early";
  const pid_t child = start_demo(tmp.path(), run, {});
  // the moment SIGTERM is caught (SigCgt), long before the config is read; by speedrun itself,
  // not by the test's own handlers in the forked child before its exec
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  const auto exe = std::filesystem::canonical(speedrun_exe());
  bool caught = false;
  while (!caught && std::chrono::steady_clock::now() < deadline) {
    std::error_code ec;
    if (std::filesystem::read_symlink("/proc/" + std::to_string(child) + "/exe", ec) != exe) continue;
    std::ifstream st("/proc/" + std::to_string(child) + "/status");
    for (std::string line; std::getline(st, line);)
      if (line.starts_with("SigCgt:")) caught = (std::stoull(line.substr(7), nullptr, 16) >> (SIGTERM - 1)) & 1;
  }
  REQUIRE(caught);
  ::kill(child, SIGTERM);
  int status = 0;
  ::waitpid(child, &status, 0);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 130);
  CHECK(std::filesystem::is_directory(run / "v_0"));
  CHECK(ws::Journal::load(run / "journal.json").has_value());
  auto r = resume(tmp.path(), run);
  INFO(r.output);
  CHECK(r.status == 0);
}
