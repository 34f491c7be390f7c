// The dummy ideator: the hints (knowledge_src_paths) become the hypothesis,
// and a failed node's error becomes a debug hypothesis. No model is called,
// so it measures the coder alone against the hint levels.
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
    if (request.knowledge.empty())
      return fail("the dummy ideator passes the hints through as the hypothesis, but there are none",
                  "set knowledge_src_paths (e.g. data/nanogpt_speedrun_knowledge_in_levels/record_1/level_1_*.txt) "
                  "or use ideator=base");
    out.hypothesis.summary = "hints: " + detail::first_line(request.knowledge);
    out.hypothesis.text = request.knowledge;
    return out;
  }
};

static_assert(Ideator<Dummy>);

}  // namespace speedrunner::ideate
