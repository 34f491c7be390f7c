// The GPT-2 pre-tokenizer, by hand: splits UTF-8 text into the pieces the
// regex 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// matches, with the reference's (JavaScript) meaning of \p{L}, \p{N} and \s.
#pragma once

#include <speedrunner/data/detail/unicode_classes.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace speedrunner::data::detail {

// Two-stage lookup (block of 256 code points -> deduplicated class block):
// one load for ASCII, two for the rest, instead of a binary search per code point.
class CodePointClasses {
 public:
  CodePointClasses() {
    constexpr std::size_t blocks = 0x110000 / 256;
    block_of_.resize(blocks);
    std::map<std::string, std::uint16_t> seen;  // block contents -> its id
    std::string block(256, '\0');
    std::size_t r = 0;
    for (std::size_t b = 0; b < blocks; ++b) {
      const char32_t base = char32_t(b * 256);
      for (std::size_t k = 0; k < 256; ++k) {
        const char32_t cp = base + char32_t(k);
        while (r < code_point_ranges.size() && code_point_ranges[r].last < cp) ++r;
        block[k] = char((r < code_point_ranges.size() && code_point_ranges[r].first <= cp)
                            ? code_point_ranges[r].cls
                            : CodePointClass::other);
      }
      auto [it, fresh] = seen.try_emplace(block, std::uint16_t(seen.size()));
      if (fresh)
        for (char c : block) table_.push_back(CodePointClass(c));
      block_of_[b] = it->second;
    }
  }

  [[nodiscard]] CodePointClass operator()(char32_t cp) const {
    return table_[std::size_t(block_of_[cp >> 8]) * 256 + (cp & 0xff)];
  }

  static const CodePointClasses& instance() {
    static const CodePointClasses classes;
    return classes;
  }

 private:
  std::vector<std::uint16_t> block_of_;
  std::vector<CodePointClass> table_;
};

struct CodePoint {
  CodePointClass cls;
  std::uint8_t bytes;  // its UTF-8 length; 1 for a byte that starts no valid sequence
};

// Decodes the code point at s[i]. An invalid or truncated sequence counts as one
// byte of class `other`, as U+FFFD (what the reference decodes it to) would.
[[nodiscard]] inline CodePoint code_point_at(std::string_view s, std::size_t i,
                                             const CodePointClasses& classes) {
  const auto b0 = std::uint8_t(s[i]);
  if (b0 < 0x80) return {classes(b0), 1};
  const std::size_t left = s.size() - i;
  auto cont = [&](std::size_t k) { return k < left && (std::uint8_t(s[i + k]) & 0xC0) == 0x80; };
  char32_t cp = 0;
  std::uint8_t n = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF && cont(1)) {
    cp = char32_t(b0 & 0x1F) << 6 | (std::uint8_t(s[i + 1]) & 0x3F);
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF && cont(1) && cont(2)) {
    cp = char32_t(b0 & 0x0F) << 12 | char32_t(std::uint8_t(s[i + 1]) & 0x3F) << 6 |
         (std::uint8_t(s[i + 2]) & 0x3F);
    if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) return {CodePointClass::other, 1};
    n = 3;
  } else if (b0 >= 0xF0 && b0 <= 0xF4 && cont(1) && cont(2) && cont(3)) {
    cp = char32_t(b0 & 0x07) << 18 | char32_t(std::uint8_t(s[i + 1]) & 0x3F) << 12 |
         char32_t(std::uint8_t(s[i + 2]) & 0x3F) << 6 | (std::uint8_t(s[i + 3]) & 0x3F);
    if (cp < 0x10000 || cp > 0x10FFFF) return {CodePointClass::other, 1};
    n = 4;
  } else {
    return {CodePointClass::other, 1};
  }
  return {classes(cp), n};
}

// Calls piece(std::string_view) for each pre-token of `text`, in order; the
// pieces concatenate back to `text`.
template <class OnPiece>
void for_each_pretoken(std::string_view text, OnPiece&& piece) {
  const CodePointClasses& classes = CodePointClasses::instance();
  const std::size_t n = text.size();
  std::size_t i = 0;
  // End of the run of code points of class `cls` that starts at j.
  auto run_end = [&](std::size_t j, CodePointClass cls) {
    while (j < n) {
      const CodePoint c = code_point_at(text, j, classes);
      if (c.cls != cls) break;
      j += c.bytes;
    }
    return j;
  };
  while (i < n) {
    const char c0 = text[i];
    if (c0 == '\'' && i + 1 < n) {
      const char c1 = text[i + 1];
      if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') {
        piece(text.substr(i, 2));
        i += 2;
        continue;
      }
      if (i + 2 < n && ((c1 == 'r' && text[i + 2] == 'e') || (c1 == 'v' && text[i + 2] == 'e') ||
                        (c1 == 'l' && text[i + 2] == 'l'))) {
        piece(text.substr(i, 3));
        i += 3;
        continue;
      }
    }
    const CodePoint first = code_point_at(text, i, classes);
    if (c0 == ' ' && i + 1 < n) {
      const CodePoint next = code_point_at(text, i + 1, classes);
      if (next.cls != CodePointClass::space) {  // ' ?\p{L}+', ' ?\p{N}+' or ' ?[^\s\p{L}\p{N}]+'
        const std::size_t end = run_end(i + 1 + next.bytes, next.cls);
        piece(text.substr(i, end - i));
        i = end;
        continue;
      }
    }
    if (first.cls != CodePointClass::space) {
      const std::size_t end = run_end(i + first.bytes, first.cls);
      piece(text.substr(i, end - i));
      i = end;
      continue;
    }
    // A whitespace run: '\s+(?!\S)' keeps its last code point for the next
    // piece when a non-space follows; a lone one falls to '\s+'.
    std::size_t end = i + first.bytes, last = i;
    while (end < n) {
      const CodePoint c = code_point_at(text, end, classes);
      if (c.cls != CodePointClass::space) break;
      last = end;
      end += c.bytes;
    }
    if (end < n && last > i) end = last;
    piece(text.substr(i, end - i));
    i = end;
  }
}

}  // namespace speedrunner::data::detail
