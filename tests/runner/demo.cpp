// The offline demo through the executable: `speedrun` with no arguments
// replays the shipped transcript on the collatz task; interrupted with SIGINT
// it stops cleanly (exit 130), and `speedrun resume` finishes the same tree: a
// draft, a buggy node, its debug and an improvement.
#include <speedrunner/workspace/journal.hpp>

#include "catch.hpp"
#include "support.hpp"

#include <csignal>
#include <fcntl.h>
#include <filesystem>
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
  // a fresh working directory that sees the source tree's config, data and templates
  for (const char* d : {"config", "data", "workspace_templates"})
    std::filesystem::create_directory_symlink(source_root() / d, tmp.path() / d);
  const std::string out = (tmp.path() / "first.txt").string();
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    if (::chdir(tmp.path().c_str()) != 0) ::_exit(126);
    const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    const std::string exe = speedrun_exe();
    ::execl(exe.c_str(), exe.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
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
