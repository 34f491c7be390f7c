// What a run works on and how it is controlled: the task (template, entry
// files, launch command, metric contract) and the run's stopping rules.
#pragma once

#include <speedrunner/metrics/early_abort.hpp>
#include <speedrunner/metrics/metrics.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace speedrunner {

struct Task {
  std::string name{};                          // "collatz"
  std::string description{};                   // what to improve, for the ideator
  std::filesystem::path template_dir{};        // copied to v_0
  std::vector<std::string> files{};            // the editable entry files, relative to a version
  std::vector<std::string> editable{};         // patterns of further files edits may change or create
  std::vector<std::string> read_only{};        // shown to the coder, never edited
  std::string code_instructions{};             // for the coder
  std::string package_constraints{};           // what the coder may import or install
  std::string knowledge;                     // rendered hints, for the ideator (and coder if asked)
  bool knowledge_for_coder = false;
  std::string launch_command{};                // run by /bin/sh -c in the version folder
  std::chrono::milliseconds timeout{60'000}; // the run is stopped after this
  std::vector<std::pair<std::string, std::string>> env{};  // added to the run's environment
  metrics::Contract metrics{};
  metrics::WatchRules watch{};                 // early abort
  std::vector<std::string> ignore{"*.o", "*.log"};  // not copied from a parent to a child
};

struct RunControl {
  int n_iterations = 5;           // search iterations (plans) in the run, resumes included
  int max_n_nodes = 20;           // nodes the search may create
  double wall_clock_s = 0;        // this invocation's time limit; 0: none
  double budget_usd = 0;          // the run's model spending limit; 0: none
  std::uint64_t seed = 0;
  std::size_t max_log_chars = 30'000;  // head and tail of a log shown to a model
  std::chrono::milliseconds poll_interval{20};
};

}  // namespace speedrunner
