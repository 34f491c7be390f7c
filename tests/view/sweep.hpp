// Run folders made by the speedrun executable for the viewer's CLI and browser
// tests: the offline demo (replayed collatz transcript), and a small sweep of
// the NanoGPT task (records 1 and 2 x hint levels 0 and 1 x two "seeds"; the
// dummy ideator passes the hints to coder=patch, with model=replay configured).
// The sweep's launch command is a stand-in that prints validation lines ending
// at a time the cell chooses: no GPU, and the times are the test's.
#pragma once

#include "support.hpp"

#include <filesystem>
#include <fstream>
#include <string>

namespace speedrunner::testing {

// Runs the offline demo in `cwd`; returns its run folder.
inline std::filesystem::path run_demo(const std::filesystem::path& cwd) {
  link_sources(cwd);
  const auto run = cwd / "demo_run";
  auto r = run_shell("cd '" + cwd.string() + "' && " + speedrun_exe() + " workspace.root='" + run.string() + "'");
  INFO(r.output);
  REQUIRE(r.status == 0);
  return run;
}

// The agent's time per cell (ms): record 1 from 163.7 s, record 2 from 90.1 s (mini track, H100).
inline double sweep_time(int record, int seed) {
  return record == 1 ? (seed == 0 ? 120000 : 100000) : (seed == 0 ? 60000 : 70000);
}

// SWEEP/rR_hL_sS for R in {1, 2}, L in {0, 1}, S in {0, 1}; returns SWEEP.
inline std::filesystem::path run_sweep(const std::filesystem::path& cwd) {
  if (!std::filesystem::exists(cwd / "config")) link_sources(cwd);
  const auto fake = cwd / "fake_train.sh";
  {
    std::ofstream f(fake);
    f << "#!/bin/sh\n# stands in for ./run.sh: validation lines ending below the 3.5 target at $1 ms\n"
         "echo \"step:0/100 val_loss:10.8 train_time:0ms step_avg:nanms\"\n"
         "echo \"step:50/100 val_loss:4.1 train_time:$(($1 / 2))ms step_avg:1ms\"\n"
         "echo \"step:100/100 val_loss:3.45 train_time:$1ms step_avg:1ms\"\n";
  }
  std::filesystem::permissions(fake, std::filesystem::perms::owner_exec, std::filesystem::perm_options::add);
  const auto sweep = cwd / "sweep";
  const auto hints = source_root() / "data" / "nanogpt_speedrun_knowledge_in_levels";
  for (int record : {1, 2})
    for (const char* level : {"0_diff", "1_pseudo"})
      for (int seed : {0, 1}) {
        const std::string name = "r" + std::to_string(record) + "_h" + std::string(1, level[0]) + "_s" + std::to_string(seed);
        const std::string cmd =
            "cd '" + cwd.string() + "' && " + speedrun_exe() + " task=nanogpt_speedrun/record_" + std::to_string(record) +
            " ideator=dummy coder=patch science_runner=bon model=replay n_iterations=1 seed=" + std::to_string(seed) +
            " 'knowledge_src_paths=[" + (hints / ("record_" + std::to_string(record)) / ("level_" + std::string(level) + ".txt")).string() +
            "]' workspace.root='" + (sweep / name).string() + "' task.launch_command='" + fake.string() + " " +
            std::to_string(static_cast<long>(sweep_time(record, seed))) + "'" +
            // the stand-in trainer reads no data and lives in the host's /tmp, which a sandboxed node does not see
            " '~task.tracks.mini.data_hash' executor.sandbox=off";
        auto r = run_shell(cmd);
        INFO(cmd << "\n" << r.output);
        // level 0 (a diff) gives a valid node; level 1 (pseudocode) leaves coder=patch nothing to apply
        REQUIRE(r.status == (level[0] == '0' ? 0 : 1));
      }
  return sweep;
}

}  // namespace speedrunner::testing
