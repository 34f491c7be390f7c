// Tests for include/speedrunner/config/json.hpp.
#include <speedrunner/config/json.hpp>

#include "catch.hpp"
#include "support.hpp"
#include "fixtures.hpp"

namespace cfg = speedrunner::config;

TEST_CASE("relaxed JSON accepts comments and trailing commas", "[config][json]") {
  auto v = cfg::parse_relaxed("// head\n{\"a\": [1, 2,], /* c */ \"b\": {\"c\": true,},}\n", "t.json");
  REQUIRE(v.has_value());
  CHECK(v->at("a").as_array().size() == 2);
  CHECK(v->at("b").at("c").as_bool());
}

TEST_CASE("a JSON syntax error names the file, line and column", "[config][json]") {
  auto v = cfg::parse_relaxed("{\n  \"a\": 1,\n  \"b\": ]\n}", "config/x.json");
  REQUIRE_FALSE(v.has_value());
  CHECK(v.error().what.starts_with("config/x.json:3:8: not valid JSON"));
  auto cut = cfg::parse_relaxed("{\"a\": [1, 2", "cut.json");
  REQUIRE_FALSE(cut.has_value());
  CHECK(cut.error().what.starts_with("cut.json:1:"));
}

TEST_CASE("reading a missing file is an error naming it", "[config][json]") {
  auto v = cfg::read_json_file("/nonexistent/dir/file.json");
  REQUIRE_FALSE(v.has_value());
  CHECK(v.error().what == "/nonexistent/dir/file.json: cannot be read");
}

TEST_CASE("key paths find nested values and list elements", "[config][json]") {
  auto v = cfg::parse_relaxed(R"({"a": {"b": [10, {"c": "x"}]}})", "t").value();
  CHECK(cfg::find_path(v, "a.b.0")->as_int64() == 10);
  CHECK(cfg::find_path(v, "a.b.1.c")->as_string() == "x");
  CHECK(cfg::find_path(v, "a.b.2") == nullptr);
  CHECK(cfg::find_path(v, "a.z") == nullptr);
  CHECK(cfg::find_path(v, "") == &v);
  CHECK(cfg::split_path("a.b.c") == std::vector<std::string>{"a", "b", "c"});
}

TEST_CASE("deep merge joins objects and replaces lists and scalars", "[config][json]") {
  auto base = cfg::parse_relaxed(R"({"a": {"x": 1, "y": [1, 2]}, "b": 1})", "t").value().as_object();
  auto over = cfg::parse_relaxed(R"({"a": {"y": [3], "z": 2}, "b": {"k": 0}})", "t").value().as_object();
  cfg::merge_into(base, over);
  CHECK(cfg::compact(base) == R"({"a":{"x":1,"y":[3],"z":2},"b":{"k":0}})");
}

TEST_CASE("pretty printing round-trips and writes numbers as people do", "[config][json]") {
  auto v = cfg::parse_relaxed(R"({"p": 0.5, "one": 1.0, "tiny": 1e-8, "n": 3, "l": [1, "a"], "o": {}, "e": []})", "t")
               .value();
  std::string text = cfg::to_pretty(v);
  CHECK(text.find("\"p\": 0.5") != std::string::npos);
  CHECK(text.find("\"one\": 1.0") != std::string::npos);
  CHECK(text.find("5E-1") == std::string::npos);
  auto back = cfg::parse_relaxed(text, "pretty").value();
  CHECK(back == v);
  CHECK(back.at("one").is_double());
}

TEST_CASE("erase_key keeps the order of the other keys", "[config][json]") {
  auto o = cfg::parse_relaxed(R"({"a": 1, "b": 2, "c": 3, "d": 4})", "t").value().as_object();
  cfg::erase_key(o, "b");
  CHECK(cfg::compact(o) == R"({"a":1,"c":3,"d":4})");
}
