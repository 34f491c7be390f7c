// `speedrun report RUN_DIR|SWEEP_DIR... [--templates DIR] [--top-k K]`: the FSR
// of each finished NanoGPT speedrun run, per record and the mean over records,
// the top-k-across-runs variant (per record, the mean of its k best runs), and
// per condition (scaffold, model, hints) the aggregates with bootstrap
// intervals that `speedrun view` draws (metrics/sweep.hpp).
#include "child.hpp"
#include "commands.hpp"

#include <speedrunner/agent/judge.hpp>
#include <speedrunner/metrics/run_scores.hpp>
#include <speedrunner/metrics/sweep.hpp>

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
  std::fprintf(stderr, "speedrun report: %s\n  fix: speedrun report RUN_DIR|SWEEP_DIR... [--templates DIR] [--top-k K] "
                       "[--resamples N] [--seed S]\n",
               what.c_str());
  return int(ExitCode::usage);
}

}  // namespace

int report_command(std::span<const std::string_view> args) {
  std::vector<fs::path> paths;
  fs::path templates;
  int k = 1, resamples = metrics::default_resamples;
  unsigned long long seed = 0;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    if (a == "--help" || a == "-h") {
      std::puts("usage: speedrun report RUN_DIR|SWEEP_DIR... [--templates DIR] [--top-k K] [--resamples N] [--seed S]\n"
                "  A sweep's folder (speedrun sweep) stands for the run folders of its cells.\n"
                "  FSR = (t_R - t_agent) / (t_R - t_R+1) per run, t_agent the best valid train_time (v_0 included);\n"
                "  then per record (mean over its runs) and the mean over records. The top-k variant\n"
                "  averages each record's k best run FSRs instead (k = 1: the best run). Per condition\n"
                "  (scaffold / model / hints): IQM, median, mean and optimality gap of the FSRs with\n"
                "  stratified-bootstrap 95% intervals (one stratum per record), as rliable computes them.\n"
                "  A SWEEP_DIR is any folder whose subfolders (any depth) are run folders.\n"
                "  --templates DIR   record templates with results.json (default workspace_templates/nanogpt_speedrun)\n"
                "  --top-k K         runs kept per record in the top-k variant (default 1)\n"
                "  --resamples N     bootstrap resamples (default 50000, rliable's)\n"
                "  --seed S          seed of the bootstrap's generator (default 0)");
      return 0;
    }
    if (a == "--templates" || a == "--top-k" || a == "--resamples" || a == "--seed") {
      if (i + 1 >= args.size()) return usage_error(std::string(a) + " needs a value");
      const std::string value(args[++i]);
      if (a == "--templates") {
        templates = value;
      } else {
        char* end = nullptr;
        const long long v = std::strtoll(value.c_str(), &end, 10);
        const long long least = a == "--seed" ? 0 : 1;
        if (end == value.c_str() || *end != '\0' || v < least || (a != "--seed" && v > 10'000'000))
          return usage_error(std::string(a) + " needs a whole number >= " + std::to_string(least) + ", got '" + value + "'");
        if (a == "--top-k") k = int(v);
        else if (a == "--resamples") resamples = int(v);
        else seed = static_cast<unsigned long long>(v);
      }
      continue;
    }
    if (a.starts_with("--")) return usage_error("unknown option " + std::string(a));
    paths.emplace_back(std::string(a));
  }
  if (paths.empty()) return usage_error("no run directory given");
  // a folder without journal.json holding run folders is a sweep; anything else is scored as a run
  // (so a wrong path is reported by the scoring, naming the file it lacks)
  std::vector<fs::path> run_dirs;
  for (const auto& p : paths) {
    std::error_code ec;
    auto found = fs::is_directory(p, ec) && !fs::exists(p / "journal.json", ec) ? metrics::find_runs({p})
                                                                               : std::vector<fs::path>{};
    if (found.empty()) run_dirs.push_back(p);
    else run_dirs.insert(run_dirs.end(), found.begin(), found.end());
  }
  if (templates.empty()) templates = default_templates();

  std::vector<metrics::RunScore> scores;
  std::vector<metrics::ConditionedRun> conditioned;
  int failed = 0;
  std::vector<std::string> left_out;  // runs of a step with no gain on its track: no FSR, no part of a mean
  for (const auto& dir : run_dirs) {
    auto s = metrics::score_run(dir, templates);
    if (!s && s.error().kind == "no_speedup") {
      left_out.push_back(s.error().what);
      continue;
    }
    if (!s) {
      std::fprintf(stderr, "speedrun report: %s\n", s.error().message().c_str());
      ++failed;
      continue;
    }
    scores.push_back(*s);
    conditioned.push_back({*s, metrics::condition_of(dir)});
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
    if (!r.baseline_source.empty())  // the FineWeb line: the original's PyTorch times, not our templates'
      std::printf("note: %s is scored against times that are not this project's measurements of its templates: %s\n",
                  r.run.c_str(), r.baseline_source.c_str());
    ++baseline_cards[r.baseline_card.empty() ? "a card results.json does not name" : r.baseline_card];
    std::string trained;
    for (const auto& c : r.run_cards) trained += (trained.empty() ? "" : ", ") + c;
    if (r.run_cards.size() > 1)
      std::printf("note: %s trained on several GPU models (%s); its baselines are from %s\n", r.run.c_str(),
                  trained.c_str(), r.baseline_card.c_str());
    else if (r.run_cards.size() == 1 && !r.baseline_card.empty() && r.run_cards.front() != r.baseline_card)
      std::printf("note: %s trained on %s, but results.json has no calibration of records %d and %d on it, so its FSR "
                  "uses times measured on %s, which are not comparable (calibrate on %s: docs/records.md, "
                  "\"Calibrating again\")\n",
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
  // the judge's verdicts (speedrun judge RUN_DIR), where runs have one
  for (const auto& dir : run_dirs) {
    if (!fs::exists(dir / speedrunner::agent::judgement_file)) continue;
    if (auto j = speedrunner::agent::load_judgement(dir / speedrunner::agent::judgement_file))
      std::printf("judge: %s %s reproduced %.2f of record %d's change (%s)\n", dir.c_str(), j->node.c_str(), j->score,
                  j->record + 1, j->model.c_str());
    else
      std::fprintf(stderr, "speedrun report: %s\n", j.error().message().c_str());
  }
  if (!conditioned.empty()) {
    const auto cmp = metrics::compare(conditioned, resamples, seed);
    std::printf("\nper condition: FSR aggregates with stratified-bootstrap 95%% intervals (%d resamples, seed %llu, one "
                "stratum per record)\n",
                cmp.resamples, static_cast<unsigned long long>(cmp.seed));
    for (const auto& c : cmp.conditions) {
      const auto& e = c.estimate;
      std::printf("%s: %d run(s), %d record(s)\n", c.condition.label().c_str(), e.runs, e.strata);
      std::printf("  IQM %s  median %s  mean %s  optimality gap %s\n", metrics::interval_text(e.point.iqm, e.iqm).c_str(),
                  metrics::interval_text(e.point.median, e.median).c_str(),
                  metrics::interval_text(e.point.mean, e.mean).c_str(),
                  metrics::interval_text(e.point.optimality_gap, e.optimality_gap).c_str());
    }
  }
  if (!left_out.empty()) {
    std::printf("\nleft out of every mean above (no FSR: their step gains nothing on its track):\n");
    for (const auto& why : left_out) std::printf("  %s\n", why.c_str());
  }
  if (failed > 0) {
    std::fprintf(stderr, "speedrun report: %d of %zu run(s) could not be scored (above)\n", failed, run_dirs.size());
    return int(ExitCode::failure);
  }
  return 0;
}

}  // namespace speedrun
