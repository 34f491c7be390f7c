// Finds JSON objects in free text: a brace-balancing scan that knows JSON
// strings, then a real parse of each balanced span (comments and trailing
// commas tolerated). Prose, fences and code around the objects are skipped.
#pragma once

#include <speedrunner/validate/detail/text.hpp>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>
#include <boost/json/stream_parser.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace speedrunner::validate::detail {

struct JsonCandidate {
  std::size_t begin = 0, end = 0;  // [begin, end) in the text
  std::size_t line = 1;            // 1-based line of the opening brace
  bool valid = false;
  bool looks_like_json = false;    // '{' then a key, or '}': meant as JSON, not prose or code
  boost::json::object object;      // when valid
  std::string error;               // when not
};

[[nodiscard]] inline boost::json::parse_options tolerant_json() {
  boost::json::parse_options opt;
  opt.allow_comments = true;
  opt.allow_trailing_commas = true;
  return opt;
}

[[nodiscard]] inline bool looks_like_json_start(std::string_view rest) {
  std::size_t i = 0;
  while (i < rest.size() && is_space(rest[i])) ++i;
  if (i >= rest.size()) return false;
  if (rest[i] == '"' || rest[i] == '\'' || rest[i] == '}') return true;
  // an unquoted key: `{ summary: ...`
  std::size_t k = i;
  while (k < rest.size() && (std::isalnum(static_cast<unsigned char>(rest[k])) || rest[k] == '_')) ++k;
  if (k == i) return false;
  while (k < rest.size() && (rest[k] == ' ' || rest[k] == '\t')) ++k;
  return k < rest.size() && rest[k] == ':';
}

// Parses one balanced span, naming what went wrong and where.
inline void parse_candidate(std::string_view span, JsonCandidate& c) {
  boost::json::stream_parser parser({}, tolerant_json());
  boost::system::error_code ec;
  std::size_t used = parser.write_some(span.data(), span.size(), ec);
  if (!ec) parser.finish(ec);
  if (ec) {
    std::size_t at = used < span.size() ? used : span.size() - 1;
    std::size_t from = at > 20 ? at - 20 : 0;
    c.error = "the JSON object on line " + std::to_string(c.line) + " is not valid JSON (" + ec.message() +
              " near " + quote(span.substr(from, 40), 40) + ")";
    auto first = span.find_first_not_of(" \t\r\n", 1);
    if (first != std::string_view::npos && span[first] == '\'')
      c.error += "; JSON keys and strings need double quotes";
    else if (first != std::string_view::npos && span[first] != '"' && span[first] != '}')
      c.error += "; JSON keys need double quotes";
    return;
  }
  boost::json::value v = parser.release();
  if (!v.is_object()) {
    c.error = "the text on line " + std::to_string(c.line) + " is not a JSON object";
    return;
  }
  c.valid = true;
  c.object = std::move(v.as_object());
}

// Every top-level candidate in order. A balanced span that fails to parse is
// skipped whole (a code block's braces), an unclosed '{' only by itself.
[[nodiscard]] inline std::vector<JsonCandidate> json_candidates(std::string_view text) {
  std::vector<JsonCandidate> out;
  std::size_t line = 1, counted_to = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '{') {
      ++i;
      continue;
    }
    for (; counted_to < i; ++counted_to)
      if (text[counted_to] == '\n') ++line;
    int depth = 0;
    bool in_string = false, escaped = false;
    std::size_t j = i;
    for (; j < text.size(); ++j) {
      char c = text[j];
      if (in_string) {
        if (escaped) escaped = false;
        else if (c == '\\') escaped = true;
        else if (c == '"') in_string = false;
      } else if (c == '"') {
        in_string = true;
      } else if (c == '{') {
        ++depth;
      } else if (c == '}' && --depth == 0) {
        break;
      }
    }
    JsonCandidate c;
    c.begin = i;
    c.line = line;
    c.looks_like_json = looks_like_json_start(text.substr(i + 1));
    if (j >= text.size()) {
      c.end = text.size();
      c.error = "the JSON object on line " + std::to_string(line) +
                " is never closed (was the answer cut off?)";
      if (c.looks_like_json) out.push_back(std::move(c));
      ++i;
      continue;
    }
    c.end = j + 1;
    parse_candidate(text.substr(i, c.end - i), c);
    out.push_back(std::move(c));
    i = j + 1;
  }
  return out;
}

}  // namespace speedrunner::validate::detail
