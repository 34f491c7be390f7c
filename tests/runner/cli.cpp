// The speedrun executable's front door: --help, --version, and bad commands.
#include <speedrunner/version.hpp>

#include "catch.hpp"
#include "support.hpp"

using speedrunner::testing::run_shell;
using speedrunner::testing::speedrun_exe;

TEST_CASE("speedrun --version prints the library version", "[runner][cli]") {
  auto r = run_shell(speedrun_exe() + " --version");
  CHECK(r.status == 0);
  CHECK(r.output == std::string("speedrun ") + speedrunner::version_string + "\n");
}

TEST_CASE("speedrun --help describes the command line", "[runner][cli]") {
  auto r = run_shell(speedrun_exe() + " --help");
  CHECK(r.status == 0);
  CHECK(r.output.find("Usage:") != std::string::npos);
  CHECK(r.output.find("Overrides are Hydra-style") != std::string::npos);
}

TEST_CASE("an unknown command is a usage error that points at --help", "[runner][cli]") {
  auto r = run_shell(speedrun_exe() + " --frobnicate");
  CHECK(r.status == 2);
  CHECK(r.output.find("unknown command or option '--frobnicate'") != std::string::npos);
  CHECK(r.output.find("speedrun --help") != std::string::npos);
}
