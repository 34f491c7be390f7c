// speedrun: the reference executable. `speedrun [overrides]` runs the scientist
// loop on the configured task; subcommands handle runs, data and reports.
#include "commands.hpp"

#include <speedrunner/core/error.hpp>
#include <speedrunner/version.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <string>
#include <vector>

namespace speedrun {

namespace {

constexpr std::string_view overview =
    "speedrun - an LLM scientist that tries to speed up training runs\n"
    "\n"
    "Usage:\n"
    "  speedrun                                    the offline demo (the default config)\n"
    "  speedrun [--config-dir DIR] [OVERRIDE...]   run the scientist loop\n"
    "  speedrun --cfg [OVERRIDE...]                print the resolved configuration\n"
    "  speedrun COMMAND [ARGS...]                  see Commands below\n"
    "  speedrun --help | --version\n"
    "\n"
    "Overrides are Hydra-style: group=option (model=o3_mini, task=collatz),\n"
    "key=value (n_iterations=5), +key=value adds a key, ~key removes one.\n";

std::array table{
    Subcommand{"resume", "resume RUN_DIR [OVERRIDE...]", "continue a stopped run (raise n_iterations, budget.*)",
               resume_command},
    Subcommand{"cancel", "cancel RUN_DIR", "stop the run's queued and running jobs (Slurm or local)", cancel_command},
    Subcommand{"data", "data build|mini|check ...", "token shards: build from text, the mini corpus, check", data_command},
    Subcommand{"report", "report RUN_DIR|SWEEP_DIR... [--top-k K]",
               "FSR of finished NanoGPT speedrun runs, per record and the mean", report_command},
    Subcommand{"view", "view RUN_DIR|SWEEP_DIR... [--out FILE]",
               "an HTML page of runs and sweeps (tree, curves, the paper's figures)", view_command},
    Subcommand{"judge", "judge RUN_DIR [OVERRIDE...]",
               "a model scores how much of the record's change the best node reproduced", judge_command},
    Subcommand{"sweep", "sweep SWEEP_DIR [--records ...] [OVERRIDE...]",
               "run a grid of runs (records x levels x scaffolds x models x seeds); resumable", sweep_command},
    Subcommand{"context", "context [OVERRIDE...]",
               "the coder's view of the task's template: files shown or listed, tokens, fits the model?",
               context_command},
    Subcommand{"cumulative", "cumulative DIR --from R --to R2 [OVERRIDE...]",
               "chain records: each stage starts from the last one's best code", cumulative_command},
};

void print_help() {
  std::fputs(overview.data(), stdout);
  if (!table.empty()) {
    std::puts("\nCommands:");
    std::size_t width = 0;  // the usage column fits the longest usage
    for (const auto& c : table) width = std::max(width, c.usage.size());
    for (const auto& c : table)
      std::printf("  %-*.*s  %.*s\n", int(width), int(c.usage.size()), c.usage.data(), int(c.summary.size()),
                  c.summary.data());
  }
  std::puts("\n`speedrun COMMAND --help` describes a command's arguments.\n"
            "Documentation: README.md and docs/index.md in the source tree.");
}

int unknown(std::string_view what) {
  std::fprintf(stderr, "speedrun: unknown command or option '%.*s'\n  fix: see `speedrun --help`\n",
               int(what.size()), what.data());
  return int(speedrunner::ExitCode::usage);
}

}  // namespace

std::span<const Subcommand> subcommands() { return table; }

}  // namespace speedrun

int main(int argc, char** argv) {
  using namespace speedrun;
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty()) return run_command(args);  // the default config: the offline demo
  if (args[0] == "help" && args.size() == 2) {  // `speedrun help COMMAND` is `speedrun COMMAND --help`
    static constexpr std::string_view help_flag[] = {"--help"};
    for (const auto& c : subcommands())
      if (c.name == args[1]) return c.run(std::span(help_flag));
    return unknown(args[1]);
  }
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
  if (std::find(args.begin(), args.end(), "--cfg") != args.end()) {
    std::erase(args, "--cfg");
    return print_config(args);
  }
  // overrides (key=value, group=option, +key=..., ~key) and --config-dir start a run
  const auto a = args[0];
  if (a.find('=') != std::string_view::npos || a.starts_with('~') || a == "--config-dir" || a == "-cd")
    return run_command(args);
  return unknown(args[0]);
}
