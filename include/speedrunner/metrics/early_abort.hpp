// Early abort: a watch over a run's log as it streams, which says when to stop
// a run that cannot succeed (a NaN or infinite loss, or a metric still outside
// the task's bound at a given step) instead of letting it burn its time budget.
#pragma once

#include <speedrunner/metrics/metrics.hpp>

#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace speedrunner::metrics {

// "Stop when `metric` is above at_most (or below at_least) on a line whose step is >= from_step."
struct AbortRule {
  std::string metric{};
  double from_step = 0;
  std::optional<double> at_most{};
  std::optional<double> at_least{};
};

struct WatchRules {
  bool nonfinite_loss = true;    // any key containing "loss" that reads nan or inf
  std::string step_key = "step"; // the key that carries the step (`step:1000/5100`)
  std::vector<AbortRule> rules{};
  [[nodiscard]] bool empty() const { return !nonfinite_loss && rules.empty(); }
};

class LogWatch {
 public:
  static constexpr std::size_t max_line_bytes = std::size_t{1} << 20;

  explicit LogWatch(WatchRules rules) : rules_(std::move(rules)) {}

  // Feeds a chunk of the log (any split); returns the reason to stop at the first broken rule.
  [[nodiscard]] std::optional<std::string> feed(std::string_view chunk) {
    if (verdict_) return verdict_;
    // Only the first max_line_bytes of a line are kept (metrics lines are short), and
    // a newline is looked for only in what came new: a line without end costs neither
    // memory nor time that grows with it.
    const std::size_t from = partial_.size();
    if (const auto nl = chunk.find('\n'); nl == std::string_view::npos && from >= max_line_bytes) return verdict_;
    partial_.append(chunk);
    std::size_t start = 0;
    for (auto nl = partial_.find('\n', from); nl != std::string::npos; nl = partial_.find('\n', start)) {
      check(std::string_view(partial_).substr(start, nl - start));
      start = nl + 1;
      if (verdict_) break;
    }
    partial_.erase(0, start);
    if (partial_.size() > max_line_bytes) partial_.resize(max_line_bytes);
    return verdict_;
  }

  // Checks a final line that had no newline.
  [[nodiscard]] std::optional<std::string> finish() {
    if (!verdict_ && !partial_.empty()) check(partial_);
    partial_.clear();
    return verdict_;
  }

 private:
  void check(std::string_view line) {
    auto pairs = parse_pairs(line);
    if (pairs.empty()) return;
    if (auto s = pairs.find(rules_.step_key); s != pairs.end()) step_ = s->second.value;
    const std::string at = pairs.contains(rules_.step_key) ? " at step " + format_number(step_) : "";
    if (rules_.nonfinite_loss)
      for (const auto& [k, q] : pairs)
        if (k.find("loss") != std::string::npos && !std::isfinite(q.value)) {
          verdict_ = k + " is " + format_number(q.value) + at + " (non-finite loss)";
          return;
        }
    for (const auto& r : rules_.rules) {
      auto it = pairs.find(r.metric);
      if (it == pairs.end() || step_ < r.from_step) continue;
      double v = it->second.value;
      if (r.at_most && v > *r.at_most)
        verdict_ = r.metric + " " + format_number(v) + " is still above " + format_number(*r.at_most) +
                   at + " (abort rule from step " + format_number(r.from_step) + ")";
      else if (r.at_least && v < *r.at_least)
        verdict_ = r.metric + " " + format_number(v) + " is still below " + format_number(*r.at_least) +
                   at + " (abort rule from step " + format_number(r.from_step) + ")";
      if (verdict_) return;
    }
  }

  WatchRules rules_;
  std::string partial_{};
  double step_ = 0;
  std::optional<std::string> verdict_{};
};

}  // namespace speedrunner::metrics
