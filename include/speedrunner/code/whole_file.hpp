// The whole-file edit format: each changed file's path on a line, then its
// entire new content in a fence. Simple and robust for short files.
#pragma once

#include <speedrunner/code/detail/text.hpp>
#include <speedrunner/code/edit.hpp>
#include <speedrunner/code/search_replace.hpp>
#include <speedrunner/core/error.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace speedrunner::code {

inline constexpr std::string_view whole_file_prompt = R"(Return every file you change in full.

For each file write:
1. The file's path, alone on its own line, exactly as it was shown to you.
2. An opening fence with the language: ```python
3. The file's entire new content: every line, changed or not. Never elide lines with "..." or comments such as "rest unchanged".
4. A closing fence: ```

If the file's content itself holds lines starting with ```, fence it with more backticks (````).
To create a new file, give its new path. Only files you return are changed. Never return a file marked read-only.

Example:

train.py
```python
import math

def lr(step):
    return 0.03 * step
```
)";

namespace detail {
// The run of backticks a fence line opens with, or 0.
inline std::size_t fence_ticks(std::string_view line) {
  std::size_t n = 0;
  while (n < line.size() && line[n] == '`') ++n;
  return n >= 3 ? n : 0;
}
}  // namespace detail

struct WholeFile {
  static constexpr std::string_view name = "whole";

  [[nodiscard]] std::string_view prompt() const { return whole_file_prompt; }

  [[nodiscard]] Result<std::vector<Edit>> parse(std::string_view answer) const {
    using namespace detail;
    const std::vector<std::string> lines = split_lines(to_lf(answer));
    std::vector<Edit> edits;
    const std::string fix = "write each changed file as its path alone on a line, then ```, the whole content, then ```";
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const std::size_t ticks = fence_ticks(lines[i]);
      if (ticks == 0) continue;
      std::optional<std::string> path;
      for (std::size_t back = 1; back <= 2 && back <= i; ++back) {
        if (is_blank(lines[i - back])) continue;
        path = path_from_line(lines[i - back]);
        break;
      }
      if (!path)
        return fail("the fenced block at line " + std::to_string(i + 1) + " has no file path above it",
                    "put the file's path alone on the line before its fence, and show no code other than whole files");
      Edit edit{.path = *path, .search = {}, .replace = {}, .kind = Edit::Kind::whole_file};
      std::size_t j = i + 1;
      for (; j < lines.size(); ++j) {
        std::string_view l = rtrim(lines[j]);
        if (fence_ticks(l) == ticks && l.size() == ticks) break;
        edit.replace += lines[j] + '\n';
      }
      if (j == lines.size())
        return fail("the fenced block for " + *path + " (line " + std::to_string(i + 1) + ") is never closed", fix);
      edits.push_back(std::move(edit));
      i = j;
    }
    if (edits.empty()) return fail("the answer holds no file", fix);
    return edits;
  }

  [[nodiscard]] std::string render(const Edit& edit) const {
    std::size_t longest = 2;
    for (const auto& l : detail::split_lines(edit.replace)) longest = std::max(longest, detail::fence_ticks(l));
    const std::string fence(longest + 1, '`');
    std::string content = edit.replace;
    if (!content.empty() && content.back() != '\n') content += '\n';
    return edit.path + "\n" + fence + "\n" + content + fence + "\n";
  }
};

static_assert(detail::check_edit_format<WholeFile>());

}  // namespace speedrunner::code
