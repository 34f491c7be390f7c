// What a node changed: a unified diff (git's format, 3 lines of context) of
// two version folders, for the viewer's node panel and the judge. Files the
// run writes itself (logs, meta.json, results.json, model call logs), build
// outputs and binary files are left out.
#pragma once

#include <speedrunner/workspace/atomic_file.hpp>
#include <speedrunner/workspace/workspace.hpp>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <fnmatch.h>

namespace speedrunner::workspace {

namespace detail {

[[nodiscard]] inline std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    lines.push_back(text.substr(0, nl == std::string_view::npos ? text.size() : nl + 1));
    text.remove_prefix(lines.back().size());
  }
  return lines;
}

// One line of an edit script: ' ' kept, '-' removed (from a), '+' added (from b).
struct DiffLine {
  char op;
  std::string_view text;
  int a, b;  // 0-based line numbers in a and b before this line
};

// A shortest edit script: common head and tail are peeled off, the middle is
// matched by longest common subsequence (quadratic, so a middle above ~4M line
// pairs is shown as removed and added whole).
[[nodiscard]] inline std::vector<DiffLine> edit_script(const std::vector<std::string_view>& a,
                                                       const std::vector<std::string_view>& b) {
  std::size_t head = 0;
  while (head < a.size() && head < b.size() && a[head] == b[head]) ++head;
  std::size_t tail = 0;
  while (tail < a.size() - head && tail < b.size() - head && a[a.size() - 1 - tail] == b[b.size() - 1 - tail]) ++tail;
  const std::size_t n = a.size() - head - tail, m = b.size() - head - tail;
  std::vector<DiffLine> out;
  int ia = 0, ib = 0;
  auto keep = [&](std::string_view t) { out.push_back({' ', t, ia++, ib++}); };
  auto del = [&](std::string_view t) { out.push_back({'-', t, ia++, ib}); };
  auto add = [&](std::string_view t) { out.push_back({'+', t, ia, ib++}); };
  for (std::size_t i = 0; i < head; ++i) keep(a[i]);
  if (n * m <= 4'000'000) {
    // lcs[i][j]: longest common subsequence of a's middle from i and b's from j
    std::vector<std::vector<int>> lcs(n + 1, std::vector<int>(m + 1, 0));
    for (std::size_t i = n; i-- > 0;)
      for (std::size_t j = m; j-- > 0;)
        lcs[i][j] = a[head + i] == b[head + j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    std::size_t i = 0, j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && a[head + i] == b[head + j]) {
        keep(a[head + i++]);
        ++j;
      } else if (i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1])) {
        del(a[head + i++]);  // removals before additions, as diff and git print them
      } else {
        add(b[head + j++]);
      }
    }
  } else {
    for (std::size_t i = 0; i < n; ++i) del(a[head + i]);
    for (std::size_t j = 0; j < m; ++j) add(b[head + j]);
  }
  for (std::size_t i = a.size() - tail; i < a.size(); ++i) keep(a[i]);
  return out;
}

inline void append_line(std::string& out, char op, std::string_view line) {
  out += op;
  out += line;
  if (line.empty() || line.back() != '\n') out += "\n\\ No newline at end of file\n";
}

}  // namespace detail

// The unified diff of one file's two texts ("" when they are equal); `path`
// names it in the a/ b/ headers, an empty side is a created or deleted file.
[[nodiscard]] inline std::string diff_texts(std::string_view path, std::string_view before, std::string_view after,
                                            bool created = false, bool deleted = false) {
  if (before == after && !created && !deleted) return {};
  const auto a = detail::split_lines(before), b = detail::split_lines(after);
  const auto script = detail::edit_script(a, b);
  const std::string p(path);
  std::string out = "diff --git a/" + p + " b/" + p + "\n";
  if (created) out += "new file mode 100644\n";
  if (deleted) out += "deleted file mode 100644\n";
  out += "--- " + (created ? std::string("/dev/null") : "a/" + p) + "\n";
  out += "+++ " + (deleted ? std::string("/dev/null") : "b/" + p) + "\n";
  constexpr int context = 3;
  const int total = static_cast<int>(script.size());
  for (int i = 0; i < total;) {
    if (script[static_cast<std::size_t>(i)].op == ' ') {
      ++i;
      continue;
    }
    // a hunk: this change, the changes within 2 * context kept lines of it, context around
    const int from = std::max(0, i - context);
    int to = i, kept = 0;
    for (int k = i; k < total; ++k) {
      if (script[static_cast<std::size_t>(k)].op == ' ') {
        if (++kept > 2 * context) break;
      } else {
        kept = 0;
        to = k;
      }
    }
    const int end = std::min(total, to + 1 + context);
    int na = 0, nb = 0;
    for (int k = from; k < end; ++k) {
      const char op = script[static_cast<std::size_t>(k)].op;
      na += op != '+';
      nb += op != '-';
    }
    const auto& first = script[static_cast<std::size_t>(from)];
    out += "@@ -" + std::to_string(na ? first.a + 1 : first.a) + "," + std::to_string(na) + " +" +
           std::to_string(nb ? first.b + 1 : first.b) + "," + std::to_string(nb) + " @@\n";
    for (int k = from; k < end; ++k) detail::append_line(out, script[static_cast<std::size_t>(k)].op, script[static_cast<std::size_t>(k)].text);
    i = end;
  }
  return out;
}

// The files of a version the diff compares: regular text files below 1 MB,
// without what the run writes into the folder and without `ignore` matches.
[[nodiscard]] inline std::set<std::string> version_files(const std::filesystem::path& dir,
                                                         const std::vector<std::string>& ignore) {
  namespace fs = std::filesystem;
  std::set<std::string> files;
  std::error_code ec;
  auto it = fs::recursive_directory_iterator(dir, ec);
  if (ec) return files;
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    const fs::path rel = fs::relative(it->path(), dir);
    const std::string name = rel.filename().string();
    const bool own_record = it.depth() == 0 && (name == meta_file || name == results_file || name == stdout_file ||
                                                name == stderr_file || name == "coder_history.jsonl" ||
                                                name == "coder.md" || ::fnmatch("llm*.jsonl", name.c_str(), 0) == 0);
    if (own_record || ignored(rel, ignore) || name.starts_with(".")) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file() || it->file_size(ec) > (1u << 20)) continue;
    files.insert(rel.generic_string());
  }
  return files;
}

// The unified diff from version folder `before` to `after`, file by file in path order.
[[nodiscard]] inline std::string diff_versions(const std::filesystem::path& before, const std::filesystem::path& after,
                                               const std::vector<std::string>& ignore = {".git", "build", "__pycache__",
                                                                                         "*.o", "*.log"}) {
  auto a = version_files(before, ignore), b = version_files(after, ignore);
  std::set<std::string> all = a;
  all.insert(b.begin(), b.end());
  std::string out;
  for (const auto& rel : all) {
    const bool in_a = a.contains(rel), in_b = b.contains(rel);
    const std::string ta = in_a ? read_file(before / rel).value_or("") : "";
    const std::string tb = in_b ? read_file(after / rel).value_or("") : "";
    if (ta.find('\0') != std::string::npos || tb.find('\0') != std::string::npos) continue;  // binaries: build outputs
    out += diff_texts(rel, ta, tb, !in_a, !in_b);
  }
  return out;
}

}  // namespace speedrunner::workspace
