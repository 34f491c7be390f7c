// Line-level text helpers shared by the edit formats and the matcher: splitting
// into lines, trimming, line-ending detection and a bounded edit distance.
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace speedrunner::code::detail {

inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

inline std::string_view rtrim(std::string_view s) {
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}
inline std::string_view ltrim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  return s;
}
inline std::string_view trim(std::string_view s) { return ltrim(rtrim(s)); }
inline bool is_blank(std::string_view s) { return trim(s).empty(); }

// The leading run of spaces and tabs.
inline std::string_view indentation(std::string_view s) {
  std::size_t n = 0;
  while (n < s.size() && (s[n] == ' ' || s[n] == '\t')) ++n;
  return s.substr(0, n);
}

// Splits on '\n'; a final newline does not make an extra empty line.
inline std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) {
      lines.emplace_back(text.substr(start));
      break;
    }
    lines.emplace_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

// Joins lines with '\n' after each one.
inline std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) {
    out += l;
    out += '\n';
  }
  return out;
}

// "\r\n" -> "\n" (model answers and CRLF files are matched in LF form).
inline std::string to_lf(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
    out += text[i];
  }
  return out;
}

inline std::string to_crlf(std::string_view lf_text) {
  std::string out;
  out.reserve(lf_text.size() + lf_text.size() / 16);
  for (char c : lf_text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

// True when the text has line breaks and every one of them is "\r\n".
inline bool uses_crlf(std::string_view text) {
  std::size_t newlines = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\n') continue;
    ++newlines;
    if (i == 0 || text[i - 1] != '\r') return false;
  }
  return newlines > 0;
}

// A code fence as models write them: a run of three or more backticks or
// tildes with an optional info string (```python, ~~~, ````), or one of the
// tags some prompts ask for (<source>, <code>, <pre>, <codeblock>, <sourcecode>).
struct Fence {
  char mark = '`';          // '`', '~', or '<' for a tag
  std::size_t length = 0;   // the run's length (backticks, tildes)
  std::string tag;          // "source" for <source>
  std::string info;         // the text after the run: a language, a path, or nothing

  // True when `line` ends a block this fence opened: the same mark at least as
  // long and nothing else, or the closing tag.
  [[nodiscard]] bool closed_by(std::string_view line) const {
    std::string_view l = trim(line);
    if (mark == '<') return l.size() == tag.size() + 3 && l.starts_with("</") && l.substr(2, tag.size()) == tag &&
                            l.back() == '>';
    std::size_t n = 0;
    while (n < l.size() && l[n] == mark) ++n;
    return n == l.size() && n >= length;
  }
};

inline constexpr std::string_view fence_tags[] = {"source", "code", "pre", "codeblock", "sourcecode"};

// The fence `line` opens, if it is one (a bare run of backticks also closes).
inline std::optional<Fence> opening_fence(std::string_view line) {
  std::string_view l = trim(line);
  if (l.size() >= 3 && (l[0] == '`' || l[0] == '~')) {
    std::size_t n = 0;
    while (n < l.size() && l[n] == l[0]) ++n;
    if (n < 3) return std::nullopt;
    std::string_view info = trim(l.substr(n));
    if (l[0] == '`' && info.find('`') != std::string_view::npos) return std::nullopt;  // inline code, not a fence
    return Fence{l[0], n, {}, std::string(info)};
  }
  if (l.size() >= 3 && l.front() == '<' && l.back() == '>' && l[1] != '/') {
    std::string_view inner = l.substr(1, l.size() - 2);
    std::string_view name = inner.substr(0, inner.find(' '));
    for (auto tag : fence_tags)
      if (name == tag) return Fence{'<', 0, std::string(tag), std::string(trim(inner.substr(name.size())))};
  }
  return std::nullopt;
}

// Any line that opens or closes a fence of any kind.
inline bool fence_line(std::string_view line) {
  if (opening_fence(line)) return true;
  std::string_view l = trim(line);
  if (!l.starts_with("</") || !l.ends_with(">")) return false;
  for (auto tag : fence_tags)
    if (l.substr(2, l.size() - 3) == tag) return true;
  return false;
}

// Levenshtein distance between two short strings (one line each), O(|a|*|b|)
// time and O(|b|) memory.
inline std::size_t edit_distance(std::string_view a, std::string_view b) {
  if (a.size() < b.size()) std::swap(a, b);
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// Valid UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
inline bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    unsigned cp = 0;
    if (c < 0x80) { ++i; continue; }
    if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
    else return false;
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

// A file is treated as binary when it holds a NUL byte or is not UTF-8.
inline bool looks_binary(std::string_view content) {
  return content.find('\0') != std::string_view::npos || !valid_utf8(content);
}

}  // namespace speedrunner::code::detail
