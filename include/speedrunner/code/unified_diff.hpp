// The unified-diff edit format without line numbers (Aider's "udiff"): each
// hunk's context and `-` lines are located like a SEARCH part, so a model need
// not count lines.
#pragma once

#include <speedrunner/code/detail/text.hpp>
#include <speedrunner/code/edit.hpp>
#include <speedrunner/core/error.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace speedrunner::code {

inline constexpr std::string_view unified_diff_prompt = R"(Describe every change as a unified diff, like `diff -U3` writes, but without line numbers.

Rules:
- Start each file with a `--- path` line and a `+++ path` line, using the path exactly as it was shown to you.
- Start each hunk with a line `@@ ... @@`. Line numbers are not needed.
- In a hunk, unchanged lines start with a space, removed lines with `-`, added lines with `+`.
- Include two or three unchanged lines around each change, and every line that is removed. The unchanged and removed lines must copy the current file exactly, whitespace included.
- Only the first place that matches a hunk is changed: include enough unchanged lines to make each hunk unique.
- To create a file, use `--- /dev/null` and `+++ path`, with every line added.
- Put the diff in a ```diff fence. Never change a file marked read-only.

Example:

```diff
--- train.py
+++ train.py
@@ ... @@
 def lr(step):
-    return 0.02 * step
+    return 0.03 * step
```
)";

namespace detail {
// "--- a/x.py\t2024-01-01" -> "a/x.py"
inline std::string header_path(std::string_view rest) {
  if (auto tab = rest.find('\t'); tab != std::string_view::npos) rest = rest.substr(0, tab);
  return std::string(trim(rest));
}
}  // namespace detail

struct UnifiedDiff {
  static constexpr std::string_view name = "udiff";

  [[nodiscard]] std::string_view prompt() const { return unified_diff_prompt; }

  [[nodiscard]] Result<std::vector<Edit>> parse(std::string_view answer) const {
    using namespace detail;
    const std::vector<std::string> lines = split_lines(to_lf(answer));
    std::vector<Edit> edits;
    const std::string fix = "write `--- path`, `+++ path`, then hunks that start with `@@ ... @@` and whose lines "
                            "start with ' ', '-' or '+'";
    std::size_t i = 0;
    auto file_header = [&](std::size_t k) {
      return k + 1 < lines.size() && lines[k].starts_with("--- ") && lines[k + 1].starts_with("+++ ");
    };
    while (i < lines.size()) {
      if (!file_header(i)) {
        ++i;
        continue;
      }
      std::string from = header_path(std::string_view(lines[i]).substr(4));
      std::string to = header_path(std::string_view(lines[i + 1]).substr(4));
      if (to == "/dev/null")
        return fail("the diff deletes " + from + ", which this format cannot do",
                    "empty the file with a hunk that removes its lines instead");
      if (from.starts_with("a/") && to.starts_with("b/")) to = to.substr(2);
      const bool creates = from == "/dev/null";
      i += 2;
      std::size_t hunks_here = 0;
      while (i < lines.size() && lines[i].starts_with("@@")) {
        ++i;
        ++hunks_here;
        Edit edit{.path = to, .search = {}, .replace = {}, .kind = Edit::Kind::search_replace};
        bool changes = false;
        std::size_t trailing_blank = 0;  // lines left empty at the hunk's end: spacing, not context
        for (; i < lines.size() && !lines[i].starts_with("@@") && !file_header(i); ++i) {
          const std::string& l = lines[i];
          // The fence or prose after the diff ends the hunk (and blank lines before it are spacing).
          if (!l.empty() && l[0] != ' ' && l[0] != '-' && l[0] != '+' && l[0] != '\\') break;
          trailing_blank = l.empty() ? trailing_blank + 1 : 0;
          if (l.empty()) {
            edit.search += "\n";
            edit.replace += "\n";
          } else if (l[0] == ' ') {
            edit.search += l.substr(1) + "\n";
            edit.replace += l.substr(1) + "\n";
          } else if (l[0] == '-') {
            edit.search += l.substr(1) + "\n";
            changes = true;
          } else if (l[0] == '+') {
            edit.replace += l.substr(1) + "\n";
            changes = true;
          } else {
            continue;  // "\ No newline at end of file"
          }
        }
        edit.search.resize(edit.search.size() - trailing_blank);
        edit.replace.resize(edit.replace.size() - trailing_blank);
        if (!changes) continue;
        if (edit.search.empty() && !creates)
          return fail("hunk " + std::to_string(hunks_here) + " for " + to + " has no unchanged or removed lines",
                      "include two or three unchanged lines around where the new lines go");
        edits.push_back(std::move(edit));
      }
      if (hunks_here == 0)
        return fail("the diff for " + to + " has no `@@ ... @@` hunk", fix);
    }
    if (edits.empty()) return fail("the answer holds no unified diff with changes", fix);
    return edits;
  }

  // Every SEARCH line removed and every REPLACE line added, in one hunk.
  [[nodiscard]] std::string render(const Edit& edit) const {
    const bool creates = edit.kind == Edit::Kind::whole_file || edit.search.empty();
    std::string out = "```diff\n--- " + (creates ? std::string("/dev/null") : edit.path) + "\n+++ " + edit.path +
                      "\n@@ ... @@\n";
    if (!creates)
      for (const auto& l : detail::split_lines(edit.search)) out += "-" + l + "\n";
    for (const auto& l : detail::split_lines(edit.replace)) out += "+" + l + "\n";
    return out + "```\n";
  }
};

static_assert(detail::check_edit_format<UnifiedDiff>());

}  // namespace speedrunner::code
