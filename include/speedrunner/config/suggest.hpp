// "Did you mean" for unknown keys, group options and enum names: the nearest
// choices by edit distance, and the full list of choices for the message.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace speedrunner::config {

// Optimal string alignment distance: insertions, deletions, substitutions and
// swaps of neighbours each cost 1 ("debug_porb" is one step from "debug_prob").
[[nodiscard]] inline std::size_t edit_distance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::size_t> prev2(m + 1), prev(m + 1), cur(m + 1);
  for (std::size_t j = 0; j <= m; ++j) prev[j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= m; ++j) {
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[m];
}

// The choices close enough to `word` to be what the user meant, nearest first:
// within a third of the word's length (at least 2 edits), or sharing its prefix.
[[nodiscard]] inline std::vector<std::string> nearest(std::string_view word,
                                                      const std::vector<std::string>& choices) {
  std::vector<std::pair<std::size_t, std::string>> scored;
  const std::size_t limit = std::max<std::size_t>(2, word.size() / 3);
  for (const auto& c : choices) {
    std::size_t d = edit_distance(word, c);
    bool prefix = word.size() >= 3 && (c.starts_with(word) || word.starts_with(c));
    // a one-letter word is one edit from every one-letter choice: no suggestion
    if ((d <= limit && d < word.size()) || prefix) scored.emplace_back(prefix ? std::min(d, limit) : d, c);
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<std::string> out;
  for (auto& s : scored) out.push_back(std::move(s.second));
  return out;
}

// "a, b, c" (sorted), or "(none)".
[[nodiscard]] inline std::string list_choices(std::vector<std::string> choices) {
  if (choices.empty()) return "(none)";
  std::sort(choices.begin(), choices.end());
  std::string out;
  for (const auto& c : choices) {
    if (!out.empty()) out += ", ";
    out += c;
  }
  return out;
}

// " (did you mean X?)" or "" when nothing is close.
[[nodiscard]] inline std::string did_you_mean(std::string_view word,
                                              const std::vector<std::string>& choices) {
  auto near = nearest(word, choices);
  if (near.empty()) return {};
  return " (did you mean " + near.front() + "?)";
}

}  // namespace speedrunner::config
