// `speedrun cancel RUN_DIR`: stops the run's jobs that are still queued or
// running, wherever the journal says they are (Slurm job ids, local process
// groups), plus Slurm jobs working inside the run directory that the journal
// did not record yet. A runner still working on the run (RUN_DIR/runner.pid) is
// sent SIGTERM first, so it stops cleanly instead of submitting more; the
// journal stays consistent, and `speedrun resume` re-runs the cancelled nodes.
#include "commands.hpp"

#include <speedrunner/core/error.hpp>
#include <speedrunner/exec/slurm.hpp>
#include <speedrunner/workspace/atomic_file.hpp>
#include <speedrunner/workspace/journal.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <signal.h>
#include <unistd.h>

namespace speedrun {
namespace {

namespace fs = std::filesystem;
using speedrunner::ExitCode;

int error(const speedrunner::Error& e) {
  std::fprintf(stderr, "speedrun cancel: %s\n", e.message().c_str());
  return static_cast<int>(e.code);
}

// A local job's process group, when its leader still works inside the run.
bool stop_local(const std::string& pid_text, const fs::path& run_dir) {
  const long pid = std::strtol(pid_text.c_str(), nullptr, 10);
  if (pid <= 1) return false;
  std::error_code ec;
  const auto cwd = fs::read_symlink("/proc/" + std::to_string(pid) + "/cwd", ec);
  if (ec) return false;
  const auto root = fs::weakly_canonical(run_dir, ec).generic_string();
  const auto where = cwd.generic_string();
  if (where != root && !where.starts_with(root + "/")) return false;
  return ::killpg(static_cast<pid_t>(pid), SIGTERM) == 0;
}

// The runner still working on the run (RUN_DIR/runner.pid, a speedrun process):
// SIGTERM makes it stop cleanly and cancel its own jobs, so none is submitted after.
bool stop_runner(const fs::path& run_dir) {
  auto text = speedrunner::workspace::read_file(run_dir / "runner.pid");
  if (!text) return false;
  const long pid = std::strtol(text->c_str(), nullptr, 10);
  if (pid <= 1 || pid == ::getpid()) return false;
  auto cmdline = speedrunner::workspace::read_file("/proc/" + std::to_string(pid) + "/cmdline");
  if (!cmdline || cmdline->find("speedrun") == std::string::npos) return false;  // stale file, pid reused
  return ::kill(static_cast<pid_t>(pid), SIGTERM) == 0;
}

}  // namespace

int cancel_command(std::span<const std::string_view> args) {
  if (args.size() == 1 && (args[0] == "--help" || args[0] == "-h")) {
    std::puts("usage: speedrun cancel RUN_DIR\n"
              "  stops a run: its runner still working (RUN_DIR/runner.pid) gets SIGTERM first, then the\n"
              "  run's queued and running jobs are cancelled (Slurm jobs by scancel, local process groups\n"
              "  by SIGTERM). The journal stays consistent: `speedrun resume RUN_DIR` re-runs the\n"
              "  cancelled nodes.");
    return 0;
  }
  if (args.size() != 1 || args[0].starts_with("-"))
    return error({"usage: speedrun cancel RUN_DIR", "pass the run directory a run printed at its start"});
  const fs::path run_dir(args[0]);
  auto journal = speedrunner::workspace::Journal::load(run_dir / "journal.json");
  if (!journal)
    return error({run_dir.string() + " is not a run directory (" + journal.error().what + ")",
                  "pass the folder a run printed at its start, e.g. workspaces/collatz_20250101_120000"});

  const bool runner_stopped = stop_runner(run_dir);
  if (runner_stopped) std::printf("stopped the runner of %s\n", run_dir.string().c_str());

  std::set<std::string> slurm_ids;
  int local_stopped = 0;
  for (const auto& node : journal->nodes) {
    if (node.job.empty()) continue;
    if (auto id = speedrunner::exec::Slurm::job_id({node.job})) slurm_ids.insert(*id);
    else if (node.job.starts_with("local:") && stop_local(node.job.substr(6), run_dir)) ++local_stopped;
  }
  speedrunner::exec::Slurm slurm;
  // Of the journal's jobs, those still queued or running; jobs submitted but
  // not yet written to the journal are found by their folder. Without Slurm's
  // tools this only matters when the journal names Slurm jobs.
  std::vector<std::string> ids;
  if (auto found = slurm.jobs_of(run_dir, {slurm_ids.begin(), slurm_ids.end()})) ids = std::move(*found);
  else if (!slurm_ids.empty()) return error(found.error());
  std::sort(ids.begin(), ids.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
  });
  if (auto r = slurm.cancel_ids(ids); !r) return error(r.error());
  if (ids.empty() && local_stopped == 0) {
    if (!runner_stopped) std::printf("no jobs of %s are queued or running\n", run_dir.string().c_str());
    return 0;
  }
  if (!ids.empty()) {
    std::string list;
    for (const auto& id : ids) list += " " + id;
    std::printf("cancelled %zu Slurm job%s of %s:%s\n", ids.size(), ids.size() == 1 ? "" : "s",
                run_dir.string().c_str(), list.c_str());
  }
  if (local_stopped > 0)
    std::printf("stopped %d local job%s of %s\n", local_stopped, local_stopped == 1 ? "" : "s",
                run_dir.string().c_str());
  std::printf("resume the run with `speedrun resume %s`; its cancelled nodes run again\n", run_dir.string().c_str());
  return 0;
}

}  // namespace speedrun
