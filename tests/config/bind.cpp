// Tests for include/speedrunner/config/bind.hpp: typed binding, its errors
// (each naming the full key path), and to_json.
#include <speedrunner/config/bind.hpp>

#include "catch.hpp"

namespace cfg = speedrunner::config;
using cfg::json::value;

namespace demo {
enum class Color { red, green, blue };
constexpr std::array<std::string_view, 3> enum_names(Color) { return {"red", "green", "blue"}; }

struct Inner {
  BOOST_HANA_DEFINE_STRUCT(Inner,
    (cfg::Probability, p),
    (std::optional<std::string>, note));
};

struct Settings {
  BOOST_HANA_DEFINE_STRUCT(Settings,
    (cfg::AtLeast<int, 1>, count),
    (std::uint8_t, small),
    (double, rate),
    (bool, on),
    (std::string, name),
    (Color, color),
    (std::vector<Inner>, items),
    (std::map<std::string, int>, weights),
    (std::optional<cfg::NonNegative<double>>, limit),
    (cfg::json::value, raw));
};

struct Open {
  static constexpr bool allows_unknown_keys = true;
  BOOST_HANA_DEFINE_STRUCT(Open, (int, a));
};
}  // namespace demo

namespace {
const char* good = R"({"count": 2, "small": 7, "rate": 1, "on": true, "name": "x", "color": "green",
  "items": [{"p": 0.5}, {"p": 1, "note": "n"}], "weights": {"a": 1}, "limit": null, "raw": {"any": [1]}})";

speedrunner::Result<demo::Settings> bind_with(const char* key, const char* json_value) {
  auto root = cfg::parse_relaxed(good, "t").value();
  root.as_object()[key] = cfg::parse_relaxed(json_value, "v").value();
  cfg::json::value wrapped(cfg::json::object{{"component", root}});
  return cfg::bind<demo::Settings>(wrapped, "component");
}
}  // namespace

TEST_CASE("a described struct binds every member type", "[config][bind]") {
  auto root = cfg::parse_relaxed(good, "t").value();
  auto s = cfg::bind<demo::Settings>(root, "");
  REQUIRE(s.has_value());
  CHECK(s->count == 2);
  CHECK(s->small == 7);
  CHECK(s->rate == 1.0);
  CHECK(s->on);
  CHECK(s->name == "x");
  CHECK(s->color == demo::Color::green);
  REQUIRE(s->items.size() == 2);
  CHECK(s->items[0].p == 0.5);
  CHECK_FALSE(s->items[0].note.has_value());
  CHECK(s->items[1].note == "n");
  CHECK(s->weights.at("a") == 1);
  CHECK_FALSE(s->limit.has_value());
  CHECK(cfg::compact(s->raw) == R"({"any":[1]})");
}

TEST_CASE("to_json writes a struct back so it binds to the same values", "[config][bind]") {
  auto root = cfg::parse_relaxed(good, "t").value();
  auto s = cfg::bind<demo::Settings>(root, "").value();
  s.limit = 2.5;
  auto j = cfg::to_json(s);
  CHECK(j.at("color") == value("green"));
  CHECK(j.at("items").as_array()[0].at("note").is_null());
  auto again = cfg::bind<demo::Settings>(j, "").value();
  CHECK(cfg::to_json(again) == j);
  CHECK(*again.limit == 2.5);
}

TEST_CASE("each typed error names the key path, the expected type and the value", "[config][bind]") {
  struct Case {
    const char* key;
    const char* json;
    const char* what;
  };
  const Case cases[] = {
      {"count", "0", "component.count: expected an integer >= 1, got 0"},
      {"count", "1.5", "component.count: expected an integer >= 1, got 1.5"},
      {"count", "\"3\"", "component.count: expected an integer >= 1, got \"3\""},
      {"small", "300", "component.small: expected a non-negative integer that fits 8 bits, got 300"},
      {"small", "-1", "component.small: expected a non-negative integer, got -1"},
      {"rate", "\"fast\"", "component.rate: expected a number, got \"fast\""},
      {"on", "1", "component.on: expected true or false, got 1"},
      {"name", "null", "component.name: expected a string, got null"},
      {"color", "\"gren\"", "component.color: expected one of blue, green, red, got \"gren\" (did you mean green?)"},
      {"items", "{}", "component.items: expected a list, got {}"},
      {"items", "[{\"p\": 0.5}, {\"p\": \"half\"}]", "component.items[1].p: expected a number in [0, 1], got \"half\""},
      {"items", "[{\"p\": 1.5}]", "component.items[0].p: expected a number in [0, 1], got 1.5"},
      {"weights", "{\"a\": true}", "component.weights.a: expected an integer, got true"},
      {"limit", "-2", "component.limit: expected a number >= 0, got -2"},
  };
  for (const auto& c : cases) {
    auto r = bind_with(c.key, c.json);
    INFO(c.key << " = " << c.json);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().what == c.what);
    CHECK_FALSE(r.error().fix.empty());
  }
}

namespace demo {
struct Runner {
  BOOST_HANA_DEFINE_STRUCT(Runner, (cfg::Probability, debug_prob));
};
}  // namespace demo

TEST_CASE("the issue's example error reads as written", "[config][bind]") {
  using demo::Runner;
  auto root = cfg::parse_relaxed(R"({"science_runner": {"debug_prob": "half"}})", "t").value();
  auto r = cfg::bind<Runner>(root, "science_runner");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().what == "science_runner.debug_prob: expected a number in [0, 1], got \"half\"");
}

TEST_CASE("a required key that is missing is an error, never a silent default", "[config][bind]") {
  auto root = cfg::parse_relaxed(good, "t").value();
  root.as_object().erase("rate");
  auto r = cfg::bind<demo::Settings>(root, "");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().what == "rate: required key is missing");
  CHECK(r.error().fix.find("+rate=VALUE") != std::string::npos);
  auto absent = cfg::bind<demo::Settings>(root, "science_runner");
  REQUIRE_FALSE(absent.has_value());
  CHECK(absent.error().what == "science_runner: required key is missing");
  auto opt = cfg::bind<std::optional<demo::Inner>>(root, "nowhere");
  REQUIRE(opt.has_value());
  CHECK_FALSE(opt->has_value());
}

TEST_CASE("an unknown key is an error with a did-you-mean unless the struct allows extras", "[config][bind]") {
  auto r = bind_with("colour", "\"red\"");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().what.starts_with("component.colour: unknown key (did you mean color?); known keys: "));
  auto open = cfg::parse_relaxed(R"({"a": 1, "b": 2})", "t").value();
  CHECK(cfg::bind<demo::Open>(open, "").value().a == 1);
}

TEST_CASE("binding from an object root reaches nested paths", "[config][bind]") {
  auto root = cfg::parse_relaxed(R"({"a": {"b": {"p": 0.25}}})", "t").value().as_object();
  CHECK(cfg::bind<demo::Inner>(root, "a.b").value().p == 0.25);
  CHECK(cfg::bind<double>(root, "a.b.p").value() == 0.25);
  CHECK(cfg::bind<double>(root, "a.b.q").error().what == "a.b.q: required key is missing");
  CHECK(cfg::bind<double>(root, "x").error().what == "x: required key is missing");
}

TEST_CASE("range wrappers read as their number", "[config][bind]") {
  cfg::Probability p = 0.5;
  double twice = p * 2;
  CHECK(twice == 1.0);
  STATIC_REQUIRE(cfg::Probability::lo == 0.0);
  STATIC_REQUIRE(cfg::AtLeast<int, 1>::hi == std::numeric_limits<int>::max());
  STATIC_REQUIRE(boost::hana::Struct<demo::Settings>::value);
}
