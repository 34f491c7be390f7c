// Hydra-style command-line overrides: `key=value` changes an existing key
// (the value typed by what it replaces), `+key=value` adds one, `++key=value`
// adds or changes, `~key` removes. `group=option` is recognised by compose().
#pragma once

#include <speedrunner/config/json.hpp>
#include <speedrunner/config/secrets.hpp>
#include <speedrunner/config/suggest.hpp>
#include <speedrunner/core/error.hpp>

#include <cctype>
#include <charconv>
#include <string>
#include <string_view>
#include <vector>

namespace speedrunner::config {

enum class OverrideKind { set, add, add_or_set, remove };

struct Override {
  OverrideKind kind = OverrideKind::set;
  std::string key;     // dotted path, or a group name
  std::string value;   // the text after '=' (empty for ~key)
  std::string source;  // the argument as typed, quoted in messages
};

namespace detail {

inline bool key_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
}

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) s.remove_suffix(1);
  return s;
}

// A bare token typed as JSON would type it: null, booleans, numbers, else a string.
inline json::value classify_token(std::string_view raw) {
  std::string_view t = trim(raw);
  if (t == "null") return nullptr;
  if (t == "true" || t == "True") return true;
  if (t == "false" || t == "False") return false;
  if (!t.empty() && (std::isdigit(static_cast<unsigned char>(t.front())) != 0 || t.front() == '-' || t.front() == '.')) {
    std::int64_t i = 0;
    auto [pi, ei] = std::from_chars(t.data(), t.data() + t.size(), i);
    if (ei == std::errc{} && pi == t.data() + t.size()) return i;
    bool only_number_chars = t.find_first_not_of("0123456789+-.eE") == std::string_view::npos;
    double d = 0;
    auto [pd, ed] = std::from_chars(t.data(), t.data() + t.size(), d);
    if (only_number_chars && ed == std::errc{} && pd == t.data() + t.size()) return d;
  }
  return json::string(t);
}

// Recursive-descent reader of override values: lists [a, b], JSON objects,
// quoted strings, bare tokens. Bare tokens inside lists end at ',' or ']'
// outside ${...}.
class ValueReader {
 public:
  ValueReader(std::string_view text, std::string_view key) : s_(text), key_(key) {}

  Result<json::value> read_top() {
    skip_ws();
    if (at_end()) return json::string();
    char c = s_[i_];
    if (c != '[' && c != '{' && c != '"' && c != '\'') return classify_token(s_);
    auto v = read_element(0);
    if (!v) return v;
    skip_ws();
    if (!at_end()) return error("unexpected text after the value: '" + std::string(s_.substr(i_)) + "'");
    return v;
  }

  bool quoted_top() const {
    auto t = trim(s_);
    return !t.empty() && (t.front() == '"' || t.front() == '\'');
  }

 private:
  std::string_view s_;
  std::string_view key_;
  std::size_t i_ = 0;

  bool at_end() const { return i_ >= s_.size(); }
  void skip_ws() {
    while (!at_end() && std::isspace(static_cast<unsigned char>(s_[i_])) != 0) ++i_;
  }
  std::unexpected<Error> error(std::string what) const {
    return fail(key_.empty() ? what : std::string(key_) + ": " + what,
                "quote strings that hold , [ ] { } (key='a,b'), close every bracket; "
                "lists look like key=[a,b], objects like key={\"x\": 1}");
  }

  Result<json::value> read_element(int depth) {
    if (depth > 32) return error("lists nested deeper than 32 levels");
    skip_ws();
    if (at_end()) return error("a value is missing at the end");
    char c = s_[i_];
    if (c == '[') return read_list(depth);
    if (c == '{') return read_object();
    if (c == '"' || c == '\'') return read_quoted();
    return read_bare();
  }

  Result<json::value> read_list(int depth) {
    ++i_;  // '['
    json::array out;
    skip_ws();
    if (!at_end() && s_[i_] == ']') {
      ++i_;
      return out;
    }
    while (true) {
      auto e = read_element(depth + 1);
      if (!e) return e;
      out.push_back(std::move(*e));
      skip_ws();
      if (at_end()) return error("list is not closed: add ']'");
      if (s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (s_[i_] == ']') {
        ++i_;
        return out;
      }
      return error(std::string("expected ',' or ']' in list, got '") + s_[i_] + "'");
    }
  }

  Result<json::value> read_object() {
    // find the matching '}' outside JSON strings, then let the JSON parser read it
    std::size_t start = i_;
    int depth = 0;
    bool in_string = false;
    for (; i_ < s_.size(); ++i_) {
      char c = s_[i_];
      if (in_string) {
        if (c == '\\') ++i_;
        else if (c == '"') in_string = false;
      } else if (c == '"') {
        in_string = true;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (--depth == 0) {
          ++i_;
          auto v = parse_relaxed(s_.substr(start, i_ - start), key_.empty() ? "override" : key_);
          if (!v) return std::unexpected(v.error());
          if (!v->is_object()) return error("expected a JSON object");
          return v;
        }
      }
    }
    return error("object is not closed: add '}'");
  }

  Result<json::value> read_quoted() {
    char q = s_[i_++];
    std::string out;
    while (!at_end()) {
      char c = s_[i_++];
      if (c == '\\' && !at_end()) {
        out += s_[i_++];
      } else if (c == q) {
        return json::string(out);
      } else {
        out += c;
      }
    }
    return error(std::string("string is not closed: add ") + q);
  }

  Result<json::value> read_bare() {
    std::size_t start = i_;
    int interp = 0;
    while (!at_end()) {
      char c = s_[i_];
      if (c == '$' && i_ + 1 < s_.size() && s_[i_ + 1] == '{') {
        ++interp;
        i_ += 2;
        continue;
      }
      if (interp > 0 && c == '}') --interp;
      else if (interp == 0 && (c == ',' || c == ']')) break;
      else if (interp == 0 && (c == '[' || c == '{' || c == '}'))
        return error(std::string("unexpected '") + c + "' in a list element; quote it");
      ++i_;
    }
    if (trim(s_.substr(start, i_ - start)).empty())
      return error("empty element in a list (a stray ',')");
    return classify_token(s_.substr(start, i_ - start));
  }
};

}  // namespace detail

// Splits one command-line argument into an Override; checks the key's syntax.
[[nodiscard]] inline Result<Override> parse_override(std::string_view arg) {
  Override o;
  o.source = std::string(arg);
  std::string_view s = arg;
  const std::string fix =
      "write KEY=VALUE to change a key, +KEY=VALUE to add one, ++KEY=VALUE to add or change, "
      "~KEY to remove one, GROUP=OPTION to pick a config (model=replay)";
  if (s.starts_with("++")) {
    o.kind = OverrideKind::add_or_set;
    s.remove_prefix(2);
  } else if (s.starts_with("+")) {
    o.kind = OverrideKind::add;
    s.remove_prefix(1);
  } else if (s.starts_with("~")) {
    o.kind = OverrideKind::remove;
    s.remove_prefix(1);
  }
  std::size_t eq = s.find('=');
  if (o.kind == OverrideKind::remove) {
    if (eq != std::string_view::npos)
      return fail("override '" + o.source + "': ~KEY removes a key and takes no value", fix);
    o.key = std::string(s);
  } else {
    if (eq == std::string_view::npos)
      return fail("override '" + o.source + "': no '=' in it", fix);
    o.key = std::string(s.substr(0, eq));
    o.value = std::string(s.substr(eq + 1));
  }
  if (o.key.empty()) return fail("override '" + o.source + "': the key is empty", fix);
  for (const auto& seg : split_path(o.key)) {
    if (seg.empty()) return fail("override '" + o.source + "': empty segment in key '" + o.key + "'", fix);
    for (char c : seg)
      if (!detail::key_char(c))
        return fail("override '" + o.source + "': key '" + o.key + "' has the character '" +
                        std::string(1, c) + "'; keys are letters, digits, '_' and '-' joined by '.'",
                    fix);
  }
  return o;
}

// Reads an override value without a target: null, true/false, numbers,
// [lists], {JSON objects}, 'quoted' or "quoted" strings, else a string.
[[nodiscard]] inline Result<json::value> parse_value(std::string_view text, std::string_view key = {}) {
  return detail::ValueReader(text, key).read_top();
}

// Reads an override value typed by the value it replaces: a string key takes
// the text as written (quotes removed), so name=123 stays "123"; any other
// key takes the value as parse_value reads it. A value of the wrong type is
// left for the typed binding to report, which knows the range it expects
// ("science_runner.debug_prob: expected a number in [0, 1], got \"half\"").
[[nodiscard]] inline Result<json::value> parse_value_for(std::string_view text, const json::value* target,
                                                         std::string_view key) {
  auto v = detail::ValueReader(text, key).read_top();
  if (!v) return v;
  if (target != nullptr && target->is_string() && !v->is_null() && !v->is_string())
    return json::value(json::string(detail::trim(text)));
  return v;
}

namespace detail {
inline std::vector<std::string> keys_of(const json::object& o) {
  std::vector<std::string> out;
  for (const auto& kv : o) out.emplace_back(kv.key());
  return out;
}

// "science_runner has no key debug_porb (did you mean debug_prob?); its keys: ..."
inline std::string no_such_key(std::string_view parent, std::string_view key, const json::object& o) {
  auto keys = keys_of(o);
  std::string where = parent.empty() ? std::string("the config") : std::string(parent);
  return where + " has no key '" + std::string(key) + "'" + did_you_mean(key, keys) +
         "; its keys: " + list_choices(keys);
}
}  // namespace detail

// Applies a key override (not a group choice) to a composed tree.
[[nodiscard]] inline Result<void> apply_override(json::object& tree, const Override& o) {
  auto segs = split_path(o.key);
  // a secret's override names its key only: neither the value typed nor the one it replaces is echoed
  bool secret = !segs.empty() && segs.front() == "secrets";
  for (const auto& seg : segs) secret = secret || is_secret_key(seg);
  const std::string shown = secret ? o.key + "=***" : o.source;
  json::object* parent = &tree;
  std::string walked;
  const bool may_create = o.kind == OverrideKind::add || o.kind == OverrideKind::add_or_set;
  for (std::size_t i = 0; i + 1 < segs.size(); ++i) {
    auto it = parent->find(segs[i]);
    if (it == parent->end()) {
      if (!may_create)
        return fail("override '" + shown + "': " + detail::no_such_key(walked, segs[i], *parent),
                    "fix the key, or add a new one with +" + o.key + "=VALUE");
      it = parent->emplace(segs[i], json::object()).first;
    }
    walked = join_path(walked, segs[i]);
    if (!it->value().is_object())
      return fail("override '" + shown + "': " + walked + " is " + std::string(kind_name(it->value())) +
                      ", not an object, so it has no key '" + segs[i + 1] + "'",
                  "set " + walked + " itself, or replace it with an object: " + walked + "={...}");
    parent = &it->value().as_object();
  }
  const std::string& last = segs.back();
  auto it = parent->find(last);
  switch (o.kind) {
    case OverrideKind::remove:
      if (it == parent->end())
        return fail("override '" + shown + "': " + detail::no_such_key(walked, last, *parent),
                    "remove a key that exists");
      erase_key(*parent, last);
      return {};
    case OverrideKind::add:
      if (it != parent->end())
        return fail("override '" + shown + "': " + o.key + " already exists (" +
                        (secret ? std::string("a secret, not shown") : brief(it->value())) + ")",
                    "change it with " + o.key + "=VALUE, or use ++" + o.key + "=VALUE");
      [[fallthrough]];
    case OverrideKind::add_or_set: {
      const json::value* target = it == parent->end() ? nullptr : &it->value();
      auto v = parse_value_for(o.value, target, o.key);
      if (!v) return std::unexpected(std::move(v.error()));
      (*parent)[last] = std::move(*v);
      return {};
    }
    case OverrideKind::set: {
      if (it == parent->end())
        return fail("override '" + shown + "': " + detail::no_such_key(walked, last, *parent),
                    "fix the key, or add a new one with +" + o.key + "=VALUE");
      auto v = parse_value_for(o.value, &it->value(), o.key);
      if (!v) return std::unexpected(std::move(v.error()));
      it->value() = std::move(*v);
      return {};
    }
  }
  return {};
}

}  // namespace speedrunner::config
