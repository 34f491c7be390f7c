// speedrun: the reference executable. `speedrun [overrides]` runs the scientist
// loop on the configured task; subcommands handle runs, data and reports.
#include "commands.hpp"
#include "job.hpp"

#include <speedrunner/core/error.hpp>
#include <speedrunner/version.hpp>

#include <array>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

namespace speedrun {
namespace {

constexpr std::string_view overview =
    "speedrun - an LLM scientist that tries to speed up training runs\n"
    "\n"
    "Usage:\n"
    "  speedrun [--config-dir DIR] [OVERRIDE...]   run the scientist loop\n"
    "  speedrun --cfg [OVERRIDE...]                print the resolved configuration\n"
    "  speedrun COMMAND [ARGS...]                  see Commands below\n"
    "  speedrun --help | --version\n"
    "\n"
    "Overrides are Hydra-style: group=option (model=o3_mini, task=collatz),\n"
    "key=value (n_iterations=5), +key=value adds a key, ~key removes one.\n";

std::array table{
    Subcommand{"cancel", "cancel RUN_DIR", "stop the run's queued and running jobs (Slurm or local)", cancel_command},
};

void print_help() {
  std::fputs(overview.data(), stdout);
  if (!table.empty()) {
    std::puts("\nCommands:");
    for (const auto& c : table)
      std::printf("  %-44.*s %.*s\n", int(c.usage.size()), c.usage.data(), int(c.summary.size()),
                  c.summary.data());
  }
  std::puts("\nDocumentation: README.md in the source tree.");
}

int unknown(std::string_view what) {
  std::fprintf(stderr, "speedrun: unknown command or option '%.*s'\n  fix: see `speedrun --help`\n",
               int(what.size()), what.data());
  return int(speedrunner::ExitCode::usage);
}

}  // namespace

std::span<const Subcommand> subcommands() { return table; }

JobSettings demo_settings(const std::filesystem::path& run_dir);

}  // namespace speedrun

namespace {
std::string timestamp() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d_%H%M%S", &tm);
  return buf;
}
}  // namespace

namespace speedrun {

}  // namespace speedrun

int main(int argc, char** argv) {
  using namespace speedrun;
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty()) return run_job(demo_settings("workspaces/collatz_" + timestamp()));
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_help();
    return 0;
  }
  if (args[0] == "--version" || args[0] == "-V") {
    std::printf("speedrun %s\n", speedrunner::version_string);
    return 0;
  }
  for (const auto& c : subcommands())
    if (c.name == args[0]) return c.run(std::span(args).subspan(1));
  return unknown(args[0]);
}
