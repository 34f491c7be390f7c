// Fenced code blocks in a model's answer, and the CodeBlock validator that
// takes the last block of the wanted language (```python vs ```cpp).
#pragma once

#include <speedrunner/core/error.hpp>
#include <speedrunner/validate/detail/text.hpp>
#include <speedrunner/validate/validator.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace speedrunner::validate {

struct FencedBlock {
  std::string language;   // canonical language of the info string ("cpp", "python"); "" untagged
  std::string info;       // the whole info string after the fence
  std::string code;       // the lines between the fences, each ending in '\n'
  std::size_t line = 0;   // 1-based line of the opening fence
  bool closed = true;     // false when the answer ends inside the block
};

// Maps the first word of an info string to one name per language: aliases
// (c++, cc, py, sh, ...) and file names ("train_gpt2.cu", "main.py") included.
[[nodiscard]] inline std::string canonical_language(std::string_view info_word) {
  std::string w = detail::lower(info_word);
  while (!w.empty() && (w.front() == '{' || w.front() == '.')) w.erase(0, 1);
  while (!w.empty() && (w.back() == '}' || w.back() == ':')) w.pop_back();
  if (auto dot = w.rfind('.'); dot != std::string::npos && dot + 1 < w.size()) w = w.substr(dot + 1);
  struct Alias {
    std::string_view name, canonical;
  };
  static constexpr Alias aliases[] = {
      {"c++", "cpp"},      {"cxx", "cpp"},     {"cc", "cpp"},       {"hpp", "cpp"},
      {"hxx", "cpp"},      {"h", "cpp"},       {"cu", "cuda"},      {"cuh", "cuda"},
      {"py", "python"},    {"python3", "python"}, {"py3", "python"}, {"sh", "bash"},
      {"shell", "bash"},   {"zsh", "bash"},    {"console", "bash"}, {"jsonc", "json"},
      {"json5", "json"},   {"yml", "yaml"},    {"md", "markdown"},  {"txt", "text"},
      {"plaintext", "text"}, {"patch", "diff"},
  };
  for (const auto& a : aliases)
    if (w == a.name) return std::string(a.canonical);
  return w;
}

// Every fenced block (``` or ~~~, three or more, any indentation), in order.
// A closing fence uses the opening's character, at least as many times, and
// nothing else on its line, so ````markdown blocks may hold ``` lines.
[[nodiscard]] inline std::vector<FencedBlock> fenced_blocks(std::string_view text) {
  std::vector<FencedBlock> blocks;
  auto all = detail::lines(text);
  struct Fence {
    char ch = 0;
    std::size_t count = 0, indent = 0;
    std::string_view rest;
  };
  auto fence_of = [](std::string_view line) {
    Fence f;
    std::size_t i = 0;
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    f.indent = i;
    if (i >= line.size() || (line[i] != '`' && line[i] != '~')) return f;
    char ch = line[i];
    std::size_t n = 0;
    while (i + n < line.size() && line[i + n] == ch) ++n;
    if (n < 3) return f;
    f.ch = ch;
    f.count = n;
    f.rest = detail::trim(line.substr(i + n));
    return f;
  };
  for (std::size_t i = 0; i < all.size(); ++i) {
    Fence open = fence_of(all[i]);
    if (open.ch == 0 || (open.ch == '`' && open.rest.find('`') != std::string_view::npos)) continue;
    FencedBlock block;
    block.info = std::string(open.rest);
    block.language = canonical_language(open.rest.substr(0, open.rest.find_first_of(" \t")));
    block.line = i + 1;
    block.closed = false;
    std::size_t j = i + 1;
    for (; j < all.size(); ++j) {
      Fence close = fence_of(all[j]);
      if (close.ch == open.ch && close.count >= open.count && close.rest.empty()) {
        block.closed = true;
        break;
      }
      std::string_view body = all[j];
      // drop the opening fence's indentation (a block inside a list item)
      std::size_t strip = 0;
      while (strip < open.indent && strip < body.size() && (body[strip] == ' ' || body[strip] == '\t'))
        ++strip;
      block.code.append(body.substr(strip));
      block.code += '\n';
    }
    blocks.push_back(std::move(block));
    i = j;
  }
  return blocks;
}

// The code of the last fenced block in one of `languages` (empty: any
// language). An untagged block counts when no tagged block matches, unless
// accept_untagged is off.
struct CodeBlock {
  std::vector<std::string> languages;
  bool accept_untagged = true;

  using value_type = std::string;

  [[nodiscard]] Result<std::string> operator()(std::string_view answer) const {
    auto blocks = fenced_blocks(answer);
    std::string wanted = languages.empty() ? std::string("```") : "```" + canonical_language(languages.front());
    if (blocks.empty())
      return reject("the answer has no fenced code block; put the code between a line " + wanted +
                    " and a line ```");
    const FencedBlock* chosen = nullptr;
    if (languages.empty()) {
      chosen = &blocks.back();
    } else {
      const FencedBlock* untagged = nullptr;
      for (const auto& b : blocks) {
        if (wants(b.language)) chosen = &b;
        if (b.language.empty()) untagged = &b;
      }
      if (chosen == nullptr && accept_untagged) chosen = untagged;
    }
    if (chosen == nullptr) {
      std::string seen;
      for (const auto& b : blocks) {
        if (!seen.empty()) seen += ", ";
        seen += "```" + (b.language.empty() ? std::string() : b.info);
      }
      return reject("the answer has " + std::to_string(blocks.size()) + " fenced block" +
                    (blocks.size() == 1 ? "" : "s") + " (" + seen + ") but none is " + wanted +
                    "; put the code in a " + wanted + " block");
    }
    if (!chosen->closed)
      return reject("the " + wanted + " block opened on line " + std::to_string(chosen->line) +
                    " is never closed (was the answer cut off?); end it with a line ```");
    if (detail::trim(chosen->code).empty())
      return reject("the last " + wanted + " block is empty; put the code inside it");
    return chosen->code;
  }

 private:
  [[nodiscard]] bool wants(const std::string& language) const {
    for (const auto& l : languages)
      if (canonical_language(l) == language) return true;
    return false;
  }
};

// code_block("python"), code_block("cpp", "cuda")
template <class... Languages>
[[nodiscard]] CodeBlock code_block(Languages&&... languages) {
  return CodeBlock{{std::string(std::forward<Languages>(languages))...}};
}

}  // namespace speedrunner::validate
