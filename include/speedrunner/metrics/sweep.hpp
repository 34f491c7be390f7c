// Runs compared across conditions, the paper's way: each run's condition
// (scaffold, model, hint levels) read from its config.json, runs grouped by
// condition, and per condition the FSR aggregates with stratified-bootstrap
// intervals, one stratum per record (aggregate.hpp). `speedrun report` prints
// and `speedrun view` draws this one computation.
#pragma once

#include <speedrunner/metrics/aggregate.hpp>
#include <speedrunner/metrics/run_scores.hpp>

#include <algorithm>
#include <compare>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace speedrunner::metrics {

// What a run was given: the search scaffold, the model, the hint levels.
struct Condition {
  std::string scaffold;  // the science_runner option: aide, bon, scaffold/flat, ...
  std::string model;     // the model option: o3_mini, replay, ...
  std::string hints;     // "none", or the levels of knowledge_src_paths: "0", "1+2"
  auto operator<=>(const Condition&) const = default;
  [[nodiscard]] std::string label() const { return scaffold + " / " + model + " / hints " + hints; }
};

// The condition a run directory's config.json records.
[[nodiscard]] inline Condition condition_of(const std::filesystem::path& run_dir) {
  Condition c{"?", "?", "none"};
  auto config = detail::read_json(run_dir / "config.json", "");
  if (!config) return c;
  auto choice = [&](std::string_view group) -> std::string {
    if (auto* v = detail::at_path(*config, {"choices", group}); v && v->is_string()) return std::string(v->as_string());
    return "?";
  };
  c.scaffold = choice("science_runner");
  c.model = choice("model");
  std::set<int> levels;
  bool other = false;
  if (auto* paths = detail::at_path(*config, {"knowledge_src_paths"}); paths && paths->is_array())
    for (const auto& p : paths->as_array()) {
      if (!p.is_string()) continue;
      const std::string s(p.as_string());
      const auto at = s.rfind("level_");
      if (at != std::string::npos && at + 6 < s.size() && s[at + 6] >= '0' && s[at + 6] <= '9') levels.insert(s[at + 6] - '0');
      else other = true;
    }
  if (!levels.empty() || other) {
    c.hints.clear();
    for (int l : levels) c.hints += (c.hints.empty() ? "" : "+") + std::to_string(l);
    if (other) c.hints += c.hints.empty() ? "other" : "+other";
  }
  return c;
}

// The run folders under `paths`: a folder holding journal.json is a run; any
// other folder (a sweep) is searched at any depth for such folders, whatever
// manifest it keeps. Sorted, without duplicates.
[[nodiscard]] inline std::vector<std::filesystem::path> find_runs(const std::vector<std::filesystem::path>& paths) {
  namespace fs = std::filesystem;
  std::set<fs::path> runs;
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::exists(p / "journal.json", ec)) {
      runs.insert(p);
      continue;
    }
    auto it = fs::recursive_directory_iterator(p, fs::directory_options::skip_permission_denied, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_directory(ec)) continue;
      const auto name = it->path().filename().string();
      if (name.starts_with("v_") || name.starts_with(".")) {  // version folders hold no runs
        it.disable_recursion_pending();
        continue;
      }
      if (fs::exists(it->path() / "journal.json", ec)) {
        runs.insert(it->path());
        it.disable_recursion_pending();
      }
    }
  }
  return {runs.begin(), runs.end()};
}

// A scored run with its condition.
struct ConditionedRun {
  RunScore score;
  Condition condition;
};

// One condition's runs: their FSRs per record (track, record) and the aggregates.
struct ConditionSummary {
  Condition condition;
  std::map<std::pair<std::string, int>, std::vector<double>> fsr;  // per (track, record), in run order
  Estimate estimate;
};

struct Comparison {
  std::vector<ConditionSummary> conditions;  // in Condition order
  int resamples = default_resamples;
  std::uint64_t seed = 0;
};

// Groups the runs by condition and estimates each condition's aggregates,
// every condition from the same seed (so adding a condition moves no other).
[[nodiscard]] inline Comparison compare(const std::vector<ConditionedRun>& runs, int resamples = default_resamples,
                                        std::uint64_t seed = 0) {
  Comparison out;
  out.resamples = resamples;
  out.seed = seed;
  std::map<Condition, ConditionSummary> by;
  for (const auto& r : runs) {
    auto& s = by[r.condition];
    s.condition = r.condition;
    s.fsr[{r.score.track, r.score.record}].push_back(r.score.fsr);
  }
  for (auto& [c, s] : by) {
    Strata strata;
    for (const auto& [key, fsrs] : s.fsr) strata.push_back(fsrs);
    s.estimate = estimate(strata, resamples, seed);
    out.conditions.push_back(std::move(s));
  }
  return out;
}

// "0.512 [0.301, 0.700]": how the report and the page print an aggregate.
[[nodiscard]] inline std::string interval_text(double point, Interval ci) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%.3f [%.3f, %.3f]", point, ci.low, ci.high);
  return buf;
}

}  // namespace speedrunner::metrics
