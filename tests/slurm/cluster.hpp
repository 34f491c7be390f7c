// The real one-node Slurm for the slurm_cluster tests: started once per test
// program by tests/slurm/local-slurm; where it cannot start (not root, packages
// missing) the program exits 77, which Meson reports as skipped.
#pragma once

#include "support.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace speedrunner::testing {

inline void need_cluster() {
  static const bool started = [] {
    auto r = run_shell((source_root() / "tests/slurm/local-slurm").string() + " start");
    if (r.status == 77) {
      std::fprintf(stderr, "skipping the real-Slurm tests: %s", r.output.c_str());
      std::exit(77);
    }
    const auto at = r.output.find("SLURM_CONF=");
    if (r.status != 0 || at == std::string::npos) {
      std::fprintf(stderr, "tests/slurm/local-slurm start failed (status %d):\n%s", r.status, r.output.c_str());
      std::exit(1);
    }
    std::string conf = r.output.substr(at + 11);
    conf = conf.substr(0, conf.find('\n'));
    ::setenv("SLURM_CONF", conf.c_str(), 1);
    return true;
  }();
  (void)started;
}

// The job's state as the controller reports it now ("RUNNING", "CANCELLED").
inline std::string slurm_state(const std::string& id) {
  auto r = run_shell("squeue --noheader --states=all --Format=State: --jobs=" + id);
  auto s = r.output;
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n')) s.pop_back();
  return s;
}

}  // namespace speedrunner::testing
