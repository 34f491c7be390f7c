// The viewer's figures, each an SVG built from loaded runs (run_view.hpp):
// per run the search tree and the validation curves; across runs the paper's
// figures (FSR per record and condition, the aggregates with their bootstrap
// intervals, node types against the first k nodes, the cumulative speedup per
// stage against the human records, each record's baseline with its spread).
#pragma once

#include <speedrunner/metrics/metrics.hpp>
#include <speedrunner/metrics/sweep.hpp>
#include <speedrunner/view/run_view.hpp>
#include <speedrunner/view/svg.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace speedrunner::view {

struct Figure {
  std::string name;     // file stem: tree-RUN, fsr, aggregate-iqm, ...
  std::string caption;  // what it shows, one or two sentences
  std::string svg;
};

// ---- per run

// The search tree: leaves side by side in depth-first order, a parent above
// the middle of its children; each node coloured by its kind and labelled with
// its selection metric. Each node is a <g class="node"> the page's script makes clickable.
[[nodiscard]] inline Figure tree_figure(const RunView& run, std::size_t run_index) {
  const auto& j = run.journal;
  std::vector<double> x(j.nodes.size(), 0);
  std::vector<int> depth(j.nodes.size(), 0);
  double next_leaf = 0;
  int max_depth = 0;
  // iterative post-order from v_0
  std::vector<std::pair<workspace::NodeId, bool>> stack{{0, false}};
  while (!stack.empty()) {
    auto [id, expanded] = stack.back();
    stack.pop_back();
    const auto& n = j.at(id);
    if (!expanded) {
      stack.push_back({id, true});
      for (auto it = n.children.rbegin(); it != n.children.rend(); ++it) {
        depth[static_cast<std::size_t>(*it)] = depth[static_cast<std::size_t>(id)] + 1;
        stack.push_back({*it, false});
      }
      max_depth = std::max(max_depth, depth[static_cast<std::size_t>(id)]);
      continue;
    }
    if (n.children.empty()) x[static_cast<std::size_t>(id)] = next_leaf++;
    else
      x[static_cast<std::size_t>(id)] =
          (x[static_cast<std::size_t>(n.children.front())] + x[static_cast<std::size_t>(n.children.back())]) / 2;
  }
  const double dx = 78, dy = 84, margin = 44;
  const double width = std::max(520.0, next_leaf * dx + 2 * margin), height = (max_depth + 1) * dy + 2 * margin + 40;
  auto X = [&](workspace::NodeId id) { return margin + x[static_cast<std::size_t>(id)] * dx + dx / 2; };
  auto Y = [&](workspace::NodeId id) { return margin + 24 + depth[static_cast<std::size_t>(id)] * dy; };
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"figure tree\" data-figure=\"tree\" data-run=\"" +
                  std::to_string(run_index) + "\" viewBox=\"0 0 " + num(width, 0) + " " + num(height, 0) +
                  "\" width=\"" + num(width, 0) + "\" height=\"" + num(height, 0) +
                  "\" font-family=\"sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n";
  s += "<text class=\"title\" x=\"" + num(width / 2, 1) + "\" y=\"18\" text-anchor=\"middle\" font-size=\"14\">" +
       escape("search tree of " + run.name + " (" + j.selection.metric + ", " +
              (j.selection.lower_is_better ? "lower" : "higher") + " is better)") +
       "</text>\n";
  // legend
  double lx = 10;
  for (auto k : {NodeKind::template_, NodeKind::valid, NodeKind::improved, NodeKind::no_improvement, NodeKind::buggy,
                 NodeKind::in_flight}) {
    s += "<g class=\"legend\"><circle cx=\"" + num(lx + 6, 1) + "\" cy=\"34\" r=\"6\" fill=\"" +
         std::string(kind_colour(k)) + "\"/><text x=\"" + num(lx + 16, 1) + "\" y=\"38\" font-size=\"11\">" +
         std::string(kind_name(k)) + "</text></g>\n";
    lx += 24 + 6.5 * static_cast<double>(kind_name(k).size());
  }
  for (const auto& n : j.nodes)
    if (n.parent)
      s += "<line class=\"edge\" x1=\"" + num(X(*n.parent), 1) + "\" y1=\"" + num(Y(*n.parent), 1) + "\" x2=\"" +
           num(X(n.id), 1) + "\" y2=\"" + num(Y(n.id), 1) + "\" stroke=\"#999\" stroke-width=\"1.5\"/>\n";
  const auto best = j.best_valid();
  for (const auto& n : j.nodes) {
    const auto kind = run.nodes[static_cast<std::size_t>(n.id)].kind;
    std::string label;
    if (auto v = j.score(n); v && n.finished()) label = metrics::format_number(*v);
    s += "<g class=\"node\" data-run=\"" + std::to_string(run_index) + "\" data-node=\"" + std::to_string(n.id) +
         "\" data-kind=\"" + std::string(kind_name(kind)) + "\" tabindex=\"0\" style=\"cursor:pointer\"><title>" +
         escape(n.name() + ": " + std::string(kind_name(kind)) + (n.outcome.empty() ? "" : " - " + n.outcome)) +
         "</title><circle cx=\"" + num(X(n.id), 1) + "\" cy=\"" + num(Y(n.id), 1) + "\" r=\"15\" fill=\"" +
         std::string(kind_colour(kind)) + "\" stroke=\"" + (best && *best == n.id ? "#000" : "#fff") +
         "\" stroke-width=\"" + (best && *best == n.id ? "3" : "1.5") + "\"/><text x=\"" + num(X(n.id), 1) +
         "\" y=\"" + num(Y(n.id) + 4, 1) + "\" text-anchor=\"middle\" font-size=\"10\" fill=\"#fff\">" +
         std::to_string(n.id) + "</text><text class=\"metric\" x=\"" + num(X(n.id), 1) + "\" y=\"" +
         num(Y(n.id) + 29, 1) + "\" text-anchor=\"middle\" font-size=\"10\">" + escape(label) + "</text></g>\n";
  }
  s += "</svg>\n";
  return {"tree-" + run.name,
          "The search tree of " + run.name + ": each node a version, coloured by how it came out, labelled with its " +
              j.selection.metric + "; the best valid node has a black ring. Click a node for its details.",
          std::move(s)};
}

// Validation loss against training time for every node whose log has
// validation lines, with the target and the times of records R and R+1.
[[nodiscard]] inline std::optional<Figure> curves_figure(const RunView& run) {
  double tmax = 0, lmin = INFINITY, lmax = -INFINITY;
  for (const auto& n : run.nodes)
    for (const auto& p : n.curve) {
      tmax = std::max(tmax, p.train_time_ms / 1000);
      lmin = std::min(lmin, p.val_loss);
      lmax = std::max(lmax, p.val_loss);
    }
  if (!std::isfinite(lmin)) return std::nullopt;
  if (run.score) tmax = std::max(tmax, run.score->baseline.record_ms / 1000);
  if (run.target) {
    lmin = std::min(lmin, *run.target);
    lmax = std::min(lmax, std::max(*run.target * 2, lmin + 0.5));  // the first evaluations would flatten the rest
  }
  Plot p("curves", "validation loss of " + run.name + "'s nodes");
  p.x_range(0, tmax * 1.05);
  p.y_range(lmin - 0.05 * (lmax - lmin), lmax);
  p.labels("training time (s)", "validation loss");
  if (run.target) p.hline(*run.target, "#000", "target " + metrics::format_number(*run.target));
  if (run.score) {
    p.vline(run.score->baseline.record_ms / 1000, "#666", "record " + std::to_string(run.score->record));
    p.vline(run.score->baseline.next_ms / 1000, "#d55e00", "record " + std::to_string(run.score->record + 1));
  }
  std::size_t shown = 0;
  for (std::size_t i = 0; i < run.nodes.size(); ++i) {
    std::vector<std::pair<double, double>> pts;
    for (const auto& c : run.nodes[i].curve)
      if (c.val_loss <= lmax) pts.emplace_back(c.train_time_ms / 1000, c.val_loss);
    if (pts.empty()) continue;
    const std::size_t index = shown++;
    p.line(pts, colour(index), index < 10 ? workspace::version_name(static_cast<int>(i)) : "");
  }
  return Figure{"curves-" + run.name,
                "Validation loss against training time for each node of " + run.name +
                    " that printed validation lines (step:N/M val_loss:X train_time:Yms); dashed: the target loss "
                    "and the times of records R and R+1 to reach it.",
                p.svg()};
}

// ---- across runs

// FSR of every scored run per record, one colour per condition, its mean as a wide mark.
[[nodiscard]] inline Figure fsr_figure(const metrics::Comparison& cmp) {
  std::set<std::pair<std::string, int>> records;
  double lo = 0, hi = 1;
  for (const auto& c : cmp.conditions)
    for (const auto& [key, fsrs] : c.fsr) {
      records.insert(key);
      for (double f : fsrs) lo = std::min(lo, f), hi = std::max(hi, f);
    }
  std::vector<std::pair<std::string, int>> order(records.begin(), records.end());
  std::vector<std::string> names;
  for (const auto& [track, r] : order) names.push_back(track + " " + std::to_string(r) + "->" + std::to_string(r + 1));
  Plot p("fsr", "FSR per record and condition");
  p.x_range(-0.5, static_cast<double>(order.size()) - 0.5);
  p.y_range(lo - 0.1, hi + 0.1);
  p.x_categories(names);
  p.labels("record R -> R+1", "fraction of speedup recovered");
  p.hline(0, "#999", "");
  p.hline(1, "#999", "");
  const double width = 0.7, n = static_cast<double>(std::max<std::size_t>(1, cmp.conditions.size()));
  for (std::size_t ci = 0; ci < cmp.conditions.size(); ++ci) {
    const auto& c = cmp.conditions[ci];
    p.legend(c.condition.label(), colour(ci));
    for (std::size_t ri = 0; ri < order.size(); ++ri) {
      auto it = c.fsr.find(order[ri]);
      if (it == c.fsr.end()) continue;
      const double x = static_cast<double>(ri) - width / 2 + width * (static_cast<double>(ci) + 0.5) / n;
      for (double f : it->second) p.point(x, f, colour(ci), 3.5, c.condition.label() + ": FSR " + num(f));
      const double m = metrics::mean_of(it->second);
      p.line({{x - 0.12, m}, {x + 0.12, m}}, colour(ci), "", false, 3);
    }
  }
  return {"fsr",
          "Fraction of speedup recovered, (t_R - t_agent) / (t_R - t_R+1), of each run (dots) and their mean (bars) "
          "per record R -> R+1, one colour per condition (scaffold / model / hint levels).",
          p.svg()};
}

// One of the four aggregates per condition, with its stratified-bootstrap 95% interval.
[[nodiscard]] inline Figure aggregate_figure(const metrics::Comparison& cmp, int which) {
  static constexpr std::array<std::string_view, 4> names{"iqm", "median", "mean", "optimality-gap"};
  static constexpr std::array<std::string_view, 4> titles{"IQM", "median", "mean", "optimality gap"};
  std::vector<std::string> labels;
  double lo = 0, hi = 1;
  auto pick = [&](const metrics::Estimate& e) -> std::pair<double, metrics::Interval> {
    switch (which) {
      case 0: return {e.point.iqm, e.iqm};
      case 1: return {e.point.median, e.median};
      case 2: return {e.point.mean, e.mean};
      default: return {e.point.optimality_gap, e.optimality_gap};
    }
  };
  for (const auto& c : cmp.conditions) {
    labels.push_back(c.condition.scaffold + "/" + c.condition.model + "/" + c.condition.hints);
    auto [v, ci] = pick(c.estimate);
    for (double x : {v, ci.low, ci.high})
      if (std::isfinite(x)) lo = std::min(lo, x), hi = std::max(hi, x);
  }
  Plot p("aggregate-" + std::string(names[static_cast<std::size_t>(which)]),
         std::string(titles[static_cast<std::size_t>(which)]) + " of FSR per condition (95% CI)", 420, 320);
  p.x_range(-0.5, static_cast<double>(labels.size()) - 0.5);
  p.y_range(lo - 0.05, hi + 0.05);
  p.x_categories(labels);
  p.labels("scaffold / model / hints", std::string(titles[static_cast<std::size_t>(which)]));
  for (std::size_t i = 0; i < cmp.conditions.size(); ++i) {
    auto [v, ci] = pick(cmp.conditions[i].estimate);
    if (std::isfinite(ci.low)) p.vbar(static_cast<double>(i), ci.low, ci.high, colour(i));
    if (std::isfinite(v)) p.point(static_cast<double>(i), v, colour(i), 5, num(v) + " [" + num(ci.low) + ", " + num(ci.high) + "]");
  }
  return {std::string("aggregate-") + std::string(names[static_cast<std::size_t>(which)]),
          std::string(titles[static_cast<std::size_t>(which)]) +
              " of the runs' FSRs per condition with its 95% interval from a stratified bootstrap (runs resampled within "
              "each record, " + std::to_string(cmp.resamples) + " resamples, seed " + std::to_string(cmp.seed) +
              ", percentile method, as rliable computes it).",
          p.svg()};
}

// The share of each node kind among the first k nodes of the runs, k = 1, 2, ...
// (v_0 not counted; a run with fewer than k nodes adds what it has).
struct NodeTypeShares {
  std::vector<double> k;
  std::map<NodeKind, std::vector<double>> share;
};
[[nodiscard]] inline NodeTypeShares node_type_shares(const std::vector<RunView>& runs) {
  NodeTypeShares out;
  std::size_t kmax = 0;
  for (const auto& r : runs) kmax = std::max(kmax, r.nodes.size() > 0 ? r.nodes.size() - 1 : 0);
  for (std::size_t k = 1; k <= kmax; ++k) {
    std::map<NodeKind, double> count;
    double total = 0;
    for (const auto& r : runs)
      for (std::size_t i = 1; i <= k && i < r.nodes.size(); ++i) {
        count[r.nodes[i].kind] += 1;
        total += 1;
      }
    out.k.push_back(static_cast<double>(k));
    for (auto kind : {NodeKind::buggy, NodeKind::no_improvement, NodeKind::valid, NodeKind::improved, NodeKind::in_flight})
      out.share[kind].push_back(total > 0 ? count[kind] / total : 0);
  }
  return out;
}
[[nodiscard]] inline std::optional<Figure> node_types_figure(const std::vector<RunView>& runs) {
  const auto shares = node_type_shares(runs);
  if (shares.k.empty()) return std::nullopt;
  Plot p("node-types", "node types among the first k nodes");
  p.x_range(1, std::max(2.0, shares.k.back()));
  p.y_range(0, 1);
  p.labels("first k nodes of each run", "share of nodes");
  std::vector<double> base(shares.k.size(), 0);
  for (const auto& [kind, v] : shares.share) {
    if (std::all_of(v.begin(), v.end(), [](double x) { return x == 0; })) continue;
    std::vector<double> top(base);
    for (std::size_t i = 0; i < top.size(); ++i) top[i] += v[i];
    p.band(shares.k, base, top, kind_colour(kind), kind_name(kind));
    base = top;
  }
  return Figure{"node-types",
                "Share of buggy nodes, nodes with no improvement (valid but not faster than record R's fastest "
                "calibration run, or not better than v_0 where there is no calibration) and improved nodes among each "
                "run's first k nodes, over " + std::to_string(runs.size()) + " run(s).",
                p.svg()};
}

// Record times from the templates' results.json (main calibration of `track`).
struct RecordTime {
  int record = 0;
  double ms = 0, min_ms = 0, max_ms = 0;
};
[[nodiscard]] inline std::vector<RecordTime> record_times(const std::filesystem::path& templates, const std::string& track) {
  std::vector<RecordTime> out;
  for (int r = 1; r < 100; ++r) {
    const auto path = templates / ("record_" + std::to_string(r)) / "results.json";
    if (!std::filesystem::exists(path)) {
      if (r > 1) break;
      continue;
    }
    auto doc = metrics::detail::read_json(path, "");
    if (!doc) continue;
    const auto* s = metrics::detail::at_path(*doc, {"tracks", track});
    if (!s) continue;
    auto t = metrics::detail::number(metrics::detail::at_path(*s, {"train_time_ms"}));
    if (!t || *t <= 0) continue;
    const double lo = metrics::detail::number(metrics::detail::at_path(*s, {"train_time_ms_min"})).value_or(*t);
    const double hi = metrics::detail::number(metrics::detail::at_path(*s, {"train_time_ms_max"})).value_or(*t);
    out.push_back({r, *t, lo, hi});
  }
  return out;
}

// The speedup over the first record per stage: the human records' line, and
// per stage R -> R+1 the best valid time the runs from R reached.
[[nodiscard]] inline std::optional<Figure> cumulative_figure(const std::vector<RunView>& runs,
                                                             const std::vector<RecordTime>& human, const std::string& track) {
  if (human.size() < 2) return std::nullopt;
  const double t0 = human.front().ms;
  std::map<int, double> best;  // stage R -> best t_agent
  for (const auto& r : runs)
    if (r.score && r.score->track == track)
      best[r.score->record] = std::min(best.contains(r.score->record) ? best[r.score->record] : INFINITY, r.score->agent_ms);
  if (best.empty()) return std::nullopt;
  Plot p("cumulative", "speedup per stage against the human records (" + track + ")");
  double hi = 1;
  for (const auto& h : human) hi = std::max(hi, t0 / h.ms);
  for (const auto& [rec, t] : best) hi = std::max(hi, t0 / t);
  p.x_range(human.front().record - 0.3, human.back().record + 0.3);
  p.y_range(0.9, hi * 1.08);
  p.labels("record", "speedup over record " + std::to_string(human.front().record) + " (x)");
  std::vector<std::pair<double, double>> line;
  for (const auto& h : human) line.emplace_back(h.record, t0 / h.ms);
  p.line(line, "#555", "human records");
  for (const auto& h : human) p.point(h.record, t0 / h.ms, "#555", 3.5, "record " + std::to_string(h.record) + ": " + num(h.ms / 1000, 1) + " s");
  std::vector<std::pair<double, double>> agent;
  for (const auto& [rec, t] : best) agent.emplace_back(rec + 1, t0 / t);
  p.legend("agent, best run per stage", "#d55e00");
  for (const auto& [x, y] : agent) p.point(x, y, "#d55e00", 5, "stage from record " + num(x - 1, 0) + ": " + num(y, 2) + "x");
  return Figure{"cumulative",
                "Speedup over record " + std::to_string(human.front().record) + " (t_1 / t) of each human record, and per "
                "stage R -> R+1 (plotted at R+1) of the best valid node of the runs that started from record R.",
                p.svg()};
}

// Each record's baseline time with the spread of its calibration runs.
[[nodiscard]] inline std::optional<Figure> baselines_figure(const std::vector<RecordTime>& human, const std::string& track) {
  if (human.empty()) return std::nullopt;
  double hi = 0;
  for (const auto& h : human) hi = std::max(hi, h.max_ms / 1000);
  Plot p("baselines", "record baselines (" + track + " track)");
  p.x_range(human.front().record - 0.5, human.back().record + 0.5);
  p.y_range(0, hi * 1.1);
  p.labels("record", "training time to target (s)");
  for (const auto& h : human) {
    p.vbar(h.record, h.min_ms / 1000, h.max_ms / 1000, "#0072b2");
    p.point(h.record, h.ms / 1000, "#0072b2", 4,
            "record " + std::to_string(h.record) + ": " + num(h.ms / 1000, 1) + " s (" + num(h.min_ms / 1000, 1) + "-" +
                num(h.max_ms / 1000, 1) + ")");
  }
  return Figure{"baselines",
                "Each record's calibrated time to the target on the " + track +
                    " track (dot) and the fastest and slowest of its calibration runs (bar), from the templates' "
                    "results.json.",
                p.svg()};
}

}  // namespace speedrunner::view
