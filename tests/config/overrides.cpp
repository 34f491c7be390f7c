// Tests for include/speedrunner/config/overrides.hpp: every override form.
#include <speedrunner/config/overrides.hpp>

#include "catch.hpp"

namespace cfg = speedrunner::config;
using cfg::json::value;

namespace {
cfg::json::object tree() {
  return cfg::parse_relaxed(R"({
    "n_iterations": 5, "name": "x", "flag": false, "p": 0.5, "nothing": null,
    "paths": [], "opts": {"a": 1},
    "science_runner": {"debug_prob": 0, "max_bug_depth": 3}
  })", "tree").value().as_object();
}
speedrunner::Result<cfg::json::object> apply(std::initializer_list<const char*> args) {
  auto t = tree();
  for (const char* a : args) {
    auto o = cfg::parse_override(a);
    if (!o) return std::unexpected(o.error());
    if (auto r = cfg::apply_override(t, *o); !r) return std::unexpected(r.error());
  }
  return t;
}
}  // namespace

TEST_CASE("an override splits into kind, key and value", "[config][overrides]") {
  auto set = cfg::parse_override("a.b=1=2").value();
  CHECK(set.kind == cfg::OverrideKind::set);
  CHECK(set.key == "a.b");
  CHECK(set.value == "1=2");
  CHECK(cfg::parse_override("+a=1")->kind == cfg::OverrideKind::add);
  CHECK(cfg::parse_override("++a=1")->kind == cfg::OverrideKind::add_or_set);
  auto rm = cfg::parse_override("~a.b").value();
  CHECK(rm.kind == cfg::OverrideKind::remove);
  CHECK(rm.key == "a.b");
  CHECK(cfg::parse_override("a=")->value.empty());
}

TEST_CASE("a malformed override is an error that shows the forms", "[config][overrides]") {
  for (const char* bad : {"noequals", "=5", "a..b=1", ".a=1", "a.=1", "~a=1", "a b=1", "+=1", "~", "a$=2"}) {
    auto o = cfg::parse_override(bad);
    INFO(bad);
    REQUIRE_FALSE(o.has_value());
    CHECK(o.error().what.find(std::string("'") + bad + "'") != std::string::npos);
    CHECK_FALSE(o.error().fix.empty());
  }
}

TEST_CASE("values without a target read as JSON would type them", "[config][overrides]") {
  CHECK(cfg::parse_value("null").value().is_null());
  CHECK(cfg::parse_value("true").value() == value(true));
  CHECK(cfg::parse_value("False").value() == value(false));
  CHECK(cfg::parse_value("42").value() == value(42));
  CHECK(cfg::parse_value("-3").value() == value(-3));
  CHECK(cfg::parse_value("2.5e-3").value() == value(2.5e-3));
  CHECK(cfg::parse_value("abc").value() == value("abc"));
  CHECK(cfg::parse_value("1.2.3").value() == value("1.2.3"));
  CHECK(cfg::parse_value("inf").value() == value("inf"));
  CHECK(cfg::parse_value("").value() == value(""));
  CHECK(cfg::parse_value("'a b, c'").value() == value("a b, c"));
  CHECK(cfg::parse_value("\"it\\\"s\"").value() == value("it\"s"));
  CHECK(cfg::parse_value("'5'").value() == value("5"));
}

TEST_CASE("lists hold bare words, quoted strings, numbers and nested lists", "[config][overrides]") {
  auto v = cfg::parse_value("[data/record_1/level_1_*.txt, 'a,b', 3, [x, null], {\"k\": [1]}]").value();
  REQUIRE(v.is_array());
  const auto& a = v.as_array();
  REQUIRE(a.size() == 5);
  CHECK(a[0] == value("data/record_1/level_1_*.txt"));
  CHECK(a[1] == value("a,b"));
  CHECK(a[2] == value(3));
  CHECK(cfg::compact(a[3]) == R"(["x",null])");
  CHECK(cfg::compact(a[4]) == R"({"k":[1]})");
  CHECK(cfg::parse_value("[]").value().as_array().empty());
  CHECK(cfg::parse_value("[ ${env:A,1}, b ]").value().as_array()[0] == value("${env:A,1}"));
}

TEST_CASE("JSON objects are accepted as values", "[config][overrides]") {
  auto v = cfg::parse_value(R"({"usd": 3.5, "hours": null,})").value();
  CHECK(v.at("usd") == value(3.5));
}

TEST_CASE("unbalanced or stray brackets in a value are errors", "[config][overrides]") {
  for (const char* bad : {"[a, b", "[a,,", "{\"a\": 1", "'open", "[a] tail", "[a}", "{\"a\" 1}", "[[[", "[a{]"}) {
    INFO(bad);
    auto v = cfg::parse_value(bad, "key");
    REQUIRE_FALSE(v.has_value());
    CHECK(v.error().what.starts_with("key"));
  }
}

TEST_CASE("key=value replaces a key, typed by the value it replaces", "[config][overrides]") {
  auto t = apply({"n_iterations=7", "name=123", "flag=true", "p=0.25", "nothing=[1]", "paths=[a,b]",
                  "opts={\"b\": 2}", "science_runner.debug_prob=0.5"});
  REQUIRE(t.has_value());
  CHECK(t->at("n_iterations") == value(7));
  CHECK(t->at("name") == value("123"));  // a string key keeps the text
  CHECK(t->at("flag") == value(true));
  CHECK(t->at("p") == value(0.25));
  CHECK(cfg::compact(t->at("nothing")) == "[1]");
  CHECK(cfg::compact(t->at("paths")) == R"(["a","b"])");
  CHECK(cfg::compact(t->at("opts")) == R"({"b":2})");
  CHECK(t->at("science_runner").at("debug_prob") == value(0.5));
}

TEST_CASE("a value of another type than its key's is left for the typed binding", "[config][overrides]") {
  // the binding knows the range it expects and says so (tests/config/settings.cpp)
  auto t = apply({"n_iterations=five", "flag=yes", "paths=a", "opts=3", "p=null"});
  REQUIRE(t.has_value());
  CHECK(t->at("n_iterations") == value("five"));
  CHECK(t->at("flag") == value("yes"));
  CHECK(t->at("paths") == value("a"));
  CHECK(t->at("opts") == value(3));
  CHECK(t->at("p").is_null());
  CHECK(apply({"name=null"}).value().at("name").is_null());
  CHECK(apply({"name=[a, b]"}).value().at("name") == value("[a, b]"));
  CHECK(apply({"name='[a'"}).value().at("name") == value("[a"));
}

TEST_CASE("key=value on a missing key suggests the nearest one", "[config][overrides]") {
  auto t = apply({"science_runner.debug_porb=0.1"});
  REQUIRE_FALSE(t.has_value());
  CHECK(t.error().what ==
        "override 'science_runner.debug_porb=0.1': science_runner has no key 'debug_porb' "
        "(did you mean debug_prob?); its keys: debug_prob, max_bug_depth");
  CHECK(t.error().fix.find("+science_runner.debug_porb=") != std::string::npos);
  auto deep = apply({"n_iterations.x=1"});
  REQUIRE_FALSE(deep.has_value());
  CHECK(deep.error().what.find("n_iterations is an integer, not an object") != std::string::npos);
}

TEST_CASE("+key adds a new key, creating parents, and refuses an existing one", "[config][overrides]") {
  auto t = apply({"+extra.deep.k=[1,2]", "+science_runner.note='hi'"});
  REQUIRE(t.has_value());
  CHECK(cfg::compact(t->at("extra")) == R"({"deep":{"k":[1,2]}})");
  CHECK(t->at("science_runner").at("note") == value("hi"));
  auto dup = apply({"+n_iterations=3"});
  REQUIRE_FALSE(dup.has_value());
  CHECK(dup.error().what.find("n_iterations already exists (5)") != std::string::npos);
  CHECK(dup.error().fix.find("++n_iterations=VALUE") != std::string::npos);
}

TEST_CASE("++key adds or replaces", "[config][overrides]") {
  auto t = apply({"++n_iterations=9", "++fresh=x"});
  REQUIRE(t.has_value());
  CHECK(t->at("n_iterations") == value(9));
  CHECK(t->at("fresh") == value("x"));
}

TEST_CASE("~key removes a key and keeps the order of the rest", "[config][overrides]") {
  auto t = apply({"~name", "~science_runner.debug_prob"});
  REQUIRE(t.has_value());
  CHECK_FALSE(t->contains("name"));
  CHECK(cfg::compact(t->at("science_runner")) == R"({"max_bug_depth":3})");
  CHECK(t->begin()->key() == "n_iterations");
  auto missing = apply({"~nmae"});
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().what.find("(did you mean name?)") != std::string::npos);
}

TEST_CASE("an override of a secret never echoes the secret, the old value or the new", "[config][overrides][secrets]") {
  auto t = tree();
  t["secrets"] = cfg::json::object{{"openai_api_key", "sk-old-0123456789"}};
  t["model"] = cfg::json::object{{"api_key", "sk-model-0123456789"}};
  for (const char* arg : {"+secrets.openai_api_key=sk-new-0123456789", "+model.api_key=sk-new-0123456789",
                          "secrets.openai_api_key.deeper=sk-new-0123456789"}) {
    auto o = cfg::parse_override(arg);
    REQUIRE(o.has_value());
    auto r = cfg::apply_override(t, *o);
    REQUIRE_FALSE(r.has_value());
    INFO(r.error().message());
    CHECK(r.error().message().find("0123456789") == std::string::npos);
  }
}
