// `speedrun report RUN_DIR... [--templates DIR] [--top-k K]`: the FSR of each
// finished NanoGPT speedrun run, per record and the mean over records, plus
// the top-k-across-runs variant (per record, the mean of its k best runs).
#include "child.hpp"
#include "commands.hpp"

#include <speedrunner/metrics/run_scores.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace speedrun {
namespace {

namespace fs = std::filesystem;
namespace metrics = speedrunner::metrics;
using speedrunner::ExitCode;

int usage_error(const std::string& what) {
  std::fprintf(stderr, "speedrun report: %s\n  fix: speedrun report RUN_DIR... [--templates DIR] [--top-k K]\n",
               what.c_str());
  return int(ExitCode::usage);
}

}  // namespace

int report_command(std::span<const std::string_view> args) {
  std::vector<fs::path> run_dirs;
  fs::path templates;
  int k = 1;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    if (a == "--help" || a == "-h") {
      std::puts("usage: speedrun report RUN_DIR|SWEEP_DIR... [--templates DIR] [--top-k K]\n"
                "  A sweep's folder (speedrun sweep) stands for the run folders of its cells.\n"
                "  FSR = (t_R - t_agent) / (t_R - t_R+1) per run, t_agent the best valid train_time (v_0 included);\n"
                "  then per record (mean over its runs) and the mean over records. The top-k variant\n"
                "  averages each record's k best run FSRs instead (k = 1: the best run).\n"
                "  --templates DIR   record templates with results.json (default workspace_templates/nanogpt_speedrun)\n"
                "  --top-k K         runs kept per record in the top-k variant (default 1)");
      return 0;
    }
    if (a == "--templates" || a == "--top-k") {
      if (i + 1 >= args.size()) return usage_error(std::string(a) + " needs a value");
      const std::string value(args[++i]);
      if (a == "--templates") {
        templates = value;
      } else {
        char* end = nullptr;
        const long v = std::strtol(value.c_str(), &end, 10);
        if (end == value.c_str() || *end != '\0' || v < 1) return usage_error("--top-k needs a whole number >= 1, got '" + value + "'");
        k = int(v);
      }
      continue;
    }
    if (a.starts_with("--")) return usage_error("unknown option " + std::string(a));
    // a sweep's folder stands for its cells' run folders
    if (std::error_code ec; fs::exists(fs::path(std::string(a)) / "sweep.json", ec)) {
      auto cells = sweep_runs(std::string(a));
      if (cells.empty()) return usage_error("the sweep in " + std::string(a) + " has no cell with a run yet");
      run_dirs.insert(run_dirs.end(), cells.begin(), cells.end());
      continue;
    }
    run_dirs.emplace_back(std::string(a));
  }
  if (run_dirs.empty()) return usage_error("no run directory given");
  if (templates.empty()) templates = default_templates();

  std::vector<metrics::RunScore> scores;
  int failed = 0;
  for (const auto& dir : run_dirs) {
    auto s = metrics::score_run(dir, templates);
    if (!s) {
      std::fprintf(stderr, "speedrun report: %s\n", s.error().message().c_str());
      ++failed;
      continue;
    }
    scores.push_back(*s);
  }
  const auto rep = metrics::summarize(scores, k);

  std::puts("FSR per run: (t_R - t_agent) / (t_R - t_R+1), t_agent the best valid train_time (v_0 included);");
  std::puts("FSR range: the FSR with t_R and t_R+1 anywhere in their calibration runs' spread (results.json)");
  std::printf("%-40s %-7s %6s %12s %12s %12s %7s %-15s %11s\n", "run", "track", "record", "t_R ms", "t_R+1 ms",
              "t_agent ms", "FSR", "FSR range", "valid/nodes");
  for (const auto& r : rep.runs) {
    char range[64] = "spread voids";  // some pair of calibration times leaves R+1 no faster
    if (r.fsr_range) std::snprintf(range, sizeof range, "%.3f-%.3f", r.fsr_range->low, r.fsr_range->high);
    std::printf("%-40s %-7s %3d->%-2d %12.0f %12.0f %12.0f %7.3f %-15s %5d/%-5d\n", r.run.c_str(), r.track.c_str(),
                r.record, r.record + 1, r.baseline.record_ms, r.baseline.next_ms, r.agent_ms, r.fsr, range,
                r.valid_nodes, r.nodes);
  }
  // Times from different GPU models are not comparable: say where a run's baselines come from another card.
  std::map<std::string, int> baseline_cards;
  for (const auto& r : rep.runs) {
    ++baseline_cards[r.baseline_card.empty() ? "a card results.json does not name" : r.baseline_card];
    std::string trained;
    for (const auto& c : r.run_cards) trained += (trained.empty() ? "" : ", ") + c;
    if (r.run_cards.size() > 1)
      std::printf("note: %s trained on several GPU models (%s); its baselines are from %s\n", r.run.c_str(),
                  trained.c_str(), r.baseline_card.c_str());
    else if (r.run_cards.size() == 1 && !r.baseline_card.empty() && r.run_cards.front() != r.baseline_card)
      std::printf("note: %s trained on %s, but results.json has no calibration of records %d and %d on it, so its FSR "
                  "uses times measured on %s, which are not comparable (calibrate on %s: README, \"Mini-track "
                  "calibration\")\n",
                  r.run.c_str(), trained.c_str(), r.record, r.record + 1, r.baseline_card.c_str(), trained.c_str());
  }
  if (!baseline_cards.empty()) {
    std::string from;
    for (const auto& [card, n] : baseline_cards)
      from += (from.empty() ? "" : "; ") + card + " (" + std::to_string(n) + (n == 1 ? " run)" : " runs)");
    std::printf("baselines measured on: %s\n", from.c_str());
  }
  if (!rep.records.empty()) {
    std::printf("\nper record (mean over its runs; top-%d: mean of its %d best runs)\n", rep.k, rep.k);
    std::printf("%-7s %6s %5s %9s %9s\n", "track", "record", "runs", "mean FSR", "top-k FSR");
    for (const auto& s : rep.records)
      std::printf("%-7s %3d->%-2d %5d %9.3f %9.3f\n", s.track.c_str(), s.record, s.record + 1, s.runs, s.mean_fsr,
                  s.top_k_fsr);
    std::printf("\nmean FSR over %zu record(s): %.3f\n", rep.records.size(), rep.mean_fsr);
    std::printf("top-%d-across-runs FSR (the original benchmark's variant), mean over records: %.3f\n", rep.k,
                rep.mean_top_k_fsr);
  }
  if (failed > 0) {
    std::fprintf(stderr, "speedrun report: %d of %zu run(s) could not be scored (above)\n", failed, run_dirs.size());
    return int(ExitCode::failure);
  }
  return 0;
}

}  // namespace speedrun
