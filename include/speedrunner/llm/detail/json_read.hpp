// Small Boost.JSON readers with errors that name the key path, for the llm area's
// own files (model configs, transcripts, cache entries) until the shared typed
// binder of the config area replaces them.
#pragma once

#include <speedrunner/core/error.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace speedrunner::llm::detail {

namespace json = boost::json;

// 3 -> "3", 0.25 -> "0.25" (Boost.JSON would write 3E0).
inline std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

inline std::string json_kind(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return v.get_bool() ? "true" : "false";
    case json::kind::string: {
      std::string s(v.get_string().c_str(), v.get_string().size());
      if (s.size() > 40) s = s.substr(0, 40) + "...";
      return "\"" + s + "\"";
    }
    case json::kind::array: return "a list";
    case json::kind::object: return "an object";
    case json::kind::double_: return number(v.get_double());
    default: return json::serialize(v);
  }
}

inline std::unexpected<Error> type_error(std::string_view path, std::string_view expected,
                                         const json::value& got) {
  return fail(std::string(path) + ": expected " + std::string(expected) + ", got " + json_kind(got));
}

inline std::string join_path(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : std::string(path) + "." + std::string(key);
}

// Parses text as JSON; the error names `source`. Config files (lenient) may hold
// comments and trailing commas, as everywhere in config/.
inline Result<json::value> parse_json(std::string_view text, std::string_view source, bool lenient = false) {
  boost::system::error_code ec;
  json::parse_options options;
  options.allow_comments = lenient;
  options.allow_trailing_commas = lenient;
  json::value v = json::parse(text, ec, {}, options);
  if (ec) return fail(std::string(source) + ": not valid JSON (" + ec.message() + ")");
  return v;
}

// Rejects keys other than `known`, naming the first stranger and the choices.
inline Result<void> only_known_keys(const json::object& o, std::string_view path,
                                    std::initializer_list<std::string_view> known) {
  for (const auto& kv : o) {
    bool ok = false;
    for (auto k : known) ok = ok || k == kv.key();
    if (!ok) {
      std::string list;
      for (auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      return fail(join_path(path, kv.key()) + ": unknown key", "use one of: " + list);
    }
  }
  return {};
}

inline Result<void> read(const json::value& v, std::string_view path, std::string& out) {
  if (!v.is_string()) return type_error(path, "a string", v);
  out.assign(v.get_string().c_str(), v.get_string().size());
  return {};
}
inline Result<void> read(const json::value& v, std::string_view path, bool& out) {
  if (!v.is_bool()) return type_error(path, "true or false", v);
  out = v.get_bool();
  return {};
}
inline Result<void> read(const json::value& v, std::string_view path, double& out) {
  if (v.is_double()) out = v.get_double();
  else if (v.is_int64()) out = static_cast<double>(v.get_int64());
  else if (v.is_uint64()) out = static_cast<double>(v.get_uint64());
  else return type_error(path, "a number", v);
  return {};
}
inline Result<void> read(const json::value& v, std::string_view path, std::int64_t& out) {
  if (v.is_int64()) out = v.get_int64();
  else if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    out = static_cast<std::int64_t>(v.get_uint64());
  else if (v.is_double() && v.get_double() == static_cast<double>(static_cast<std::int64_t>(v.get_double())))
    out = static_cast<std::int64_t>(v.get_double());
  else return type_error(path, "an integer", v);
  return {};
}
inline Result<void> read(const json::value& v, std::string_view path, std::uint64_t& out) {
  std::int64_t i = 0;
  if (auto r = read(v, path, i); !r || i < 0) {
    if (v.is_uint64()) { out = v.get_uint64(); return {}; }
    return type_error(path, "a non-negative integer", v);
  }
  out = static_cast<std::uint64_t>(i);
  return {};
}
// null or absent leaves an optional empty.
template <class T>
Result<void> read(const json::value& v, std::string_view path, std::optional<T>& out) {
  if (v.is_null()) { out.reset(); return {}; }
  T t{};
  if (auto r = read(v, path, t); !r) return r;
  out = std::move(t);
  return {};
}

// Reads o[key] into out when present; absent keys keep the default in `out`.
template <class T>
Result<void> read_field(const json::object& o, std::string_view path, std::string_view key, T& out) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return {};
  return read(*v, join_path(path, key), out);
}

inline std::string str(const json::value* v) {
  return v != nullptr && v->is_string() ? std::string(v->get_string().c_str(), v->get_string().size())
                                        : std::string();
}
inline std::int64_t int_or(const json::value* v, std::int64_t fallback = 0) {
  if (v == nullptr) return fallback;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
  if (v->is_double()) return static_cast<std::int64_t>(v->get_double());
  return fallback;
}
// o.a.b.c, or nullptr when any step is missing or not an object.
inline const json::value* at_path(const json::value& v, std::initializer_list<std::string_view> keys) {
  const json::value* cur = &v;
  for (auto k : keys) {
    if (!cur->is_object()) return nullptr;
    cur = cur->get_object().if_contains(k);
    if (cur == nullptr) return nullptr;
  }
  return cur;
}

}  // namespace speedrunner::llm::detail
