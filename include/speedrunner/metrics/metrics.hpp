// The metric contract of a task: which metrics a log line must carry, which one
// ranks runs and in which direction, and the bounds a valid run stays inside.
// `read` applies it to a whole log; a model is consulted only when it finds nothing.
#pragma once

#include <speedrunner/metrics/parse.hpp>

#include <cmath>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace speedrunner::metrics {

struct Metric {
  std::string name{};
  Unit unit = Unit::none;  // values written with another time unit are converted to this one
  bool integer = false;    // a value with a fraction disqualifies the line
  std::string key{};       // the log's key when it is not `name` (n_steps from `step:120/5100`)
  [[nodiscard]] const std::string& log_key() const { return key.empty() ? name : key; }
};

// Which qualifying line gives a run's metrics: the best valid one by the
// selection metric (the benchmark's default: for the speedrun, the first time
// val_loss reached its target), or simply the last one.
enum class Pick { best, last };

struct Contract {
  std::vector<Metric> metrics{};             // a qualifying line carries all of them
  std::string selection{};                   // ranks nodes; one of `metrics`
  bool lower_is_better = false;
  std::map<std::string, double> at_most{};   // metrics_at_most: {"val_loss": 3.28}
  std::map<std::string, double> at_least{};  // metrics_at_least
  Pick pick = Pick::best;
};

struct Reading {
  std::map<std::string, double> values{};    // empty when no line qualified
  bool valid = false;
  std::string reason{};                      // why invalid or why nothing was found
  int line = 0;                            // 1-based line number the values came from
  [[nodiscard]] bool found() const { return !values.empty(); }
};

// Integers exactly (8400511, 2968348), other values with 6 significant digits (3.2791).
[[nodiscard]] inline std::string format_number(double v) {
  std::ostringstream s{};
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15) s << static_cast<long long>(v);
  else {
    s.precision(6);
    s << v;
  }
  return s.str();
}

// The metrics of one line under the contract, or nothing when any is missing.
[[nodiscard]] inline std::optional<std::map<std::string, double>> line_metrics(std::string_view line,
                                                                             const Contract& c) {
  if (c.metrics.empty()) return std::nullopt;
  auto pairs = parse_pairs(line);
  std::map<std::string, double> out{};
  for (const auto& m : c.metrics) {
    auto it = pairs.find(m.log_key());
    if (it == pairs.end()) return std::nullopt;
    double v = convert(it->second, m.unit);
    if (m.integer && std::isfinite(v) && v != std::floor(v)) return std::nullopt;
    out[m.name] = v;
  }
  return out;
}

// Empty when the values satisfy the bounds; otherwise the first broken bound.
[[nodiscard]] inline std::string check_bounds(const std::map<std::string, double>& values,
                                              const Contract& c) {
  for (const auto& [k, v] : values)
    if (!std::isfinite(v)) return k + " is " + format_number(v);
  for (const auto& [k, bound] : c.at_most) {
    auto it = values.find(k);
    if (it == values.end()) return k + " is missing but bounded (metrics_at_most " + format_number(bound) + ")";
    if (it->second > bound)
      return k + " " + format_number(it->second) + " is above its bound " + format_number(bound) +
             " (metrics_at_most)";
  }
  for (const auto& [k, bound] : c.at_least) {
    auto it = values.find(k);
    if (it == values.end()) return k + " is missing but bounded (metrics_at_least " + format_number(bound) + ")";
    if (it->second < bound)
      return k + " " + format_number(it->second) + " is below its bound " + format_number(bound) +
             " (metrics_at_least)";
  }
  return {};
}

// Reads a run's metrics from its log. Among qualifying lines it takes the best
// valid one (Pick::best) or the last one (Pick::last); when no line is valid it
// reports the last qualifying line with the reason it is not.
[[nodiscard]] inline Reading read(std::string_view log, const Contract& c) {
  Reading best, last;
  int line_no = 0;
  std::optional<double> best_score{};
  while (!log.empty()) {
    auto nl = log.find('\n');
    std::string_view line = log.substr(0, nl);
    log = nl == std::string_view::npos ? std::string_view{} : log.substr(nl + 1);
    ++line_no;
    auto values = line_metrics(line, c);
    if (!values) continue;
    Reading r{*values, false, check_bounds(*values, c), line_no};
    r.valid = r.reason.empty();
    if (r.valid && c.pick == Pick::best) {
      auto it = r.values.find(c.selection);
      double s = it == r.values.end() ? NAN : it->second;
      if (std::isfinite(s) &&
          (!best_score || (c.lower_is_better ? s < *best_score : s > *best_score))) {
        best_score = s;
        best = r;
      }
    }
    last = std::move(r);
  }
  if (best.found()) return best;
  if (last.found()) return last;
  std::string names{};
  for (const auto& m : c.metrics) names += (names.empty() ? "" : ", ") + m.name;
  Reading none;
  none.reason = c.metrics.empty() ? "the task declares no metrics"
                                  : "no line of the log carries all of " + names;
  return none;
}

}  // namespace speedrunner::metrics
