// JsonAs<T>: the last JSON object of an answer decoded into a struct
// described with BOOST_HANA_DEFINE_STRUCT, one rejection line per bad key.
#pragma once

#include <speedrunner/core/error.hpp>
#include <speedrunner/validate/json.hpp>
#include <speedrunner/validate/validator.hpp>

#include <boost/hana/accessors.hpp>
#include <boost/hana/concept/struct.hpp>
#include <boost/hana/define_struct.hpp>
#include <boost/hana/first.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/string.hpp>
#include <boost/hana/core/to.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <concepts>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace speedrunner::validate {

namespace detail {

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
template <class T>
struct is_vector : std::false_type {};
template <class T, class A>
struct is_vector<std::vector<T, A>> : std::true_type {};
template <class>
inline constexpr bool unsupported_member = false;

template <class T>
std::string json_shape();

template <class T>
std::string struct_shape() {
  std::string out = "{";
  boost::hana::for_each(boost::hana::accessors<T>(), [&](auto pair) {
    using M = std::remove_cvref_t<decltype(boost::hana::second(pair)(std::declval<T&>()))>;
    if (out.size() > 1) out += ", ";
    out += std::string("\"") + boost::hana::to<char const*>(boost::hana::first(pair)) + "\": " + json_shape<M>();
  });
  return out + "}";
}

// The placeholder for a type in an example answer.
template <class T>
std::string json_shape() {
  if constexpr (std::same_as<T, std::string>) return "\"...\"";
  else if constexpr (std::same_as<T, bool>) return "<true|false>";
  else if constexpr (std::integral<T>) return "<integer>";
  else if constexpr (std::floating_point<T>) return "<number>";
  else if constexpr (is_optional<T>::value) return json_shape<typename T::value_type>();
  else if constexpr (is_vector<T>::value) return "[" + json_shape<typename T::value_type>() + ", ...]";
  else if constexpr (boost::hana::Struct<T>::value) return struct_shape<T>();
  else return "<value>";
}

template <class T>
void decode_json(const boost::json::value& v, T& out, const std::string& key, std::vector<std::string>& reasons) {
  auto wrong = [&](std::string_view expected) {
    reasons.push_back("key \"" + key + "\": expected " + std::string(expected) + ", got " + describe_json(v));
  };
  if constexpr (std::same_as<T, std::string>) {
    if (auto* s = v.if_string()) out = std::string(*s);
    else wrong("a string");
  } else if constexpr (std::same_as<T, bool>) {
    if (auto* b = v.if_bool()) out = *b;
    else wrong("true or false");
  } else if constexpr (std::integral<T>) {
    boost::json::value copy = v;
    if (!conform(copy, FieldType::integer)) return wrong("an integer");
    std::int64_t i = copy.get_int64();
    if (i < std::int64_t(std::numeric_limits<T>::min()) ||
        (i > 0 && std::uint64_t(i) > std::uint64_t(std::numeric_limits<T>::max())))
      return wrong("an integer in [" + std::to_string(std::numeric_limits<T>::min()) + ", " +
                   std::to_string(std::numeric_limits<T>::max()) + "]");
    out = T(i);
  } else if constexpr (std::floating_point<T>) {
    boost::json::value copy = v;
    if (!conform(copy, FieldType::number)) return wrong("a number");
    out = T(copy.get_double());
  } else if constexpr (is_optional<T>::value) {
    if (v.is_null()) {
      out.reset();
    } else {
      typename T::value_type inner{};
      std::size_t before = reasons.size();
      decode_json(v, inner, key, reasons);
      if (reasons.size() == before) out = std::move(inner);
    }
  } else if constexpr (is_vector<T>::value) {
    auto* a = v.if_array();
    if (a == nullptr) return wrong("an array");
    out.clear();
    for (std::size_t i = 0; i < a->size(); ++i) {
      typename T::value_type item{};
      decode_json((*a)[i], item, key + "[" + std::to_string(i) + "]", reasons);
      out.push_back(std::move(item));
    }
  } else if constexpr (std::same_as<T, boost::json::value>) {
    out = v;
  } else if constexpr (std::same_as<T, boost::json::object>) {
    if (auto* o = v.if_object()) out = *o;
    else wrong("an object");
  } else if constexpr (boost::hana::Struct<T>::value) {
    auto* o = v.if_object();
    if (o == nullptr) return wrong("an object");
    std::string prefix = key.empty() ? "" : key + ".";
    boost::hana::for_each(boost::hana::accessors<T>(), [&](auto pair) {
      std::string name = boost::hana::to<char const*>(boost::hana::first(pair));
      auto& member = boost::hana::second(pair)(out);
      using M = std::remove_cvref_t<decltype(member)>;
      if (auto* field = o->if_contains(name)) decode_json(*field, member, prefix + name, reasons);
      else if constexpr (!is_optional<M>::value) reasons.push_back("key \"" + prefix + name + "\" is missing");
    });
  } else {
    static_assert(unsupported_member<T>,
                  "JsonAs: a member type has no JSON decoding; use std::string, bool, an integer, a "
                  "floating type, std::optional, std::vector, boost::json::value/object or a Hana struct");
  }
}

}  // namespace detail

// The last JSON object of the answer as a T (a Hana struct). Keys not in T
// are ignored; a std::optional member may be missing or null.
template <class T>
struct JsonAs {
  static_assert(boost::hana::Struct<T>::value,
                "JsonAs<T> needs T described with BOOST_HANA_DEFINE_STRUCT (its keys and member types)");

  using value_type = T;

  [[nodiscard]] static std::string example() { return detail::struct_shape<T>(); }

  [[nodiscard]] Result<T> operator()(std::string_view answer) const {
    auto object = JsonObject{example()}(answer);
    if (!object) return std::unexpected(std::move(object.error()));
    T out{};
    std::vector<std::string> reasons;
    detail::decode_json(boost::json::value(std::move(*object)), out, "", reasons);
    if (!reasons.empty())
      return reject("the JSON object does not have the expected keys:\n- " + detail::join(reasons, "\n- ") +
                    "\nexpected: " + example());
    return out;
  }
};

}  // namespace speedrunner::validate
