// JSON in a model's answer: JsonObject takes the last JSON object however it
// is wrapped (prose, fences, several objects), JsonFields checks it against
// a key -> type map with one reason per bad key.
#pragma once

#include <speedrunner/core/error.hpp>
#include <speedrunner/validate/detail/json_scan.hpp>
#include <speedrunner/validate/detail/text.hpp>
#include <speedrunner/validate/validator.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace speedrunner::validate {

// A JSON number as people write it ("1.5", not boost's "1.5E0"); "" for non-numbers.
[[nodiscard]] inline std::string number_text(const boost::json::value& v) {
  if (v.is_int64()) return std::to_string(v.get_int64());
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  if (!v.is_double()) return {};
  char buf[32];
  auto end = std::to_chars(buf, buf + sizeof buf, v.get_double()).ptr;
  return std::string(buf, end);
}

// How a JSON value is described back to the model: "the string \"abc\"", "null".
[[nodiscard]] inline std::string describe_json(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null: return "null";
    case boost::json::kind::bool_: return v.get_bool() ? "true" : "false";
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
    case boost::json::kind::double_: return "the number " + number_text(v);
    case boost::json::kind::string: return "the string " + detail::quote(v.get_string(), 40);
    case boost::json::kind::array: return "an array of " + std::to_string(v.get_array().size());
    case boost::json::kind::object: return "an object";
  }
  return "a value";
}

// The last JSON object of the answer. An object that is clearly meant as
// JSON but malformed, after the last valid one, is reported rather than
// skipped: the model's final word wins. `example` (a JSON text) is shown
// when no object is found.
struct JsonObject {
  std::string example;

  using value_type = boost::json::object;

  [[nodiscard]] Result<boost::json::object> operator()(std::string_view answer) const {
    auto candidates = detail::json_candidates(answer);
    const detail::JsonCandidate* last_valid = nullptr;
    const detail::JsonCandidate* broken_after = nullptr;
    for (const auto& c : candidates) {
      // `{}` is as likely an initializer in quoted code as an answer
      if (c.valid && (c.object.empty() ? last_valid == nullptr || last_valid->object.empty() : true)) {
        last_valid = &c;
        broken_after = nullptr;
      } else if (!c.valid && c.looks_like_json) {
        broken_after = &c;
      }
    }
    if (broken_after != nullptr) return reject(broken_after->error + "; reply with one valid JSON object");
    if (last_valid != nullptr) return last_valid->object;
    return reject("the answer has no JSON object; reply with one JSON object" +
                  (example.empty() ? std::string() : " such as " + example));
  }
};

enum class FieldType { string, integer, number, boolean, array, object, any };

[[nodiscard]] constexpr std::string_view to_string(FieldType t) {
  switch (t) {
    case FieldType::string: return "a string";
    case FieldType::integer: return "an integer";
    case FieldType::number: return "a number";
    case FieldType::boolean: return "true or false";
    case FieldType::array: return "an array";
    case FieldType::object: return "an object";
    case FieldType::any: return "any value";
  }
  return "a value";
}

// The placeholder shown for a field in an example answer.
[[nodiscard]] constexpr std::string_view example_of(FieldType t) {
  switch (t) {
    case FieldType::string: return "\"...\"";
    case FieldType::integer: return "<integer>";
    case FieldType::number: return "<number>";
    case FieldType::boolean: return "<true|false>";
    case FieldType::array: return "[...]";
    case FieldType::object: return "{...}";
    case FieldType::any: return "<value>";
  }
  return "<value>";
}

struct Field {
  std::string name;
  FieldType type = FieldType::string;
  bool required = true;   // a missing key is a rejection
  bool nullable = false;  // null is accepted (and kept as null)
};

namespace detail {
// Checks one value against a field type; numbers are normalised in place
// (an integral 3.0 becomes 3 for an integer field, 3 becomes 3.0 for a number).
[[nodiscard]] inline bool conform(boost::json::value& v, FieldType type) {
  switch (type) {
    case FieldType::string: return v.is_string();
    case FieldType::boolean: return v.is_bool();
    case FieldType::array: return v.is_array();
    case FieldType::object: return v.is_object();
    case FieldType::any: return true;
    case FieldType::number:
      if (v.is_int64()) v = double(v.get_int64());
      else if (v.is_uint64()) v = double(v.get_uint64());
      return v.is_double() && std::isfinite(v.get_double());
    case FieldType::integer:
      if (v.is_uint64() && v.get_uint64() <= std::uint64_t(std::numeric_limits<std::int64_t>::max()))
        v = std::int64_t(v.get_uint64());
      if (v.is_double()) {
        double d = v.get_double();
        if (std::isfinite(d) && d == std::floor(d) && std::abs(d) < 9.0e15) v = std::int64_t(d);
      }
      return v.is_int64();
  }
  return false;
}
}  // namespace detail

// The last JSON object, checked key by key against `fields`; other keys are
// kept. Every bad key gets its own line in the rejection.
struct JsonFields {
  std::vector<Field> fields;

  using value_type = boost::json::object;

  [[nodiscard]] std::string example() const {
    std::string out = "{";
    for (const auto& f : fields) {
      if (out.size() > 1) out += ", ";
      out += "\"" + f.name + "\": " + std::string(example_of(f.type));
    }
    return out + "}";
  }

  [[nodiscard]] Result<boost::json::object> operator()(std::string_view answer) const {
    auto object = JsonObject{example()}(answer);
    if (!object) return object;
    std::vector<std::string> reasons;
    for (const auto& f : fields) {
      auto* v = object->if_contains(f.name);
      if (v == nullptr) {
        if (f.required) reasons.push_back("key \"" + f.name + "\" is missing");
        continue;
      }
      if (v->is_null() && f.nullable) continue;
      std::string found = describe_json(*v);
      if (!detail::conform(*v, f.type))
        reasons.push_back("key \"" + f.name + "\": expected " + std::string(to_string(f.type)) +
                          (f.nullable ? " or null" : "") + ", got " + found);
    }
    if (!reasons.empty())
      return reject("the JSON object does not have the expected keys:\n- " + detail::join(reasons, "\n- ") +
                    "\nexpected: " + example());
    return object;
  }
};

}  // namespace speedrunner::validate
