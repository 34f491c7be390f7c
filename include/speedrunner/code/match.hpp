// The matching ladder that finds a SEARCH text in a file: exact, then ignoring
// trailing whitespace, then ignoring leading indentation (re-indenting the
// replacement), then `...` elision, then fuzzy with ambiguity refused.
#pragma once

#include <speedrunner/code/detail/text.hpp>

#include <cstddef>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace speedrunner::code {

struct MatchOptions {
  double fuzzy_threshold = 0.9;     // least similarity (0..1) a fuzzy match needs; above 1 turns fuzzy off
  double ambiguity_epsilon = 0.02;  // two places whose similarities differ by no more are ambiguous
  double hint_threshold = 0.5;      // least similarity for the closest lines shown as "did you mean"
};

// Which rung of the ladder matched.
enum class MatchKind { exact, trailing_whitespace, indentation, elision, fuzzy };

[[nodiscard]] constexpr std::string_view to_string(MatchKind k) {
  switch (k) {
    case MatchKind::exact: return "exact";
    case MatchKind::trailing_whitespace: return "trailing whitespace ignored";
    case MatchKind::indentation: return "indentation ignored";
    case MatchKind::elision: return "... elision";
    case MatchKind::fuzzy: return "fuzzy";
  }
  return "exact";
}

struct Replaced {
  std::string content;     // the whole new text (LF)
  MatchKind how = MatchKind::exact;
  std::size_t first_line = 0;  // 0-based line of the (first) match
  double similarity = 1.0;
};

enum class Miss {
  not_found,        // no rung matched
  ambiguous,        // fuzzy found two places equally close
  already_applied,  // the SEARCH text is gone and the REPLACE text is there
  elision_mismatch, // `...` lines do not pair up between SEARCH and REPLACE
};

// Lines of the file closest to a SEARCH text that did not match.
struct Closest {
  std::size_t first_line = 0;  // 0-based
  std::string text;            // the lines, LF-terminated
  double similarity = 0.0;
};

struct MatchFailure {
  Miss why = Miss::not_found;
  std::optional<Closest> closest;        // not_found: the nearest lines, when near enough
  std::vector<std::size_t> places;       // ambiguous: 0-based first lines of the candidates
};

namespace detail {

// A text as lines, remembering whether the last one ended in '\n'.
struct Lines {
  std::vector<std::string> lines;
  bool final_newline = true;
  explicit Lines(std::string_view text)
      : lines(split_lines(text)), final_newline(text.empty() || text.back() == '\n') {}
  [[nodiscard]] std::string str() const {
    std::string out = join_lines(lines);
    if (!final_newline && !out.empty()) out.pop_back();
    return out;
  }
};

using LineEq = bool (*)(std::string_view, std::string_view);
inline bool eq_exact(std::string_view a, std::string_view b) { return a == b; }
inline bool eq_rtrim(std::string_view a, std::string_view b) { return rtrim(a) == rtrim(b); }

inline std::optional<std::size_t> find_lines(const std::vector<std::string>& file,
                                             const std::vector<std::string>& search, std::size_t from,
                                             LineEq eq) {
  if (search.empty() || search.size() > file.size()) return std::nullopt;
  for (std::size_t i = from; i + search.size() <= file.size(); ++i) {
    bool all = true;
    for (std::size_t k = 0; k < search.size() && all; ++k) all = eq(file[i + k], search[k]);
    if (all) return i;
  }
  return std::nullopt;
}

// The indentation the file adds to (or removes from) every non-blank SEARCH line.
struct Reindent {
  std::string prefix;
  bool add = true;  // file lines = prefix + search lines; otherwise search lines = prefix + file lines
  [[nodiscard]] std::string apply(std::string_view line) const {
    if (is_blank(line)) return std::string(line);
    if (add) return prefix + std::string(line);
    if (line.starts_with(prefix)) return std::string(line.substr(prefix.size()));
    // A line indented less than the offset loses what indentation it has.
    return std::string(line.substr(std::min(prefix.size(), indentation(line).size())));
  }
};

inline std::optional<Reindent> indent_offset(const std::vector<std::string>& file, std::size_t at,
                                             const std::vector<std::string>& search) {
  std::optional<Reindent> offset;
  for (std::size_t k = 0; k < search.size(); ++k) {
    std::string_view f = rtrim(file[at + k]), s = rtrim(search[k]);
    if (s.empty() || f.empty()) {
      if (s.empty() != f.empty()) return std::nullopt;
      continue;
    }
    Reindent here;
    if (f.size() >= s.size() && f.ends_with(s) && is_blank(f.substr(0, f.size() - s.size()))) {
      here = {std::string(f.substr(0, f.size() - s.size())), true};
    } else if (s.size() > f.size() && s.ends_with(f) && is_blank(s.substr(0, s.size() - f.size()))) {
      here = {std::string(s.substr(0, s.size() - f.size())), false};
    } else {
      return std::nullopt;
    }
    if (here.prefix.empty()) here.add = true;
    if (!offset) offset = here;
    else if (offset->prefix != here.prefix || offset->add != here.add) return std::nullopt;
  }
  return offset;
}

struct Found {
  std::size_t at = 0;
  MatchKind how = MatchKind::exact;
  std::optional<Reindent> reindent;
};

// The first three rungs, from line `from` on.
inline std::optional<Found> find_strict(const std::vector<std::string>& file, const std::vector<std::string>& search,
                                        std::size_t from) {
  if (auto at = find_lines(file, search, from, eq_exact)) return Found{*at, MatchKind::exact, std::nullopt};
  if (auto at = find_lines(file, search, from, eq_rtrim))
    return Found{*at, MatchKind::trailing_whitespace, std::nullopt};
  if (search.empty() || search.size() > file.size()) return std::nullopt;
  for (std::size_t i = from; i + search.size() <= file.size(); ++i)
    if (auto r = indent_offset(file, i, search)) return Found{i, MatchKind::indentation, r};
  return std::nullopt;
}

inline void splice(std::vector<std::string>& file, std::size_t at, std::size_t count,
                   const std::vector<std::string>& replacement, const std::optional<Reindent>& reindent) {
  std::vector<std::string> repl;
  repl.reserve(replacement.size());
  for (const auto& l : replacement) repl.push_back(reindent ? reindent->apply(l) : l);
  file.erase(file.begin() + static_cast<std::ptrdiff_t>(at), file.begin() + static_cast<std::ptrdiff_t>(at + count));
  file.insert(file.begin() + static_cast<std::ptrdiff_t>(at), repl.begin(), repl.end());
}

inline bool is_elision(std::string_view line) { return trim(line) == "..."; }

// Splits lines at `...` lines.
inline std::vector<std::vector<std::string>> elision_pieces(const std::vector<std::string>& lines) {
  std::vector<std::vector<std::string>> pieces(1);
  for (const auto& l : lines) {
    if (is_elision(l)) pieces.emplace_back();
    else pieces.back().push_back(l);
  }
  return pieces;
}

// Similarity of a window of the file to the SEARCH lines: one minus the
// character edit distance over the longer length, trailing whitespace ignored.
inline double window_similarity(const std::vector<std::string>& file, std::size_t at,
                                const std::vector<std::string>& search) {
  std::size_t dist = 0, total = 0;
  for (std::size_t k = 0; k < search.size(); ++k) {
    std::string_view f = rtrim(file[at + k]), s = rtrim(search[k]);
    dist += edit_distance(f, s);
    total += std::max(f.size(), s.size());
  }
  return total == 0 ? 1.0 : 1.0 - static_cast<double>(dist) / static_cast<double>(total);
}

struct Ranked {
  std::optional<std::size_t> best;
  double best_sim = -1.0;
  std::optional<std::size_t> second;  // best window that does not overlap `best`
  double second_sim = -1.0;
};

inline Ranked rank_windows(const std::vector<std::string>& file, const std::vector<std::string>& search) {
  Ranked r;
  if (search.empty() || search.size() > file.size()) return r;
  std::vector<double> sims(file.size() - search.size() + 1);
  for (std::size_t i = 0; i < sims.size(); ++i) {
    sims[i] = window_similarity(file, i, search);
    if (sims[i] > r.best_sim) r.best_sim = sims[i], r.best = i;
  }
  for (std::size_t i = 0; i < sims.size(); ++i) {
    bool overlaps = i + search.size() > *r.best && *r.best + search.size() > i;
    if (!overlaps && sims[i] > r.second_sim) r.second_sim = sims[i], r.second = i;
  }
  return r;
}

}  // namespace detail

namespace detail {
[[nodiscard]] inline std::expected<Replaced, MatchFailure> replace_first_once(std::string_view content,
                                                                            std::string_view search,
                                                                            std::string_view replace,
                                                                            const MatchOptions& options) {
  Lines file(content);
  const std::vector<std::string> s = split_lines(search);
  const std::vector<std::string> r = split_lines(replace);
  if (s.empty()) {
    if (!content.empty()) return std::unexpected(MatchFailure{Miss::not_found, std::nullopt, {}});
    return Replaced{std::string(replace), MatchKind::exact, 0, 1.0};
  }
  // Rungs 1-3: exact, trailing whitespace, indentation.
  if (auto f = find_strict(file.lines, s, 0)) {
    splice(file.lines, f->at, s.size(), r, f->reindent);
    return Replaced{file.str(), f->how, f->at, 1.0};
  }
  // Rung 4: `...` elision; each piece matches after the one before it.
  auto s_pieces = elision_pieces(s);
  if (s_pieces.size() > 1) {
    auto r_pieces = elision_pieces(r);
    if (r_pieces.size() != s_pieces.size())
      return std::unexpected(MatchFailure{Miss::elision_mismatch, std::nullopt, {}});
    std::vector<std::string> work = file.lines;
    std::size_t from = 0;
    std::optional<std::size_t> first;
    bool all = true;
    for (std::size_t p = 0; p < s_pieces.size() && all; ++p) {
      if (s_pieces[p].empty()) {
        if (!r_pieces[p].empty()) return std::unexpected(MatchFailure{Miss::elision_mismatch, std::nullopt, {}});
        continue;
      }
      auto f = find_strict(work, s_pieces[p], from);
      if (!f) {
        all = false;
        break;
      }
      if (!first) first = f->at;
      splice(work, f->at, s_pieces[p].size(), r_pieces[p], f->reindent);
      from = f->at + r_pieces[p].size();
    }
    if (all && first) {
      file.lines = std::move(work);
      return Replaced{file.str(), MatchKind::elision, *first, 1.0};
    }
  }
  // The REPLACE text is there and adds lines SEARCH lacks: applied before.
  {
    bool adds_lines = false;
    for (const auto& line : r) {
      if (is_blank(line)) continue;
      bool in_search = false;
      for (const auto& sl : s) in_search = in_search || rtrim(sl) == rtrim(line);
      adds_lines = adds_lines || !in_search;
    }
    if (adds_lines && find_strict(file.lines, r, 0))
      return std::unexpected(MatchFailure{Miss::already_applied, std::nullopt, {}});
  }
  // Rung 5: fuzzy, refusing two places nearly equally close.
  auto ranked = rank_windows(file.lines, s);
  if (ranked.best && ranked.best_sim >= options.fuzzy_threshold) {
    if (ranked.second && ranked.second_sim >= ranked.best_sim - options.ambiguity_epsilon)
      return std::unexpected(MatchFailure{Miss::ambiguous, std::nullopt,
                                          {std::min(*ranked.best, *ranked.second),
                                           std::max(*ranked.best, *ranked.second)}});
    std::size_t at = *ranked.best;
    splice(file.lines, at, s.size(), r, std::nullopt);
    return Replaced{file.str(), MatchKind::fuzzy, at, ranked.best_sim};
  }
  MatchFailure miss{Miss::not_found, std::nullopt, {}};
  if (ranked.best && ranked.best_sim >= options.hint_threshold) {
    std::vector<std::string> near(file.lines.begin() + static_cast<std::ptrdiff_t>(*ranked.best),
                                  file.lines.begin() + static_cast<std::ptrdiff_t>(*ranked.best + s.size()));
    miss.closest = Closest{*ranked.best, join_lines(near), ranked.best_sim};
  }
  return std::unexpected(std::move(miss));
}

// Leading blank lines of a text, counted.
inline std::size_t leading_blank_lines(std::string_view text) {
  std::size_t n = 0, pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    if (!is_blank(line) || nl == std::string_view::npos) break;
    ++n;
    pos = nl + 1;
  }
  return n;
}

inline std::string_view drop_lines(std::string_view text, std::size_t n) {
  for (; n > 0 && !text.empty(); --n) {
    std::size_t nl = text.find('\n');
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
  }
  return text;
}
}  // namespace detail

// Replaces the first match of `search` in `content` (LF texts) with `replace`,
// climbing the ladder; says why when no rung matches. An empty `search`
// matches only an empty content. The content's missing final newline is kept.
// A SEARCH that starts with blank lines the file lacks there is tried again
// without them (as Aider does); the REPLACE loses as many leading blank lines.
[[nodiscard]] inline std::expected<Replaced, MatchFailure> replace_first(std::string_view content,
                                                                       std::string_view search,
                                                                       std::string_view replace,
                                                                       const MatchOptions& options = {}) {
  using namespace detail;
  const std::size_t blank = leading_blank_lines(search);
  const std::string_view trimmed = drop_lines(search, blank);
  if (blank == 0 || trimmed.empty()) return replace_first_once(content, search, replace, options);
  // Without fuzzy first: a fuzzy match of the blank line would swallow the line above.
  MatchOptions strict = options;
  strict.fuzzy_threshold = 2.0;
  auto first = replace_first_once(content, search, replace, strict);
  if (first || first.error().why == Miss::already_applied) return first;
  return replace_first_once(content, trimmed, drop_lines(replace, std::min(blank, leading_blank_lines(replace))),
                            options);
}

}  // namespace speedrunner::code
