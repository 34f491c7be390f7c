// The SEARCH/REPLACE edit format (Aider's "diff" format): the file's path on
// the line before a fence holding <<<<<<< SEARCH / ======= / >>>>>>> REPLACE.
#pragma once

#include <speedrunner/code/detail/text.hpp>
#include <speedrunner/code/edit.hpp>
#include <speedrunner/core/error.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace speedrunner::code {

// Rules and an example for the system prompt. The matcher replaces only the
// first match, so the prompt asks for SEARCH text that is unique.
inline constexpr std::string_view search_replace_prompt = R"(Describe every change as a SEARCH/REPLACE block.

Each block is written like this:
1. The file's path, alone on its own line, exactly as it was shown to you.
2. An opening fence with the language: ```python
3. A line `<<<<<<< SEARCH`
4. A run of lines copied from the current file, character for character: whitespace, comments and all.
5. A line `=======`
6. The lines that replace them.
7. A line `>>>>>>> REPLACE`
8. A closing fence: ```

Rules:
- The SEARCH part must match lines of the file exactly. Copy them; do not retype them from memory.
- Only the first match in the file is replaced. Include enough surrounding lines to make the SEARCH part unique, and no more than that: keep blocks small.
- Several changes to one file take several blocks, in the order they appear in the file. Each block must still match after the blocks before it have been applied.
- To create a new file, give its path and leave the SEARCH part empty; the REPLACE part is the file's whole content.
- To move code, use one block that deletes it and one that inserts it elsewhere.
- Never edit a file marked read-only.

Example:

train.py
```python
<<<<<<< SEARCH
    lr = 0.02
=======
    lr = 0.03  # a larger learning rate for the shorter schedule
>>>>>>> REPLACE
```
)";

namespace detail {

// "<<<<<<< SEARCH", "=======", ">>>>>>> REPLACE" with 5 to 9 marker characters.
inline bool marker_line(std::string_view line, char mark, std::string_view word) {
  line = rtrim(line);
  std::size_t n = 0;
  while (n < line.size() && line[n] == mark) ++n;
  if (n < 5 || n > 9) return false;
  std::string_view rest = line.substr(n);
  if (word.empty()) return rest.empty();
  if (rest.empty() || rest.front() != ' ') return false;
  rest = trim(rest);
  if (mark == '<' && rest.ends_with('>')) rest.remove_suffix(1);  // "<<<<<<< SEARCH>" is a common slip
  return rest == word;
}
inline bool search_marker(std::string_view l) { return marker_line(l, '<', "SEARCH"); }
inline bool divider_marker(std::string_view l) { return marker_line(l, '=', ""); }
inline bool replace_marker(std::string_view l) { return marker_line(l, '>', "REPLACE"); }
inline bool any_marker(std::string_view l) {
  return search_marker(l) || divider_marker(l) || replace_marker(l);
}

// A line that names a file: "train.py", "`src/a b.py`", "# train.py", "**train.py**:".
// Prose ("Here is the change:") is refused by the no-whitespace rule unless quoted.
inline std::optional<std::string> path_from_line(std::string_view line) {
  std::string_view s = trim(line);
  while (!s.empty() && (s.front() == '#' || s.front() == '*')) s = ltrim(s.substr(1));
  while (!s.empty() && s.back() == '*') s = rtrim(s.substr(0, s.size() - 1));
  if (s.ends_with(':')) s = rtrim(s.substr(0, s.size() - 1));
  while (!s.empty() && s.back() == '*') s = rtrim(s.substr(0, s.size() - 1));
  bool quoted = s.size() >= 2 && s.front() == '`' && s.back() == '`';
  if (quoted) s = trim(s.substr(1, s.size() - 2));
  if (s.empty() || s.size() > 255 || fence_line(s)) return std::nullopt;
  // "..." (or "…") between blocks stands for "the same file, further on", never a file.
  if (s.find_first_not_of('.') == std::string_view::npos || s == "\u2026") return std::nullopt;
  if (!quoted) {
    for (char c : s)
      if (is_space(c)) return std::nullopt;
  }
  return std::string(s);
}

inline std::string_view base_name(std::string_view path) {
  auto slash = path.find_last_of("/\\");
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// A part the model wrapped in a fence of its own (```python ... ```), perhaps
// after a line naming the file: the text inside; nullopt when not wrapped.
// An empty `path` accepts any file name on that line and reports it in `named_out`;
// `need_language` asks for a language on the inner fence (```python), so that a
// file that is one bare fenced block is left as it is.
inline std::optional<std::string> unwrap_fenced(std::string_view text, std::string_view path,
                                                std::string* named_out = nullptr, bool need_language = false) {
  const std::vector<std::string> lines = split_lines(text);
  std::size_t b = 0, e = lines.size();
  while (b < e && is_blank(lines[b])) ++b;
  while (e > b && is_blank(lines[e - 1])) --e;
  std::string named_here;
  if (b + 1 < e && opening_fence(lines[b + 1]) && !opening_fence(lines[b])) {
    auto named = path_from_line(lines[b]);
    if (named && (path.empty() || *named == path || base_name(*named) == base_name(path))) {
      named_here = *named;
      ++b;
    }
  }
  if (e < b + 2) return std::nullopt;
  auto fence = opening_fence(lines[b]);
  if (!fence || !fence->closed_by(lines[e - 1]) || (need_language && fence->info.empty())) return std::nullopt;
  for (std::size_t k = b + 1; k + 1 < e; ++k)
    if (fence->closed_by(lines[k])) return std::nullopt;  // two fenced pieces, not one wrapped part
  if (named_out != nullptr) *named_out = named_here;
  return join_lines(std::vector<std::string>(lines.begin() + static_cast<std::ptrdiff_t>(b + 1),
                                             lines.begin() + static_cast<std::ptrdiff_t>(e - 1)));
}

inline std::string line_ref(std::size_t index) { return "line " + std::to_string(index + 1); }

}  // namespace detail

// The SEARCH/REPLACE format. parse() accepts the path before the fence or as
// the fence's first line, and a block without a path (or after a `...` line)
// reuses the previous one. Fences may be ```, ~~~, longer runs or <source> tags.
struct SearchReplace {
  static constexpr std::string_view name = "diff";

  [[nodiscard]] std::string_view prompt() const { return search_replace_prompt; }

  [[nodiscard]] Result<std::vector<Edit>> parse(std::string_view answer) const {
    using namespace detail;
    const std::vector<std::string> lines = split_lines(to_lf(answer));
    std::vector<Edit> edits;
    std::optional<std::string> previous_path;
    const std::string fix_layout =
        "write each block as: the path alone on a line, ```, <<<<<<< SEARCH, the old lines, =======, "
        "the new lines, >>>>>>> REPLACE, ```";
    std::size_t i = 0;
    while (i < lines.size()) {
      if (!search_marker(lines[i])) {
        if (divider_marker(lines[i]) || replace_marker(lines[i]))
          return fail("SEARCH/REPLACE block " + std::to_string(edits.size() + 1) + ": " + line_ref(i) +
                          " has `" + std::string(trim(lines[i])) + "` without a `<<<<<<< SEARCH` before it",
                      fix_layout);
        ++i;
        continue;
      }
      const std::size_t head = i;
      const std::string block = "SEARCH/REPLACE block " + std::to_string(edits.size() + 1) + " (" +
                                line_ref(head) + ")";
      // The path: the nearest non-blank, non-fence line among the three above.
      std::optional<std::string> path;
      for (std::size_t back = 1; back <= 3 && back <= head; ++back) {
        std::string_view above = lines[head - back];
        if (any_marker(above)) break;
        if (is_blank(above) || fence_line(above)) continue;
        path = path_from_line(above);
        break;
      }
      if (!path) path = previous_path;
      if (!path)
        return fail(block + " names no file",
                    "put the file's path alone on the line before the opening fence of each block");
      Edit edit{.path = *path, .search = {}, .replace = {}, .kind = Edit::Kind::search_replace};
      ++i;
      while (i < lines.size() && !divider_marker(lines[i])) {
        if (search_marker(lines[i]) || replace_marker(lines[i]))
          return fail(block + " for " + *path + " has no `=======` line before " + line_ref(i), fix_layout);
        edit.search += lines[i] + '\n';
        ++i;
      }
      if (i == lines.size())
        return fail(block + " for " + *path + " is cut off: no `=======` line follows the SEARCH part",
                    fix_layout);
      ++i;
      // As Aider does, a second `=======` also ends the REPLACE part; a
      // `>>>>>>> REPLACE` right after it belongs to the same block.
      while (i < lines.size() && !replace_marker(lines[i]) && !divider_marker(lines[i])) {
        if (search_marker(lines[i]))
          return fail(block + " for " + *path + " has no `>>>>>>> REPLACE` line before " + line_ref(i),
                      fix_layout);
        edit.replace += lines[i] + '\n';
        ++i;
      }
      if (i == lines.size())
        return fail(block + " for " + *path + " is cut off: no `>>>>>>> REPLACE` line ends it", fix_layout);
      if (divider_marker(lines[i])) {
        std::size_t next = i + 1;
        while (next < lines.size() && is_blank(lines[next])) ++next;
        if (next < lines.size() && replace_marker(lines[next])) i = next;
      }
      ++i;
      // A REPLACE part in a fence of its own (the SEARCH part not) is unwrapped.
      if (!unwrap_fenced(edit.search, *path))
        if (auto inner = unwrap_fenced(edit.replace, *path)) edit.replace = std::move(*inner);
      previous_path = *path;
      edits.push_back(std::move(edit));
    }
    if (edits.empty())
      return fail("the answer holds no SEARCH/REPLACE block",
                  "describe each change as a SEARCH/REPLACE block: " + fix_layout);
    return edits;
  }

  // The edit as a block in this format (whole-file edits become an empty SEARCH).
  [[nodiscard]] std::string render(const Edit& edit) const {
    auto with_newline = [](std::string s) {
      if (!s.empty() && s.back() != '\n') s += '\n';
      return s;
    };
    std::string out = edit.path + "\n```\n<<<<<<< SEARCH\n";
    if (edit.kind == Edit::Kind::search_replace) out += with_newline(edit.search);
    out += "=======\n" + with_newline(edit.replace) + ">>>>>>> REPLACE\n```\n";
    return out;
  }
};

static_assert(detail::check_edit_format<SearchReplace>());

}  // namespace speedrunner::code
