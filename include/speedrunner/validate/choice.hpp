// OneOf: the answer is one of a fixed set of choices ("draft", "improve",
// "debug"), alone or on the answer's last line after some reasoning.
#pragma once

#include <speedrunner/core/error.hpp>
#include <speedrunner/validate/detail/text.hpp>
#include <speedrunner/validate/validator.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace speedrunner::validate {

struct OneOf {
  std::vector<std::string> choices;
  bool case_sensitive = false;

  using value_type = std::string;  // the choice as spelled in `choices`

  [[nodiscard]] Result<std::string> operator()(std::string_view answer) const {
    if (auto c = match(answer)) return *c;
    std::string_view last_line;
    auto all = detail::lines(answer);
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
      if (detail::trim(*it).empty()) continue;
      if (auto c = match(*it)) return *c;
      last_line = detail::trim(*it);
      break;  // only the last non-empty line counts: earlier lines are reasoning
    }
    std::string listed;
    for (const auto& c : choices) listed += (listed.empty() ? "" : ", ") + c;
    return reject("expected one of: " + listed + "; got " + detail::quote(last_line) +
                  "; end the answer with the choice alone on the last line");
  }

 private:
  // "  **Answer:** `improve`. " -> "improve"
  [[nodiscard]] const std::string* match(std::string_view text) const {
    std::string_view t = detail::trim(text);
    auto strip_decoration = [](std::string_view s) {
      constexpr std::string_view marks = "*_`'\"“”.!:;,()[]> \t";
      while (!s.empty() && marks.find(s.front()) != std::string_view::npos) s.remove_prefix(1);
      while (!s.empty() && marks.find(s.back()) != std::string_view::npos) s.remove_suffix(1);
      return s;
    };
    t = strip_decoration(t);
    for (std::string_view prefix : {"final answer", "answer", "choice", "decision"}) {
      if (detail::lower(t.substr(0, prefix.size())) == prefix) {
        auto rest = t.substr(prefix.size());
        if (!rest.empty() && (rest.front() == ':' || rest.front() == '*' || detail::is_space(rest.front()))) {
          t = strip_decoration(rest);
          break;
        }
      }
    }
    for (const auto& c : choices) {
      if (case_sensitive ? t == c : detail::lower(t) == detail::lower(c)) return &c;
    }
    return nullptr;
  }
};

}  // namespace speedrunner::validate
