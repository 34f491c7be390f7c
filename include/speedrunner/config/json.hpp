// JSON plumbing shared by the configuration area: relaxed parsing (comments,
// trailing commas) with line:column errors, dotted key paths, pretty printing.
#pragma once

#include <speedrunner/core/error.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace speedrunner::config {

namespace json = boost::json;

// Parses JSON that may carry // and /* */ comments and trailing commas.
// `origin` names the text in errors ("config/task/collatz.json").
[[nodiscard]] inline Result<json::value> parse_relaxed(std::string_view text, std::string_view origin) {
  json::parse_options opt;
  opt.allow_comments = true;
  opt.allow_trailing_commas = true;
  opt.max_depth = 64;
  json::stream_parser p({}, opt);
  json::error_code ec;
  std::size_t used = p.write_some(text.data(), text.size(), ec);
  if (!ec) p.finish(ec);
  if (!ec) return p.release();
  // write_some stops where the error is; finish() fails at the end of the text
  std::size_t at = std::min(used, text.size());
  std::size_t line = 1, col = 1;
  for (std::size_t i = 0; i < at; ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return fail(std::string(origin) + ":" + std::to_string(line) + ":" + std::to_string(col) +
                  ": not valid JSON (" + ec.message() + ")",
              "fix the JSON there; comments and trailing commas are allowed");
}

// Reads and parses a file; errors name the file.
[[nodiscard]] inline Result<json::value> read_json_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail(file.string() + ": cannot be read", "check that the file exists and is readable");
  std::ostringstream buf;
  buf << in.rdbuf();
  return parse_relaxed(buf.str(), file.string());
}

// "object", "a string", ...: used in "expected X, got Y" messages.
[[nodiscard]] inline std::string_view kind_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::int64:
    case json::kind::uint64: return "an integer";
    case json::kind::double_: return "a number";
    case json::kind::string: return "a string";
    case json::kind::array: return "a list";
    case json::kind::object: return "an object";
  }
  return "a value";
}

// A double as a person writes it: shortest text that reads back the same,
// with ".0" kept on whole numbers so it reads back as a double (0.5, 1.0, 1e-08).
[[nodiscard]] inline std::string double_text(double x) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
  std::string s(buf, ec == std::errc{} ? end : buf);
  if (s.find_first_not_of("-0123456789") == std::string::npos) s += ".0";
  return s;
}

// Compact JSON with doubles written by double_text (Boost writes 5E-1).
[[nodiscard]] inline std::string compact(const json::value& v) {
  if (v.is_double()) return double_text(v.as_double());
  if (const auto* a = v.if_array()) {
    std::string s = "[";
    for (std::size_t i = 0; i < a->size(); ++i) s += (i ? "," : "") + compact((*a)[i]);
    return s + "]";
  }
  if (const auto* o = v.if_object()) {
    std::string s = "{";
    bool first = true;
    for (const auto& kv : *o) {
      s += (first ? "" : ",") + json::serialize(json::string(kv.key())) + ":" + compact(kv.value());
      first = false;
    }
    return s + "}";
  }
  return json::serialize(v);
}

// Removes a key keeping the order of the others (object::erase moves the last key into the hole).
inline void erase_key(json::object& o, std::string_view key) {
  if (!o.contains(key)) return;
  json::object out(o.storage());
  out.reserve(o.size());
  for (auto& kv : o)
    if (kv.key() != key) out.emplace(kv.key(), std::move(kv.value()));
  o = std::move(out);
}

// The value as the user would write it, cut short for messages.
[[nodiscard]] inline std::string brief(const json::value& v, std::size_t limit = 60) {
  std::string s = compact(v);
  if (s.size() > limit) s = s.substr(0, limit - 3) + "...";
  return s;
}

// "a.b.c" -> {"a", "b", "c"}. Empty segments are kept so callers can reject them.
[[nodiscard]] inline std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  if (path.empty()) return out;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = path.find('.', start);
    out.emplace_back(path.substr(start, dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return out;
}

[[nodiscard]] inline std::string join_path(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  std::string s(parent);
  s += '.';
  s += key;
  return s;
}

// The value at a dotted path of objects (array elements by index), or null.
[[nodiscard]] inline const json::value* find_path(const json::value& root, std::string_view path) {
  const json::value* at = &root;
  for (const auto& seg : split_path(path)) {
    if (const auto* o = at->if_object()) {
      auto it = o->find(seg);
      if (it == o->end()) return nullptr;
      at = &it->value();
    } else if (const auto* a = at->if_array()) {
      std::size_t i = 0;
      auto [p, ec] = std::from_chars(seg.data(), seg.data() + seg.size(), i);
      if (ec != std::errc{} || p != seg.data() + seg.size() || i >= a->size()) return nullptr;
      at = &(*a)[i];
    } else {
      return nullptr;
    }
  }
  return at;
}
[[nodiscard]] inline json::value* find_path(json::value& root, std::string_view path) {
  return const_cast<json::value*>(find_path(std::as_const(root), path));
}

// Deep merge: objects merge key by key, anything else (lists included) replaces.
inline void merge_into(json::object& base, const json::object& over) {
  for (const auto& kv : over) {
    auto it = base.find(kv.key());
    if (it != base.end() && it->value().is_object() && kv.value().is_object())
      merge_into(it->value().as_object(), kv.value().as_object());
    else
      base[kv.key()] = kv.value();
  }
}

namespace detail {
inline void pretty(std::string& out, const json::value& v, int indent) {
  auto newline = [&](int n) {
    out += '\n';
    out.append(static_cast<std::size_t>(n) * 2, ' ');
  };
  if (const auto* o = v.if_object(); o != nullptr && !o->empty()) {
    out += '{';
    bool first = true;
    for (const auto& kv : *o) {
      if (!first) out += ',';
      first = false;
      newline(indent + 1);
      out += json::serialize(json::string(kv.key()));
      out += ": ";
      pretty(out, kv.value(), indent + 1);
    }
    newline(indent);
    out += '}';
  } else if (const auto* a = v.if_array(); a != nullptr && !a->empty()) {
    bool scalars = true;
    for (const auto& e : *a) scalars = scalars && !e.is_structured();
    std::string flat = compact(v);
    if (scalars && flat.size() <= 80) {
      out += flat;
      return;
    }
    out += '[';
    bool first = true;
    for (const auto& e : *a) {
      if (!first) out += ',';
      first = false;
      newline(indent + 1);
      pretty(out, e, indent + 1);
    }
    newline(indent);
    out += ']';
  } else {
    out += compact(v);
  }
}
}  // namespace detail

// Two-space indented JSON, keys in their stored order, short scalar lists on one line.
[[nodiscard]] inline std::string to_pretty(const json::value& v) {
  std::string out;
  detail::pretty(out, v, 0);
  out += '\n';
  return out;
}

}  // namespace speedrunner::config
