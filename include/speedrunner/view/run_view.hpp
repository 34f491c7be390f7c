// One run as the viewer shows it: the journal's nodes, each classified
// (valid, improved, no improvement, buggy, in flight), with its validation
// curve read from its log, its diff against its parent and its log's head and
// tail; the run's condition, and its FSR score where the task is the NanoGPT
// speedrun and the record templates have baselines.
#pragma once

#include <speedrunner/agent/judge.hpp>
#include <speedrunner/metrics/run_scores.hpp>
#include <speedrunner/metrics/sweep.hpp>
#include <speedrunner/workspace/diff.hpp>
#include <speedrunner/workspace/journal.hpp>

#include <charconv>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace speedrunner::view {

// How a node came out, for its colour in the tree and the node-type figure.
// improved / no improvement compare a valid node with the run's reference:
// the lower end of record R's calibration spread for a scored speedrun run
// (faster than every calibration run of the record), else v_0's measured score,
// else the nearest valid ancestor's; a valid node with nothing to compare to is
// "valid". v_0 that never ran is the template.
enum class NodeKind { template_, valid, improved, no_improvement, buggy, in_flight };
[[nodiscard]] constexpr std::string_view kind_name(NodeKind k) {
  constexpr std::string_view names[] = {"template", "valid", "improved", "no improvement", "buggy", "in flight"};
  return names[static_cast<int>(k)];
}
[[nodiscard]] constexpr std::string_view kind_colour(NodeKind k) {
  constexpr std::string_view colours[] = {"#9e9e9e", "#56b4e9", "#009e73", "#e69f00", "#d55e00", "#cc79a7"};
  return colours[static_cast<int>(k)];
}

// A validation point of a training log: step:N/M val_loss:X train_time:Yms.
struct CurvePoint {
  int step = 0;
  double val_loss = 0, train_time_ms = 0;
};

// The validation points of a log, in log order.
[[nodiscard]] inline std::vector<CurvePoint> validation_curve(std::string_view log) {
  std::vector<CurvePoint> out;
  auto number_after = [](std::string_view line, std::string_view key) -> std::optional<double> {
    const auto at = line.find(key);
    if (at == std::string_view::npos) return std::nullopt;
    const char* p = line.data() + at + key.size();
    double v = 0;
    auto [end, ec] = std::from_chars(p, line.data() + line.size(), v);
    if (ec != std::errc{}) return std::nullopt;
    return v;
  };
  while (!log.empty()) {
    const auto nl = log.find('\n');
    const std::string_view line = log.substr(0, nl);
    log = nl == std::string_view::npos ? std::string_view{} : log.substr(nl + 1);
    const auto loss = number_after(line, "val_loss:");
    const auto time = number_after(line, "train_time:");
    if (!loss || !time) continue;
    out.push_back({static_cast<int>(number_after(line, "step:").value_or(0)), *loss, *time});
  }
  return out;
}

struct NodeView {
  NodeKind kind = NodeKind::valid;
  std::vector<CurvePoint> curve;
  std::string diff;                 // against its parent (empty for v_0)
  std::string log_head, log_tail;   // stdout, then stderr
};

struct RunView {
  std::filesystem::path dir;
  std::string name;                 // the folder's name
  workspace::Journal journal;
  std::vector<NodeView> nodes;      // parallel to journal.nodes
  metrics::Condition condition;
  std::string task;                 // task.name
  std::optional<double> target;     // the validity bound on val_loss, where the task has one
  std::optional<metrics::RunScore> score;
  std::string unscored;             // why there is no score (not a speedrun task, no baselines, ...)
  std::optional<agent::Judgement> judgement;  // judge.json beside the run, if judged
  std::string judgement_error;                // judge.json present but unreadable
};

struct LoadOptions {
  std::filesystem::path templates;  // record templates with results.json (for scores)
  bool details = true;              // diffs and log excerpts (the page needs them, figures do not)
  std::size_t log_chars = 2000;     // of the head and of the tail each
};

namespace detail {
[[nodiscard]] inline std::string head(std::string_view s, std::size_t n) { return std::string(s.substr(0, n)); }
[[nodiscard]] inline std::string tail(std::string_view s, std::size_t n) {
  return s.size() <= n ? std::string{} : std::string(s.substr(std::max(n, s.size() - n)));
}
}  // namespace detail

[[nodiscard]] inline Result<RunView> load_run(const std::filesystem::path& dir, const LoadOptions& options) {
  RunView run;
  run.dir = dir;
  run.name = std::filesystem::absolute(dir).lexically_normal().filename().string();
  if (run.name.empty()) run.name = std::filesystem::absolute(dir).lexically_normal().parent_path().filename().string();
  auto journal = workspace::Journal::load(dir / "journal.json");
  if (!journal) return std::unexpected(std::move(journal.error()));
  run.journal = std::move(*journal);
  run.condition = metrics::condition_of(dir);
  if (auto config = metrics::detail::read_json(dir / "config.json", "")) {
    if (auto* t = metrics::detail::at_path(*config, {"task", "name"}); t && t->is_string()) run.task = std::string(t->as_string());
    run.target = metrics::detail::number(metrics::detail::at_path(*config, {"task", "metrics_at_most", "val_loss"}));
    if (auto* task = metrics::detail::at_path(*config, {"task"}); task && metrics::record_of_task(*task, "").has_value()) {
      if (auto s = metrics::score_run(dir, options.templates)) run.score = *s;
      else run.unscored = s.error().message();
    } else {
      run.unscored = "not a NanoGPT speedrun run (its task names no record)";
    }
  } else {
    run.unscored = config.error().message();
  }
  if (std::filesystem::exists(dir / agent::judgement_file)) {
    if (auto j = agent::load_judgement(dir / agent::judgement_file)) run.judgement = *j;
    else run.judgement_error = j.error().message();
  }

  const auto& j = run.journal;
  std::optional<double> root_score;
  if (j.root().finished() && j.root().valid) root_score = j.score(j.root());
  auto better = [&](double a, double b) { return j.better(a, b); };
  for (const auto& n : j.nodes) {
    NodeView v;
    const auto vdir = dir / n.name();
    const std::string out = workspace::read_file(vdir / workspace::stdout_file).value_or("");
    const std::string err = workspace::read_file(vdir / workspace::stderr_file).value_or("");
    v.curve = validation_curve(out);
    if (!n.finished()) v.kind = NodeKind::in_flight;
    else if (n.buggy()) v.kind = NodeKind::buggy;
    else if (!n.parent && n.status == workspace::Status::pending) v.kind = NodeKind::template_;
    else if (auto s = j.score(n); s && n.valid) {
      std::optional<double> ref;
      if (run.score && j.selection.metric == "train_time") ref = run.score->baseline.record_min_ms;
      else if (n.parent && root_score) ref = root_score;
      else
        for (auto a = n.parent; a && !ref; a = j.at(*a).parent)
          if (j.at(*a).valid) ref = j.score(j.at(*a));
      v.kind = !ref ? NodeKind::valid : better(*s, *ref) ? NodeKind::improved : NodeKind::no_improvement;
    } else {
      v.kind = NodeKind::buggy;  // finished, not buggy, yet without a valid score: judged unusable
    }
    if (options.details) {
      if (n.parent) v.diff = workspace::diff_versions(dir / j.at(*n.parent).name(), vdir);
      const std::string log = out + (err.empty() ? "" : "\n--- stderr ---\n" + err);
      v.log_head = detail::head(log, options.log_chars);
      v.log_tail = detail::tail(log, options.log_chars);
    }
    run.nodes.push_back(std::move(v));
  }
  return run;
}

}  // namespace speedrunner::view
