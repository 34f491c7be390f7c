// Typed binding: a plain struct described with BOOST_HANA_DEFINE_STRUCT is
// read from a JSON subtree, with errors that name the full key path, the
// expected type and the value found; to_json writes it back.
//
// How another area binds its settings (llm, search, exec, ...):
//
//   namespace speedrunner::search {
//   enum class Pick { best, random };
//   constexpr std::array<std::string_view, 2> enum_names(Pick) { return {"best", "random"}; }
//   struct AideSettings {
//     BOOST_HANA_DEFINE_STRUCT(AideSettings,
//       (config::AtLeast<int, 1>, drafts),            // an integer >= 1
//       (config::Probability, debug_prob),            // a number in [0, 1]
//       (Pick, pick),                                 // "best" | "random"
//       (std::optional<std::string>, note),           // may be absent or null
//       (std::vector<std::string>, tags),
//       (std::map<std::string, double>, weights));
//     // static constexpr bool allows_unknown_keys = true;  // for a subtree that holds more
//   };
//   }
//   Result<AideSettings> s = config::bind<AideSettings>(cfg, "science_runner");
//   // "science_runner.debug_prob: expected a number in [0, 1], got \"half\""
//
// Rules: every member that is not std::optional must be present (defaults
// live in the JSON tree only, never in the struct); keys the struct does not
// name are errors with a did-you-mean unless the struct sets
// allows_unknown_keys; enums are read by name through an enum_names(E)
// function found by ADL whose array is indexed by the enumerator's value;
// boost::json::value members take any subtree as it is.
#pragma once

#include <speedrunner/config/json.hpp>
#include <speedrunner/config/suggest.hpp>
#include <speedrunner/core/error.hpp>

#include <boost/hana/accessors.hpp>
#include <boost/hana/concept/struct.hpp>
#include <boost/hana/define_struct.hpp>
#include <boost/hana/first.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/string.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace speedrunner::config {

// A number that must lie in [Lo, Hi]; Hi at the type's maximum means ">= Lo".
// Converts to T, so settings.debug_prob reads as a double.
template <class T, auto Lo, auto Hi>
struct InRange {
  static_assert(std::is_arithmetic_v<T>, "InRange<T, Lo, Hi> needs an arithmetic T");
  using value_type = T;
  static constexpr T lo = static_cast<T>(Lo);
  static constexpr T hi = static_cast<T>(Hi);
  T value{};
  constexpr InRange() = default;
  constexpr InRange(T v) : value(v) {}  // NOLINT: implicit on purpose, reads like a T
  constexpr operator T() const { return value; }
};

template <class T, auto Lo>
using AtLeast = InRange<T, Lo, std::numeric_limits<T>::max()>;
using Probability = InRange<double, 0.0, 1.0>;
template <class T>
using NonNegative = AtLeast<T, T{0}>;

namespace detail {

template <class T> struct is_in_range : std::false_type {};
template <class T, auto Lo, auto Hi> struct is_in_range<InRange<T, Lo, Hi>> : std::true_type {};
template <class T> struct is_optional : std::false_type {};
template <class T> struct is_optional<std::optional<T>> : std::true_type {};
template <class T> struct is_vector : std::false_type {};
template <class T, class A> struct is_vector<std::vector<T, A>> : std::true_type {};
template <class T> struct is_string_map : std::false_type {};
template <class T, class C, class A> struct is_string_map<std::map<std::string, T, C, A>> : std::true_type {};
template <class> inline constexpr bool dependent_false = false;

template <class E>
concept NamedEnum = std::is_enum_v<E> && requires(E e) {
  { enum_names(e) };
};

template <class T>
concept OpenStruct = requires { T::allows_unknown_keys; } && T::allows_unknown_keys;

inline std::string number_text(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", x);
  return buf;
}

template <class R>
std::string range_text() {
  using T = typename R::value_type;
  std::string kind = std::is_integral_v<T> ? "an integer" : "a number";
  if (R::hi == std::numeric_limits<T>::max()) return kind + " >= " + number_text(static_cast<double>(R::lo));
  return kind + " in [" + number_text(static_cast<double>(R::lo)) + ", " +
         number_text(static_cast<double>(R::hi)) + "]";
}

inline std::unexpected<Error> type_error(std::string_view path, std::string_view expected, const json::value& got) {
  std::string p = path.empty() ? std::string("(config root)") : std::string(path);
  return fail(p + ": expected " + std::string(expected) + ", got " + brief(got),
              "set " + p + " to " + std::string(expected) + " in its config file or on the command line (" +
                  p + "=VALUE)");
}

template <class T>
Result<T> bind_value(const json::value& v, std::string_view path);

template <class T>
Result<T> bind_struct(const json::value& v, std::string_view path) {
  if (!v.is_object()) return type_error(path, "an object", v);
  const auto& obj = v.as_object();
  T out{};
  std::optional<Error> err;
  std::vector<std::string> known;
  boost::hana::for_each(boost::hana::accessors<T>(), [&](auto pair) {
    const char* name = boost::hana::to<const char*>(boost::hana::first(pair));
    known.emplace_back(name);
    if (err) return;
    auto& member = boost::hana::second(pair)(out);
    using M = std::remove_cvref_t<decltype(member)>;
    std::string child = join_path(path, name);
    auto it = obj.find(name);
    if (it == obj.end()) {
      if constexpr (is_optional<M>::value) {
        member = std::nullopt;
      } else {
        err = Error{child + ": required key is missing",
                    "add \"" + std::string(name) + "\" to the config file that sets " +
                        (path.empty() ? std::string("the top level") : std::string(path)) +
                        ", or pass +" + child + "=VALUE"};
      }
      return;
    }
    auto r = bind_value<M>(it->value(), child);
    if (!r) err = std::move(r.error());
    else member = std::move(*r);
  });
  if (err) return std::unexpected(std::move(*err));
  if constexpr (!OpenStruct<T>) {
    for (const auto& kv : obj) {
      if (std::find(known.begin(), known.end(), std::string_view(kv.key())) != known.end()) continue;
      std::string child = join_path(path, kv.key());
      return fail(child + ": unknown key" + did_you_mean(kv.key(), known) + "; known keys: " + list_choices(known),
                  "fix the key's name or remove it");
    }
  }
  return out;
}

template <class T>
Result<T> bind_value(const json::value& v, std::string_view path) {
  if constexpr (std::is_same_v<T, json::value>) {
    return v;
  } else if constexpr (std::is_same_v<T, json::object>) {
    if (!v.is_object()) return type_error(path, "an object", v);
    return v.as_object();
  } else if constexpr (is_in_range<T>::value) {
    using U = typename T::value_type;
    std::string expected = range_text<T>();
    auto inner = bind_value<U>(v, path);
    if (!inner) return type_error(path, expected, v);
    if (*inner < T::lo || *inner > T::hi) return type_error(path, expected, v);
    return T(*inner);
  } else if constexpr (is_optional<T>::value) {
    if (v.is_null()) return T(std::nullopt);
    auto inner = bind_value<typename T::value_type>(v, path);
    if (!inner) return std::unexpected(std::move(inner.error()));
    return T(std::move(*inner));
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_bool()) return type_error(path, "true or false", v);
    return v.as_bool();
  } else if constexpr (std::is_integral_v<T>) {
    const std::string expected = std::is_unsigned_v<T> ? "a non-negative integer" : "an integer";
    if (v.is_int64()) {
      std::int64_t x = v.as_int64();
      if (std::is_unsigned_v<T> && x < 0) return type_error(path, expected, v);
      if constexpr (std::is_signed_v<T>) {
        if (x < std::numeric_limits<T>::min() || x > std::numeric_limits<T>::max())
          return type_error(path, expected + " that fits " + std::to_string(sizeof(T) * 8) + " bits", v);
      } else {
        if (static_cast<std::uint64_t>(x) > std::numeric_limits<T>::max())
          return type_error(path, expected + " that fits " + std::to_string(sizeof(T) * 8) + " bits", v);
      }
      return static_cast<T>(x);
    }
    if (v.is_uint64()) {
      std::uint64_t x = v.as_uint64();
      if (x > static_cast<std::uint64_t>(std::numeric_limits<T>::max()))
        return type_error(path, expected + " that fits " + std::to_string(sizeof(T) * 8) + " bits", v);
      return static_cast<T>(x);
    }
    return type_error(path, expected, v);
  } else if constexpr (std::is_floating_point_v<T>) {
    if (v.is_double()) return static_cast<T>(v.as_double());
    if (v.is_int64()) return static_cast<T>(v.as_int64());
    if (v.is_uint64()) return static_cast<T>(v.as_uint64());
    return type_error(path, "a number", v);
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!v.is_string()) return type_error(path, "a string", v);
    return std::string(v.as_string());
  } else if constexpr (NamedEnum<T>) {
    const auto names = enum_names(T{});
    std::vector<std::string> choices(names.begin(), names.end());
    std::string expected = "one of " + list_choices(choices);
    if (!v.is_string()) return type_error(path, expected, v);
    for (std::size_t i = 0; i < names.size(); ++i)
      if (names[i] == std::string_view(v.as_string())) return static_cast<T>(i);
    std::string p(path);
    return fail(p + ": expected " + expected + ", got " + brief(v) + did_you_mean(v.as_string(), choices),
                "set " + p + " to one of " + list_choices(choices));
  } else if constexpr (is_vector<T>::value) {
    if (!v.is_array()) return type_error(path, "a list", v);
    T out;
    const auto& a = v.as_array();
    out.reserve(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      auto e = bind_value<typename T::value_type>(a[i], std::string(path) + "[" + std::to_string(i) + "]");
      if (!e) return std::unexpected(std::move(e.error()));
      out.push_back(std::move(*e));
    }
    return out;
  } else if constexpr (is_string_map<T>::value) {
    if (!v.is_object()) return type_error(path, "an object", v);
    T out;
    for (const auto& kv : v.as_object()) {
      auto e = bind_value<typename T::mapped_type>(kv.value(), join_path(path, kv.key()));
      if (!e) return std::unexpected(std::move(e.error()));
      out.emplace(std::string(kv.key()), std::move(*e));
    }
    return out;
  } else if constexpr (boost::hana::Struct<T>::value) {
    return bind_struct<T>(v, path);
  } else {
    static_assert(dependent_false<T>,
                  "config::bind: this type cannot be read from JSON; use bool, an arithmetic type, "
                  "InRange, std::string, an enum with enum_names(E), std::optional, std::vector, "
                  "std::map<std::string, T>, boost::json::value, or a struct described with "
                  "BOOST_HANA_DEFINE_STRUCT");
    return fail("unreachable");
  }
}

}  // namespace detail

// Reads T from the subtree at `key_path` ("science_runner", "task.selection";
// "" for the whole tree). Errors name the full key path.
template <class T>
[[nodiscard]] Result<T> bind(const json::value& root, std::string_view key_path) {
  const json::value* at = find_path(root, key_path);
  if (at == nullptr) {
    if constexpr (detail::is_optional<T>::value) return T(std::nullopt);
    return fail(std::string(key_path) + ": required key is missing",
                "add it to the config tree (config/default.json or a group file), or pass +" +
                    std::string(key_path) + "=VALUE");
  }
  return detail::bind_value<T>(*at, key_path);
}

template <class T>
[[nodiscard]] Result<T> bind(const json::object& root, std::string_view key_path) {
  // wraps without copying the tree when reading the root itself is not needed
  if (key_path.empty()) return detail::bind_value<T>(json::value(root), key_path);
  auto segs = split_path(key_path);
  auto it = root.find(segs.front());
  if (it == root.end()) {
    if constexpr (detail::is_optional<T>::value) return T(std::nullopt);
    std::vector<std::string> keys;
    for (const auto& kv : root) keys.emplace_back(kv.key());
    return fail(std::string(key_path) + ": required key is missing" + did_you_mean(segs.front(), keys),
                "add it to the config tree (config/default.json or a group file), or pass +" +
                    std::string(key_path) + "=VALUE");
  }
  std::string rest(key_path.substr(std::min(key_path.size(), segs.front().size() + 1)));
  const json::value* at = rest.empty() ? &it->value() : find_path(it->value(), rest);
  if (at == nullptr) {
    if constexpr (detail::is_optional<T>::value) return T(std::nullopt);
    return fail(std::string(key_path) + ": required key is missing",
                "add it to the config tree, or pass +" + std::string(key_path) + "=VALUE");
  }
  return detail::bind_value<T>(*at, key_path);
}

// Writes a bindable value back as JSON: bind<T>(to_json(x), "") gives x back.
template <class T>
[[nodiscard]] json::value to_json(const T& x) {
  if constexpr (std::is_same_v<T, json::value>) {
    return x;
  } else if constexpr (std::is_same_v<T, json::object>) {
    return json::value(x);
  } else if constexpr (detail::is_in_range<T>::value) {
    return to_json(x.value);
  } else if constexpr (detail::is_optional<T>::value) {
    return x ? to_json(*x) : json::value(nullptr);
  } else if constexpr (std::is_same_v<T, bool>) {
    return json::value(x);
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    return json::value(static_cast<std::int64_t>(x));
  } else if constexpr (std::is_integral_v<T>) {
    return json::value(static_cast<std::uint64_t>(x));
  } else if constexpr (std::is_floating_point_v<T>) {
    return json::value(static_cast<double>(x));
  } else if constexpr (std::is_same_v<T, std::string>) {
    return json::value(json::string(x));
  } else if constexpr (detail::NamedEnum<T>) {
    const auto names = enum_names(T{});
    auto i = static_cast<std::size_t>(x);
    return i < names.size() ? json::value(json::string(names[i])) : json::value(nullptr);
  } else if constexpr (detail::is_vector<T>::value) {
    json::array a;
    for (const auto& e : x) a.push_back(to_json(e));
    return a;
  } else if constexpr (detail::is_string_map<T>::value) {
    json::object o;
    for (const auto& [k, e] : x) o[k] = to_json(e);
    return o;
  } else if constexpr (boost::hana::Struct<T>::value) {
    json::object o;
    boost::hana::for_each(boost::hana::accessors<T>(), [&](auto pair) {
      o[boost::hana::to<const char*>(boost::hana::first(pair))] = to_json(boost::hana::second(pair)(x));
    });
    return o;
  } else {
    static_assert(detail::dependent_false<T>, "config::to_json: this type is not bindable (see bind.hpp)");
    return nullptr;
  }
}

}  // namespace speedrunner::config
