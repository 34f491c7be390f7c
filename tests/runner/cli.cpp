// The speedrun executable's front door: --help, --version, and bad commands.
#include <speedrunner/version.hpp>

#include "catch.hpp"
#include "support.hpp"

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

using speedrunner::testing::run_shell;
using speedrunner::testing::speedrun_exe;
using speedrunner::testing::source_root;
using speedrunner::testing::TempDir;

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

namespace {
// The command names of `speedrun --help`'s "Commands:" table, in its order.
std::vector<std::string> listed_commands() {
  auto r = run_shell(speedrun_exe() + " --help");
  std::vector<std::string> names;
  const auto table = r.output.find("\nCommands:\n");
  if (table == std::string::npos) return names;
  std::istringstream lines(r.output.substr(table + 11));
  for (std::string line; std::getline(lines, line) && line.starts_with("  ");)
    names.push_back(line.substr(2, line.find(' ', 2) - 2));
  return names;
}
}  // namespace

TEST_CASE("speedrun --help lists every subcommand on one line with what it does", "[runner][cli]") {
  const auto names = listed_commands();
  for (const char* expected : {"resume", "cancel", "data", "report"}) {
    INFO(expected);
    CHECK(std::find(names.begin(), names.end(), expected) != names.end());
  }
  auto r = run_shell(speedrun_exe() + " --help");
  for (const auto& name : names) {  // each line: usage, then a summary after the padding
    const auto at = r.output.find("\n  " + name + " ");
    REQUIRE(at != std::string::npos);
    const auto line = r.output.substr(at + 1, r.output.find('\n', at + 1) - at - 1);
    INFO(line);
    const auto gap = line.find("  ", 2);  // the usage, two spaces or more, the summary
    REQUIRE(gap != std::string::npos);
    CHECK(line.find_first_not_of(' ', gap) != std::string::npos);
  }
}

TEST_CASE("every subcommand, and each data command, answers --help with its usage and exits 0", "[runner][cli]") {
  auto commands = listed_commands();
  REQUIRE(commands.size() >= 4);
  for (const char* sub : {"data build", "data mini", "data check"}) commands.emplace_back(sub);
  for (const auto& command : commands) {
    for (const char* flag : {" --help", " -h"}) {
      auto r = run_shell(speedrun_exe() + " " + command + flag);
      INFO(command << flag << "\n" << r.output);
      CHECK(r.status == 0);
      CHECK(r.output.find("sage:") != std::string::npos);  // "usage:" or "Usage:"
      CHECK(r.output.find("speedrun " + command) != std::string::npos);
    }
  }
  SECTION("`speedrun help COMMAND` is the same text") {
    CHECK(run_shell(speedrun_exe() + " help resume").output == run_shell(speedrun_exe() + " resume --help").output);
    CHECK(run_shell(speedrun_exe() + " help nosuch").status == 2);
  }
  SECTION("a data command's help names only its own options") {
    auto r = run_shell(speedrun_exe() + " data check --help");
    CHECK(r.output.find("data check DIR") != std::string::npos);
    CHECK(r.output.find("data build") == std::string::npos);
  }
}

TEST_CASE("bad task settings are usage errors naming the key before anything runs", "[runner][cli][bad_input]") {
  TempDir tmp;
  const std::string cd = "cd '" + source_root().string() + "' && " + speedrun_exe() + " workspace.root='" +
                         (tmp.path() / "run").string() + "' ";
  for (const char* limit : {"1e10", "1e300"}) {
    auto r = run_shell(cd + "task.time_limit_s=" + limit);
    INFO(r.output);
    CHECK(r.status == 2);
    CHECK(r.output.find("task.time_limit_s") != std::string::npos);
  }
  for (const char* files : {"[/etc/passwd]", "[../../etc/passwd]"}) {
    auto r = run_shell(cd + "'task.entry_files=" + files + "'");
    INFO(r.output);
    CHECK(r.status == 2);
    CHECK(r.output.find("task.entry_files") != std::string::npos);
  }
  auto r = run_shell(cd + "'knowledge_src_paths=[/dev/zero]'");
  INFO(r.output);
  CHECK(r.status == 2);
  CHECK(r.output.find("/dev/zero is not a regular file") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(tmp.path() / "run" / "v_0"));
}

TEST_CASE("speedrun context shows what the coder sees of a record, in tokens, and whether it fits",
          "[runner][cli][context]") {
  auto r = run_shell(speedrun_exe() + " context task=nanogpt_speedrun/record_5 model=o3_mini");
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK(r.output.find("coder model o3_mini") != std::string::npos);
  CHECK(r.output.find("  full       train_gpt2.cpp ") != std::string::npos);
  CHECK(r.output.find("  listed     flash_attention.cuh ") != std::string::npos);
  CHECK(r.output.find("Fused causal attention (flash-style)") != std::string::npos);
  CHECK(r.output.find("files: 5 shown in full, 26 listed") != std::string::npos);
  CHECK(r.output.find("+ 32,768 kept for the answer, in a window of 200,000 tokens: fits") != std::string::npos);
  CHECK(r.output.find("results.json") == std::string::npos);

  // a window too small: the report says so, and a run refuses to start, naming both sizes
  auto small = run_shell(speedrun_exe() + " context +model.context_window=1000");
  INFO(small.output);
  CHECK(small.status == 1);
  CHECK(small.output.find("in a window of 1,000 tokens: does NOT fit") != std::string::npos);
  speedrunner::testing::TempDir tmp;
  auto run = run_shell("cd " + tmp.path().string() + " && " + speedrun_exe() +
                       " +model.context_window=1000 workspace.root=" + (tmp.path() / "run").string());
  INFO(run.output);
  CHECK(run.status == 2);
  CHECK(run.output.find("the coder's first prompt on ") != std::string::npos);
  CHECK(run.output.find(" tokens (estimated), over the context window of replay, 1,000 tokens") != std::string::npos);
  CHECK(run.output.find("fix: show fewer files in full (task.entry_files") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(tmp.path() / "run" / "journal.json"));
}
