// The speedrun executable's subcommands. Each lives in its own translation
// unit (keeps rebuilds small); main.cpp only dispatches.
#pragma once

#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

namespace speedrun {

// argv after the subcommand name; returns the process exit code.
using Command = int (*)(std::span<const std::string_view> args);

struct Subcommand {
  std::string_view name;
  std::string_view usage;    // one line: "data build --source ... --out DIR"
  std::string_view summary;  // one line for `speedrun --help`
  Command run;
};

// Defined in main.cpp: the table of all subcommands, in help order.
std::span<const Subcommand> subcommands();

// The commands, each in its own file under runner/.
// `speedrun [--config-dir DIR] [OVERRIDE...]` (run.cpp): a new run; no
// arguments run the default config, the offline demo.
int run_command(std::span<const std::string_view> args);
// `speedrun resume RUN_DIR [OVERRIDE...]` (run.cpp).
int resume_command(std::span<const std::string_view> args);
// `speedrun cancel RUN_DIR` (cancel.cpp): stops the run's queued and running jobs.
int cancel_command(std::span<const std::string_view> args);
// `speedrun data build|mini|check ...` (data.cpp).
int data_command(std::span<const std::string_view> args);
// `speedrun report RUN_DIR...` (report.cpp): FSR per run, per record and overall.
int report_command(std::span<const std::string_view> args);
// `speedrun view RUN_DIR|SWEEP_DIR...` (view.cpp): the HTML page and SVG figures.
int view_command(std::span<const std::string_view> args);
// `speedrun judge RUN_DIR [OVERRIDE...]` (judge.cpp): scores the best node against the record's change.
int judge_command(std::span<const std::string_view> args);
// Rewrites RUN_DIR/view.html and its figures (view.cpp); the runner calls it
// after every node (`live`: the page reloads itself). False when it could not.
bool write_run_view(const std::filesystem::path& run_dir, bool live);
// The record templates: workspace_templates/nanogpt_speedrun under the current
// folder, else under the source tree speedrun was built from (report.cpp).
std::filesystem::path default_templates();
// `speedrun sweep SWEEP_DIR [GRID] [OPTIONS] [OVERRIDE...]` (sweep.cpp): a grid of runs.
int sweep_command(std::span<const std::string_view> args);
// The run folders of the sweep in `dir` (its cells that have a journal), for `report`.
std::vector<std::filesystem::path> sweep_runs(const std::filesystem::path& dir);
// `speedrun cumulative CUM_DIR --from R --to R2 [OPTIONS] [OVERRIDE...]` (cumulative.cpp).
int cumulative_command(std::span<const std::string_view> args);
// `speedrun context [OVERRIDE...]` (context.cpp): the coder's prompt on the task's template, per file, in tokens.
int context_command(std::span<const std::string_view> args);
// `speedrun --cfg [--config-dir DIR] [OVERRIDE...]` (cfg.cpp): prints the
// resolved config; `args` are the arguments without "--cfg".
int print_config(std::span<const std::string_view> args);

}  // namespace speedrun
