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

// The last `name` in backticks on a prose line that looks like a file
// ("Here is the updated `train.py`:"), or nothing.
inline std::optional<std::string> backticked_path(std::string_view line) {
  std::optional<std::string> found;
  for (std::size_t open = line.find('`'); open != std::string_view::npos;) {
    std::size_t close = line.find('`', open + 1);
    if (close == std::string_view::npos) break;
    std::string_view name = line.substr(open + 1, close - open - 1);
    bool plain = !name.empty() && name.find_first_of(" \t") == std::string_view::npos;
    if (plain && name.find_first_of("./") != std::string_view::npos && name.find_first_not_of('.') != std::string_view::npos)
      found = std::string(name);
    open = line.find('`', close + 1);
  }
  return found;
}
}  // namespace detail

// The whole-file format. A fence may be ```, ~~~, a longer run or a <source>
// tag; a body wrapped in a fence of its own is unwrapped. A block with no
// path line takes the file named in backticks in the prose just above it;
// failing that its path stays empty and apply_edits() gives it the only
// editable file (ApplyOptions::entry_files) or refuses it. When some blocks
// name their file, blocks that name none are taken as snippets and skipped.
struct WholeFile {
  static constexpr std::string_view name = "whole";

  [[nodiscard]] std::string_view prompt() const { return whole_file_prompt; }

  [[nodiscard]] Result<std::vector<Edit>> parse(std::string_view answer) const {
    using namespace detail;
    const std::vector<std::string> lines = split_lines(to_lf(answer));
    std::vector<Edit> edits;
    const std::string fix = "write each changed file as its path alone on a line, then ```, the whole content, then ```";
    bool any_named = false;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const auto fence = opening_fence(lines[i]);
      if (!fence) continue;
      std::optional<std::string> path;
      for (std::size_t back = 1; back <= 2 && back <= i; ++back) {
        if (is_blank(lines[i - back])) continue;
        path = path_from_line(lines[i - back]);
        if (!path) path = backticked_path(lines[i - back]);
        break;
      }
      Edit edit{.path = path.value_or(""), .search = {}, .replace = {}, .kind = Edit::Kind::whole_file};
      // A body that opens a fence of its own (```python after ```) is closed twice.
      std::size_t first = i + 1;
      if (first + 1 < lines.size() && !opening_fence(lines[first]) && path_from_line(lines[first]) &&
          opening_fence(lines[first + 1]))
        ++first;
      const auto inner = first < lines.size() ? opening_fence(lines[first]) : std::nullopt;
      const bool nested = inner && !inner->info.empty() && inner->mark == fence->mark;
      std::size_t j = i + 1;
      for (; j < lines.size(); ++j) {
        if (fence->closed_by(lines[j])) break;
        edit.replace += lines[j] + '\n';
      }
      if (j == lines.size())
        return fail("the fenced block for " + (edit.path.empty() ? std::string("an unnamed file") : edit.path) +
                        " (line " + std::to_string(i + 1) + ") is never closed",
                    fix);
      if (nested) {
        std::size_t k = j + 1;
        while (k < lines.size() && is_blank(lines[k])) ++k;
        if (k < lines.size() && fence->closed_by(lines[k])) {
          edit.replace += lines[j] + '\n';
          j = k;
        }
      }
      std::string named;
      if (auto body = unwrap_fenced(edit.replace, edit.path, &named, /*need_language=*/true)) {
        edit.replace = std::move(*body);
        if (edit.path.empty()) edit.path = named;
      }
      any_named = any_named || !edit.path.empty();
      edits.push_back(std::move(edit));
      i = j;
    }
    if (any_named) std::erase_if(edits, [](const Edit& e) { return e.path.empty(); });
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
