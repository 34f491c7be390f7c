// Prompt templates: editable text files under config/prompts/ with named
// placeholders ({task_description}); a placeholder without a value is an
// error naming the file and the placeholder, never an empty string.
#pragma once

#include <speedrunner/core/error.hpp>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <map>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace speedrunner::agent {

// Placeholder name -> text; values are inserted verbatim (braces in code stay as they are).
using PromptValues = std::map<std::string, std::string, std::less<>>;

// `{name}` (a letter or '_', then letters, digits, '_') is a placeholder;
// `{{` and `}}` are literal braces; any other brace is literal text, so JSON
// examples such as {"summary": "..."} need no escaping.
class PromptTemplate {
 public:
  PromptTemplate() = default;

  [[nodiscard]] static PromptTemplate parse(std::string_view text, std::string source = "<inline prompt>") {
    PromptTemplate t;
    t.source_ = std::move(source);
    std::string literal;
    auto flush = [&] {
      if (!literal.empty()) t.pieces_.push_back({std::move(literal), false});
      literal.clear();
    };
    for (std::size_t i = 0; i < text.size(); ++i) {
      char c = text[i];
      if ((c == '{' || c == '}') && i + 1 < text.size() && text[i + 1] == c) {
        literal += c;
        ++i;
        continue;
      }
      if (c == '{') {
        std::size_t j = i + 1;
        if (j < text.size() && (std::isalpha(static_cast<unsigned char>(text[j])) || text[j] == '_')) {
          while (j < text.size() && (std::isalnum(static_cast<unsigned char>(text[j])) || text[j] == '_')) ++j;
          if (j < text.size() && text[j] == '}') {
            flush();
            std::string name(text.substr(i + 1, j - i - 1));
            bool seen = false;
            for (const auto& p : t.placeholders_) seen = seen || p == name;
            if (!seen) t.placeholders_.push_back(name);
            t.pieces_.push_back({std::move(name), true});
            i = j;
            continue;
          }
        }
      }
      literal += c;
    }
    flush();
    return t;
  }

  [[nodiscard]] static Result<PromptTemplate> load(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in)
      return fail("prompt file " + file.string() + " cannot be read",
                  "check the path (prompt_dir in the config) or restore the file from config/prompts/");
    std::ostringstream text;
    text << in.rdbuf();
    return parse(text.str(), file.string());
  }

  // Loads and checks that every placeholder is one the caller fills, so a
  // typo in an edited prompt fails at start-up rather than mid-run.
  [[nodiscard]] static Result<PromptTemplate> load(const std::filesystem::path& file,
                                                   std::initializer_list<std::string_view> provided) {
    return load(file, std::span<const std::string_view>(provided.begin(), provided.size()));
  }

  [[nodiscard]] static Result<PromptTemplate> load(const std::filesystem::path& file,
                                                   std::span<const std::string_view> provided) {
    auto t = load(file);
    if (!t) return t;
    if (auto ok = t->check_provided(provided); !ok) return std::unexpected(std::move(ok.error()));
    return t;
  }

  [[nodiscard]] Result<void> check_provided(std::initializer_list<std::string_view> provided) const {
    return check_provided(std::span<const std::string_view>(provided.begin(), provided.size()));
  }

  [[nodiscard]] Result<void> check_provided(std::span<const std::string_view> provided) const {
    for (const auto& name : placeholders_) {
      bool known = false;
      for (auto p : provided) known = known || p == name;
      if (!known) return missing(name, provided_list(provided));
    }
    return {};
  }

  // Fills every placeholder; one without a value is an error naming it.
  [[nodiscard]] Result<std::string> render(const PromptValues& values) const {
    std::string out;
    for (const auto& piece : pieces_) {
      if (!piece.placeholder) {
        out += piece.text;
        continue;
      }
      auto it = values.find(piece.text);
      if (it == values.end()) {
        std::string given;
        for (const auto& [k, v] : values) given += (given.empty() ? "{" : ", {") + k + "}";
        return missing(piece.text, given);
      }
      out += it->second;
    }
    return out;
  }

  [[nodiscard]] const std::vector<std::string>& placeholders() const { return placeholders_; }
  [[nodiscard]] const std::string& source() const { return source_; }

 private:
  struct Piece {
    std::string text;  // literal text, or the placeholder's name
    bool placeholder = false;
  };

  static std::string provided_list(std::span<const std::string_view> provided) {
    std::string out;
    for (auto p : provided) out += (out.empty() ? "{" : ", {") + std::string(p) + "}";
    return out;
  }

  [[nodiscard]] std::unexpected<Error> missing(const std::string& name, const std::string& available) const {
    return fail(source_ + ": placeholder {" + name + "} has no value (available: " +
                    (available.empty() ? "none" : available) + ")",
                "rename it to one of the available placeholders, or write {{" + name +
                    "}} for literal braces");
  }

  std::string source_;
  std::vector<Piece> pieces_;
  std::vector<std::string> placeholders_;  // in order of first use
};

}  // namespace speedrunner::agent
