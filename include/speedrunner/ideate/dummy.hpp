// The dummy ideator: the hints (knowledge_src_paths) become the hypothesis,
// and a failed node's error becomes a debug hypothesis. No model is called,
// so it measures the coder alone against the hint levels. Without hints (the
// paper's no-hint condition) the coder is asked to plan a change and make it.
#pragma once

#include <speedrunner/core/error.hpp>
#include <speedrunner/ideate/ideator.hpp>

#include <string>
#include <string_view>

namespace speedrunner::ideate {

namespace detail {
// The first line worth showing: no section header, at most `max` characters.
[[nodiscard]] inline std::string first_line(std::string_view text, std::size_t max = 100) {
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.remove_suffix(1);
    if (!line.empty() && !line.starts_with("=== ")) {
      return line.size() > max ? std::string(line.substr(0, max - 3)) + "..." : std::string(line);
    }
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return {};
}
}  // namespace detail

struct Dummy {
  static constexpr std::string_view config_name = "dummy";

  [[nodiscard]] Result<IdeaOutcome> propose(const IdeaRequest& request) const {
    IdeaOutcome out;
    if (request.stage == Stage::debug) {
      std::string what = detail::first_line(request.parent_outcome);
      out.hypothesis.summary = "fix: " + (what.empty() ? std::string("the previous version failed") : what);
      out.hypothesis.text = "The previous version failed. Find the cause and fix it, changing nothing else.";
      if (!request.parent_outcome.empty()) out.hypothesis.text += "\n\nWhat happened:\n" + request.parent_outcome;
      return out;
    }
    if (request.knowledge.empty()) {
      // The paper's no-hint condition: no idea is given, so the coder plans one and implements it.
      out.hypothesis.summary = "no hints: the coder plans a change and implements it";
      out.hypothesis.text =
          "No hypothesis is given. First write a short plan: one change to the code that you expect to "
          "meet the task's goal better, and why. Then implement that plan.";
      if (!request.task_description.empty()) out.hypothesis.text += "\n\nThe task's goal:\n" + request.task_description;
      return out;
    }
    out.hypothesis.summary = "hints: " + detail::first_line(request.knowledge);
    out.hypothesis.text = request.knowledge;
    return out;
  }
};

static_assert(Ideator<Dummy>);

}  // namespace speedrunner::ideate
