// Reading `key:value` pairs out of one log line: values may carry a unit
// (`train_time:2968348ms`, `12.5s`) or a total (`step:120/5100`), and a line
// that is a JSON object contributes its numeric members.
#pragma once

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace speedrunner::metrics {

enum class Unit { none, ms, s, min, h };

// A number as written in a log, with its time unit if it had one.
struct Quantity {
  double value = 0;
  Unit unit = Unit::none;
};

[[nodiscard]] inline std::optional<Unit> parse_unit(std::string_view s) {
  if (s.empty()) return Unit::none;
  if (s == "ms") return Unit::ms;
  if (s == "s" || s == "sec") return Unit::s;
  if (s == "m" || s == "min") return Unit::min;
  if (s == "h") return Unit::h;
  return std::nullopt;
}

[[nodiscard]] constexpr double seconds_per(Unit u) {
  switch (u) {
    case Unit::ms: return 1e-3;
    case Unit::s: return 1;
    case Unit::min: return 60;
    case Unit::h: return 3600;
    case Unit::none: return 1;
  }
  return 1;
}

// `value` expressed in `to`; a value without a unit is taken to be in `to` already.
[[nodiscard]] constexpr double convert(Quantity q, Unit to) {
  if (q.unit == Unit::none || to == Unit::none) return q.value;
  return q.value * seconds_per(q.unit) / seconds_per(to);
}

// "12.5s", "2968348ms", "3.28", "120/5100" (the step before the slash), "nan".
[[nodiscard]] inline std::optional<Quantity> parse_quantity(std::string_view token) {
  std::string text(token);
  const char* begin = text.c_str();
  char* end = nullptr;
  double v = std::strtod(begin, &end);
  if (end == begin) return std::nullopt;
  std::string_view rest(end);
  if (!rest.empty() && rest.front() == '/') {  // N/M: a count out of a total
    char* total_end = nullptr;
    std::strtod(rest.data() + 1, &total_end);
    if (total_end == rest.data() + 1 || *total_end != '\0') return std::nullopt;
    return Quantity{v, Unit::none};
  }
  auto unit = parse_unit(rest);
  if (!unit) return std::nullopt;
  return Quantity{v, *unit};
}

namespace detail {
inline bool key_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.'; }

inline void json_pairs(const boost::json::object& o, std::map<std::string, Quantity>& out) {
  for (const auto& [k, v] : o) {
    if (v.is_number()) out[std::string(k)] = {v.to_number<double>(), Unit::none};
    else if (v.is_string())
      if (auto q = parse_quantity(v.get_string())) out[std::string(k)] = *q;
  }
}
}  // namespace detail

// Every `key:value` / `key=value` / `key: value` pair of the line whose value is a
// number; a line holding a JSON object gives its numeric members instead. A key
// seen twice keeps its last value.
[[nodiscard]] inline std::map<std::string, Quantity> parse_pairs(std::string_view line) {
  std::map<std::string, Quantity> out;
  auto first = line.find_first_not_of(" \t\r");
  if (first != std::string_view::npos && line[first] == '{') {
    std::error_code ec;
    auto v = boost::json::parse(line.substr(first), ec);
    if (!ec && v.is_object()) {
      detail::json_pairs(v.get_object(), out);
      return out;
    }
  }
  std::size_t i = 0;
  while (i < line.size()) {
    if (!detail::key_char(line[i]) || (i > 0 && detail::key_char(line[i - 1]))) {
      ++i;
      continue;
    }
    std::size_t k = i;
    while (k < line.size() && detail::key_char(line[k])) ++k;
    std::string_view key = line.substr(i, k - i);
    std::size_t j = k;
    while (j < line.size() && (line[j] == ' ' || line[j] == '\t')) ++j;
    if (j >= line.size() || (line[j] != ':' && line[j] != '=')) {
      i = k;
      continue;
    }
    ++j;
    while (j < line.size() && (line[j] == ' ' || line[j] == '\t')) ++j;
    std::size_t e = j;
    while (e < line.size() && !std::isspace(static_cast<unsigned char>(line[e])) && line[e] != ',' &&
           line[e] != ';' && line[e] != '|')
      ++e;
    if (auto q = parse_quantity(line.substr(j, e - j))) {
      out[std::string(key)] = *q;
      i = e;
    } else {
      i = k;
    }
  }
  return out;
}

}  // namespace speedrunner::metrics
