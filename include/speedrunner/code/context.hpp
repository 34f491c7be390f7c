// What the coder's model sees of a version, and whether it fits the model: a
// token estimate, the version's other files listed with their first comment
// line (readable on request), and the requests to read them in an answer.
#pragma once

#include <speedrunner/code/detail/text.hpp>
#include <speedrunner/code/version_files.hpp>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace speedrunner::code {

// About how many tokens a BPE tokenizer makes of `text`, without its vocabulary:
// a run of letters costs one token per 6 letters (rounded up), a run of digits
// one per 3, a run of whitespace one (a single space before a word is free, as
// BPE glues it to the word), any other character one. On the five records'
// templates it lands within 2% of GPT-2's BPE in total (within 20% on single files);
// see docs/coders.md for the figures. Providers' tokenizers differ; the check
// against a context window is an estimate, and says so.
[[nodiscard]] inline std::size_t estimate_tokens(std::string_view text) {
  auto letter = [](unsigned char c) { return std::isalpha(c) != 0 || c >= 0x80; };
  auto digit = [](unsigned char c) { return std::isdigit(c) != 0; };
  auto space = [](unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  std::size_t n = 0, i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t j = i + 1;
    if (letter(c)) {
      while (j < text.size() && letter(static_cast<unsigned char>(text[j]))) ++j;
      n += (j - i + 5) / 6;
    } else if (digit(c)) {
      while (j < text.size() && digit(static_cast<unsigned char>(text[j]))) ++j;
      n += (j - i + 2) / 3;
    } else if (space(c)) {
      while (j < text.size() && space(static_cast<unsigned char>(text[j]))) ++j;
      const bool glued = j - i == 1 && c == ' ' && j < text.size() && letter(static_cast<unsigned char>(text[j]));
      n += glued ? 0 : 1;
    } else {
      n += 1;
    }
    i = j;
  }
  return n;
}

// "12,345": token counts in messages and reports.
[[nodiscard]] inline std::string thousands(std::size_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t k = 0; k < digits.size(); ++k) {
    if (k > 0 && (digits.size() - k) % 3 == 0) out += ',';
    out += digits[k];
  }
  return out;
}

// A model's context window as the coder checks prompts against it: the prompt
// (estimated) plus the tokens kept for the answer must fit.
struct ContextLimit {
  std::size_t window = 0;  // tokens; 0: unknown, nothing is refused
  std::size_t answer = 0;  // tokens kept for the answer (the model's max_tokens)
  std::string model;       // names the model in messages

  [[nodiscard]] bool fits(std::size_t prompt_tokens) const {
    return window == 0 || prompt_tokens + answer <= window;
  }
  // "<what> is about 210,000 tokens (estimated) + 32,768 kept for the answer,
  // over the context window of o3_mini, 200,000 tokens"
  [[nodiscard]] std::string over(std::string_view what, std::size_t prompt_tokens) const {
    return std::string(what) + " is about " + thousands(prompt_tokens) + " tokens (estimated)" +
           (answer > 0 ? " + " + thousands(answer) + " kept for the answer" : std::string()) +
           ", over the context window of " + (model.empty() ? std::string("the model") : model) + ", " +
           thousands(window) + " tokens";
  }
};

// The file's first comment line, without its comment marker: what a listing
// says a file is for. A shebang and blank lines are skipped; `//`, `#`, `/*`,
// `*`, `--`, `;` and `"""` open comments. Empty when the first 20 lines hold none.
[[nodiscard]] inline std::string first_comment_line(std::string_view text, std::size_t max_chars = 160) {
  std::size_t start = 0;
  for (int line = 0; line < 20 && start < text.size(); ++line) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view l = detail::trim(text.substr(start, end - start));
    start = end + 1;
    if (l.empty() || (line == 0 && l.starts_with("#!"))) continue;
    std::string_view body;
    for (std::string_view marker : {"///", "//!", "//", "/**", "/*", "\"\"\"", "#", "--", ";", "*"})
      if (l.starts_with(marker)) {
        body = l.substr(marker.size());
        break;
      }
    if (body.data() == nullptr) continue;  // code before any comment: keep looking a little
    if (body.ends_with("*/")) body.remove_suffix(2);
    if (body.ends_with("\"\"\"")) body.remove_suffix(3);
    body = detail::trim(body);
    if (body.empty()) continue;
    std::string out(body.substr(0, max_chars));
    if (body.size() > max_chars) out += "...";
    return out;
  }
  return {};
}

// Files a version holds for its own bookkeeping, never offered to the coder.
inline constexpr std::string_view version_bookkeeping[] = {"meta.json", "results.json", "stdout.log", "stderr.log",
                                                           "coder.md", "coder_history.jsonl"};

// The version's files the coder is not shown in full: every regular file
// except the entry files, the read-only files and folders, and bookkeeping.
[[nodiscard]] inline std::vector<std::string> other_files(const std::filesystem::path& version_dir,
                                                          const std::vector<std::string>& entry_files,
                                                          const std::vector<std::string>& read_only) {
  std::vector<std::string> out;
  for (auto& f : list_version_files(version_dir)) {
    auto under = [&](const std::string& p) { return f == p || (f.size() > p.size() && f.starts_with(p) && f[p.size()] == '/'); };
    if (std::any_of(entry_files.begin(), entry_files.end(), under) ||
        std::any_of(read_only.begin(), read_only.end(), under))
      continue;
    if (f.starts_with("llm_") && f.ends_with(".jsonl")) continue;
    if (std::find(std::begin(version_bookkeeping), std::end(version_bookkeeping), f) != std::end(version_bookkeeping))
      continue;
    out.push_back(std::move(f));
  }
  return out;
}

// Paths the model asked to read: lines `READ path` (also `READ: path`, the
// path in backticks) outside fenced blocks, in order, without repeats.
[[nodiscard]] inline std::vector<std::string> read_requests(std::string_view answer) {
  std::vector<std::string> out;
  std::optional<detail::Fence> open;
  for (const auto& raw : detail::split_lines(answer)) {
    std::string_view l = detail::trim(raw);
    if (open) {
      if (open->closed_by(l)) open.reset();
      continue;
    }
    if (auto f = detail::opening_fence(l)) {
      open = *f;
      continue;
    }
    if (!l.starts_with("READ") || l.size() < 6 || (l[4] != ' ' && l[4] != ':')) continue;
    std::string_view path = detail::trim(l.substr(5));
    if (path.size() >= 2 && path.front() == '`' && path.back() == '`') path = path.substr(1, path.size() - 2);
    path = detail::trim(path);
    if (path.empty()) continue;
    if (std::find(out.begin(), out.end(), path) == out.end()) out.emplace_back(path);
  }
  return out;
}

}  // namespace speedrunner::code
