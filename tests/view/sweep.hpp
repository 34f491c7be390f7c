// Run folders made by the speedrun executable for the viewer's CLI and browser
// tests: the offline demo (replayed collatz transcript), and a small sweep of
// the NanoGPT task (records 1 and 2 x hint levels 0 and 1 x two "seeds"; the
// dummy ideator passes the hints to coder=patch, with model=replay configured).
// The sweep's launch command is a stand-in that prints validation lines ending
// at a time the cell chooses: no GPU, and the times are the test's.
#pragma once

#include "support.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
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

// Record R's calibrated mini-track time (ms), from its template's results.json.
inline double mini_baseline_ms(int record) {
  std::ifstream in(source_root() / "workspace_templates" / "nanogpt_speedrun" / ("record_" + std::to_string(record)) /
                   "results.json");
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  std::smatch m;
  static const std::regex mini_time(R"re("mini"\s*:\s*\{[^{}]*?"train_time_ms"\s*:\s*([0-9.]+))re");
  if (!std::regex_search(text, m, mini_time)) return 0;
  return std::stod(m[1]);
}

// The agent's fraction of the step R -> R+1 per cell: record 1 0.6 (seed 0) and 0.8 (seed 1),
// record 2 0.6 and 0.4; its time sits that far from t_R towards t_R+1 of the calibration.
inline double sweep_fraction(int record, int seed) { return record == 1 ? (seed == 0 ? 0.6 : 0.8) : (seed == 0 ? 0.6 : 0.4); }
inline long sweep_time(int record, int seed) {
  const double t_r = mini_baseline_ms(record), t_next = mini_baseline_ms(record + 1);
  return std::lround(t_r - sweep_fraction(record, seed) * (t_r - t_next));
}

// SWEEP/rR_hL_sS for R in {1, 2}, L in {0, 1}, S in {0, 1}; returns SWEEP.
inline std::filesystem::path run_sweep(const std::filesystem::path& cwd) {
  if (!std::filesystem::exists(cwd / "config")) link_sources(cwd);
  const auto fake = cwd / "fake_train.sh";
  {
    std::ofstream f(fake);
    f << "#!/bin/sh\n# stands in for ./run.sh: validation lines ending below the track's target at $1 ms\n"
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
            std::to_string(sweep_time(record, seed)) + "'" +
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
