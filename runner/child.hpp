// Starting speedrun itself as a child process (the cells of `speedrun sweep`,
// the stages of `speedrun cumulative`), and the small file conventions they share.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace speedrun {

// This executable (/proc/self/exe), to start cells and stages with.
std::string self_exe();

// The hint files of `level` ("1", "1+2", "none": no files) for `record` under
// `knowledge_dir`: one glob per level, data/.../record_R/level_L_*.txt.
std::vector<std::string> hint_globs(const std::filesystem::path& knowledge_dir, int record, const std::string& level);

// Checks a level: "none", or digits 0-3 joined by '+' ("1+2"); returns the error text.
std::optional<std::string> bad_level(const std::string& level);

// The default folder of the hint files: data/nanogpt_speedrun_knowledge_in_levels
// under the working directory, else under the source tree.
std::filesystem::path default_knowledge_dir();

// The default folder of the record templates (workspace_templates/nanogpt_speedrun), as `report` uses.
std::filesystem::path default_templates();

// Starts `exe args...` in the background through a small shell wrapper that
// writes the command's exit status to `exit_file` (atomically) when it ends,
// and forwards SIGTERM/SIGINT to it; output goes to `log`. The wrapper leads
// its own process group. Returns the wrapper's pid, or -1.
// `lock_file` is locked (flock) before the fork and held by the wrapper and the
// command until they end, so no moment exists in which a started cell looks idle
// (see cell_locked). Returns -1 when the lock is held already.
pid_t spawn_cell(const std::string& exe, const std::vector<std::string>& args, const std::filesystem::path& cwd,
                 const std::filesystem::path& log, const std::filesystem::path& exit_file,
                 const std::filesystem::path& lock_file);

// Whether a process still holds the cell's lock file (its wrapper or command runs).
bool cell_locked(const std::filesystem::path& lock_file);

// Runs `exe args...` in the foreground (output to ours) and returns its exit status.
int run_child(const std::string& exe, const std::vector<std::string>& args);

// The exit status a cell's wrapper wrote, if it has ended.
std::optional<int> read_exit(const std::filesystem::path& exit_file);

// Whether `pid` is alive and is the wrapper of cell `id` (its command line names the cell).
bool wrapper_alive(pid_t pid, const std::string& id);

// A whole number from the start of a small file (a pid, a job id).
std::optional<long> read_number(const std::filesystem::path& file);

// Quotes a word for a POSIX shell.
std::string shell_quote(const std::string& s);

}  // namespace speedrun
