// FSR, the fraction of speedup recovered, the benchmark's score for a run that
// starts from record R: (t_R - t_agent) / (t_R - t_R+1), with t_agent the best
// training time among the run's valid nodes (v_0, the record-R template, too).
#pragma once

#include <speedrunner/core/error.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace speedrunner::metrics {

// The two record times a run is scored against, on the run's track, with the
// spread of the calibration runs behind each (min = max = the time when only
// one figure is known).
struct Baseline {
  double record_ms = 0;  // t_R: the template the run started from
  double next_ms = 0;    // t_R+1: the record it tries to reproduce
  double record_min_ms = 0, record_max_ms = 0, next_min_ms = 0, next_max_ms = 0;
};

// 1 when the agent matches record R+1, 0 when it is no faster than record R,
// above 1 when it beats R+1. An error of kind "no_speedup" when R+1 is not faster
// than R on this track (the speedup to recover is not positive, so the fraction
// means nothing): such a step stays in the benchmark, and reports label its runs
// "no gain on this track" and leave them out of their means. (A step can also be
// labelled so in record R+1's results.json, no_gain: score_run.)
[[nodiscard]] inline Result<double> fraction_of_speedup_recovered(const Baseline& b, double agent_ms) {
  if (!(b.record_ms > 0) || !(b.next_ms > 0) || !std::isfinite(agent_ms) || !(agent_ms > 0))
    return fail("FSR needs positive times, got t_R " + std::to_string(b.record_ms) + " ms, t_R+1 " +
                    std::to_string(b.next_ms) + " ms, t_agent " + std::to_string(agent_ms) + " ms",
                "check the templates' results.json and the run's train_time metrics");
  if (b.next_ms >= b.record_ms) {
    auto no_speedup = fail("no gain on this track: record R+1 (" + std::to_string(b.next_ms) +
                               " ms) is not faster than record R (" + std::to_string(b.record_ms) +
                               " ms), so there is no speedup to recover",
                           "score this step on a track where the next record is faster, or re-measure the baselines",
                           ExitCode::failure);
    no_speedup.error().kind = "no_speedup";
    return no_speedup;
  }
  return (b.record_ms - agent_ms) / (b.record_ms - b.next_ms);
}

// How far the FSR moves when t_R and t_R+1 range over their calibration runs:
// the lowest and highest FSR with each time at its smallest or largest (FSR is
// monotonic in each). Empty when some such pair leaves R+1 no faster than R,
// so that the spread alone could void the step.
struct FsrRange {
  double low = 0, high = 0;
};
[[nodiscard]] inline std::optional<FsrRange> fsr_range(const Baseline& b, double agent_ms) {
  const auto lo_hi = [](double t, double lo, double hi) {
    return std::pair{lo > 0 ? std::min(lo, t) : t, hi > 0 ? std::max(hi, t) : t};
  };
  const auto [r_lo, r_hi] = lo_hi(b.record_ms, b.record_min_ms, b.record_max_ms);
  const auto [n_lo, n_hi] = lo_hi(b.next_ms, b.next_min_ms, b.next_max_ms);
  FsrRange range{INFINITY, -INFINITY};
  for (double r : {r_lo, r_hi})
    for (double n : {n_lo, n_hi}) {
      if (n >= r) return std::nullopt;
      const double f = (r - agent_ms) / (r - n);
      range.low = std::min(range.low, f);
      range.high = std::max(range.high, f);
    }
  return range;
}

// One node of a run's journal, as far as scoring needs it.
struct NodeTime {
  int id = 0;             // 0 is v_0, the template copy
  bool valid = false;     // ran, printed its metrics, and met the task's bounds
  std::optional<double> train_time_ms;
};

// t_agent: the smallest train_time among valid nodes. v_0 is the record-R
// template itself, so when the journal holds no valid measurement of it the
// template's baseline t_R stands in for it; a run therefore never scores
// below 0 for having broken everything.
[[nodiscard]] inline double agent_time(std::span<const NodeTime> nodes, double record_ms) {
  std::optional<double> root;  // a measured v_0 replaces the stand-in (it may differ a little from t_R)
  double best_child = INFINITY;
  for (const auto& n : nodes) {
    if (!n.valid || !n.train_time_ms || !std::isfinite(*n.train_time_ms)) continue;
    if (n.id == 0) root = std::min(root.value_or(INFINITY), *n.train_time_ms);
    else best_child = std::min(best_child, *n.train_time_ms);
  }
  return std::min(root.value_or(record_ms), best_child);
}

// The score of one run (one search from one record).
struct RunScore {
  std::string run;        // the run directory as given
  int record = 0;         // R
  std::string track;      // mini | fineweb
  Baseline baseline;
  double agent_ms = 0;    // t_agent
  double fsr = 0;
  std::optional<FsrRange> fsr_range;  // over the baselines' calibration spread
  int nodes = 0;          // nodes in the journal, v_0 included
  int valid_nodes = 0;
  std::vector<std::string> run_cards;  // GPU models the run's nodes trained on (their logs' batch line)
  std::string baseline_card;           // GPU model of the calibrations t_R and t_R+1 come from
  std::string baseline_source;         // where t_R and t_R+1 come from when not our calibration (results.json "source")
};

// The runs of one record together.
struct RecordScore {
  int record = 0;
  std::string track;
  int runs = 0;
  double mean_fsr = 0;    // over this record's runs
  double top_k_fsr = 0;   // mean of this record's k best run FSRs (k capped at `runs`)
  int k = 0;              // the k used for this record
};

struct Report {
  std::vector<RunScore> runs;
  std::vector<RecordScore> records;   // by (track, record)
  double mean_fsr = 0;                // mean over records of their mean FSR (each record weighs the same)
  double mean_top_k_fsr = 0;          // the same over the records' top-k FSRs
  int k = 1;
};

// Groups runs by (track, record) and averages: per record over its runs, then
// over records. The top-k variant keeps, per record, the k best runs.
[[nodiscard]] inline Report summarize(std::vector<RunScore> runs, int k) {
  Report report;
  report.k = std::max(1, k);
  std::map<std::pair<std::string, int>, std::vector<double>> by_record;
  for (const auto& r : runs) by_record[{r.track, r.record}].push_back(r.fsr);
  for (auto& [key, fsrs] : by_record) {
    RecordScore s;
    s.track = key.first;
    s.record = key.second;
    s.runs = static_cast<int>(fsrs.size());
    double sum = 0;
    for (double f : fsrs) sum += f;
    s.mean_fsr = sum / static_cast<double>(fsrs.size());
    std::sort(fsrs.begin(), fsrs.end(), std::greater<>());
    s.k = std::min(report.k, s.runs);
    double top = 0;
    for (int i = 0; i < s.k; ++i) top += fsrs[static_cast<std::size_t>(i)];
    s.top_k_fsr = top / s.k;
    report.records.push_back(s);
  }
  if (!report.records.empty()) {
    double mean = 0, top = 0;
    for (const auto& s : report.records) {
      mean += s.mean_fsr;
      top += s.top_k_fsr;
    }
    report.mean_fsr = mean / static_cast<double>(report.records.size());
    report.mean_top_k_fsr = top / static_cast<double>(report.records.size());
  }
  report.runs = std::move(runs);
  return report;
}

}  // namespace speedrunner::metrics
