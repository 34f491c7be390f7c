// The offline demo: `speedrun` with no arguments replays the shipped transcript
// on the collatz task and grows a tree with a draft, a buggy node, its debug and
// an improvement, in seconds.
#include <speedrunner/workspace/journal.hpp>

#include "catch.hpp"
#include "support.hpp"

#include <filesystem>

namespace ws = speedrunner::workspace;
using namespace speedrunner::testing;
using speedrunner::ideate::Stage;

TEST_CASE("speedrun with no arguments runs the offline demo end to end", "[runner][cli][demo]") {
  TempDir tmp;
  // a fresh working directory that sees the source tree's config, data and templates
  for (const char* d : {"config", "data", "workspace_templates"})
    std::filesystem::create_directory_symlink(source_root() / d, tmp.path() / d);
  auto r = run_shell("cd '" + tmp.path().string() + "' && " + speedrun_exe() + " </dev/null");
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(r.output.find("best: v_6") != std::string::npos);
  std::filesystem::path run;
  for (const auto& e : std::filesystem::directory_iterator(tmp.path() / "workspaces")) run = e.path();
  REQUIRE(run.filename().string().rfind("collatz_", 0) == 0);
  auto j = ws::Journal::load(run / "journal.json");
  REQUIRE(j.has_value());
  REQUIRE(j->n_nodes() == 9);
  for (const auto& n : j->nodes) CHECK(n.finished());
  CHECK(j->at(1).stage == Stage::draft);
  CHECK(j->at(1).valid);
  CHECK(j->at(2).buggy());                       // the memo draft forgot #include <vector>
  CHECK(j->at(2).outcome.find("error") != std::string::npos);
  CHECK(j->at(6).stage == Stage::debug);          // ... and its debug fixed it
  CHECK(j->at(6).parent == 2);
  CHECK(j->at(6).metrics.at("max_steps") == 685);
  CHECK(j->at(6).metrics.at("start_value") == 8400511);
  CHECK(j->best_valid() == 6);
  CHECK(j->at(5).metrics.at("max_steps") < 685);  // the best draft
  CHECK(j->at(8).stage == Stage::improve);        // an improvement of the best node
  CHECK(j->at(8).parent == 6);
  CHECK(j->at(8).valid);
  CHECK(j->at(7).reason.find("signal 11") != std::string::npos);  // the crash, then its debug
  CHECK(j->at(9).parent == 7);
  CHECK(j->at(9).valid);
}
