// Tests for include/speedrunner/config/interpolate.hpp.
#include <speedrunner/config/interpolate.hpp>

#include "catch.hpp"
#include "fixtures.hpp"

namespace cfg = speedrunner::config;
using cfg::json::value;
using speedrunner::testing::fixed_resolve;

namespace {
speedrunner::Result<value> resolve(const char* text, std::map<std::string, std::string> env = {}) {
  auto v = cfg::parse_relaxed(text, "t").value();
  auto r = cfg::resolve_interpolations(v, fixed_resolve(std::move(env)));
  if (!r) return std::unexpected(r.error());
  return v;
}
}  // namespace

TEST_CASE("a reference copies another key, keeping its type when it stands alone", "[config][interpolate]") {
  auto v = resolve(R"({"a": {"n": 8, "o": {"k": [1]}}, "n": "${a.n}", "o": "${a.o}", "s": "gpus=${a.n}!",
                       "l": "${list.1}", "list": ["x", "y"]})").value();
  CHECK(v.at("n") == value(8));
  CHECK(cfg::compact(v.at("o")) == R"({"k":[1]})");
  CHECK(v.at("s") == value("gpus=8!"));
  CHECK(v.at("l") == value("y"));
}

TEST_CASE("references resolve through chains of references", "[config][interpolate]") {
  auto v = resolve(R"({"c": "${b}", "b": "${a}/x", "a": "root"})").value();
  CHECK(v.at("c") == value("root/x"));
}

TEST_CASE("nested references pick a key by another key's value", "[config][interpolate]") {
  auto v = resolve(R"({"track": "fineweb", "tracks": {"mini": {"gpus": 1}, "fineweb": {"gpus": "${eight}"}},
                       "eight": 8, "data": "${tracks.${track}}", "gpus": "${data.gpus}"})").value();
  CHECK(cfg::compact(v.at("data")) == R"({"gpus":8})");
  CHECK(v.at("gpus") == value(8));
}

TEST_CASE("env reads a variable, with a default when it is unset", "[config][interpolate]") {
  auto v = resolve(R"({"k": "${env:KEY}", "d": "${env:UNSET,fallback,with,commas}", "e": "${env:UNSET,}",
                       "mix": "x-${env:KEY}-y"})", {{"KEY", "v1"}}).value();
  CHECK(v.at("k") == value("v1"));
  CHECK(v.at("d") == value("fallback,with,commas"));
  CHECK(v.at("e") == value(""));
  CHECK(v.at("mix") == value("x-v1-y"));
  auto missing = resolve(R"({"k": "${env:NOPE}"})");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().what == "k: environment variable NOPE is not set (${env:NOPE})");
  CHECK(missing.error().fix.find("export NOPE=") != std::string::npos);
  CHECK_FALSE(resolve(R"({"k": "${env:1BAD}"})").has_value());
}

TEST_CASE("now formats one instant for the whole config", "[config][interpolate]") {
  auto v = resolve(R"({"a": "run_${now:%Y%m%d_%H%M%S}", "b": "${now:%Y}"})").value();
  CHECK(v.at("a") == value("run_20250304_050607"));
  CHECK(v.at("b") == value("2025"));
  CHECK_FALSE(resolve(R"({"a": "${now:}"})").has_value());
}

TEST_CASE("path makes a relative path absolute against the working directory, globs kept", "[config][interpolate]") {
  auto v = cfg::parse_relaxed(R"({"train": "${path:data/mini/mini_train_*.bin}", "abs": "${path:/srv/x/../y.bin}",
                                  "dot": "${path:./a//b}"})", "t").value();
  auto opts = fixed_resolve({});
  opts.cwd = "/home/me/speedrunner";
  REQUIRE(cfg::resolve_interpolations(v, opts));
  CHECK(v.at("train") == value("/home/me/speedrunner/data/mini/mini_train_*.bin"));
  CHECK(v.at("abs") == value("/srv/y.bin"));
  CHECK(v.at("dot") == value("/home/me/speedrunner/a/b"));
  auto empty = resolve(R"({"p": "${path:}"})");
  REQUIRE_FALSE(empty.has_value());
  CHECK(empty.error().fix == "write ${path:data/mini/mini_train_*.bin}");
}

TEST_CASE("a backslash keeps a literal ${", "[config][interpolate]") {
  auto v = resolve(R"({"cmd": "echo \\${HOME} ${a}", "a": 1})").value();
  CHECK(v.at("cmd") == value("echo ${HOME} 1"));
}

TEST_CASE("a cycle is an error that shows the whole chain", "[config][interpolate]") {
  auto r = resolve(R"({"a": "${b}", "b": "x${c}", "c": "${a}"})");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().what == "interpolation cycle: a -> b -> c -> a");
  auto self = resolve(R"({"a": {"b": "${a}"}})");
  REQUIRE_FALSE(self.has_value());
  CHECK(self.error().what == "interpolation cycle: a.b -> a.b");
}

TEST_CASE("a missing key is an error with a did-you-mean and the chain that reached it", "[config][interpolate]") {
  auto r = resolve(R"({"workspace": {"root": "w/${task.nmae}"}, "task": {"name": "collatz", "x": 1}})");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().what ==
        "workspace.root: ${task.nmae} refers to a missing key: task has no key 'nmae' "
        "(did you mean name?); its keys: name, x");
  auto chained = resolve(R"({"dir": "${workspace.root}/v_0", "workspace": {"root": "${nope}"}})");
  REQUIRE_FALSE(chained.has_value());
  CHECK(chained.error().what.find("(while resolving dir -> workspace.root)") != std::string::npos);
}

TEST_CASE("malformed interpolations are errors", "[config][interpolate]") {
  for (const char* bad : {R"({"a": "${b"})", R"({"a": "${}"})", R"({"a": "${foo:bar}"})",
                          R"({"a": "x${o}", "o": {}})", R"({"a": "${b..c}", "b": 1})", R"({"a": "${b.c}", "b": 1})"}) {
    INFO(bad);
    auto r = resolve(bad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().what.starts_with("a: "));
  }
  CHECK(resolve(R"({"a": "${qqqq:x}"})").error().what.find("did you mean") == std::string::npos);
  CHECK(resolve(R"({"a": "${nw:x}"})").error().what.find("(did you mean now?)") != std::string::npos);
}

TEST_CASE("very deep reference chains and nesting are errors, not stack overflows", "[config][interpolate]") {
  std::string chain = "{";
  for (int i = 0; i < 1000; ++i) chain += "\"k" + std::to_string(i) + "\": \"${k" + std::to_string(i + 1) + "}\", ";
  chain += "\"k1000\": 1}";
  auto r = resolve(chain.c_str());
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().what.find("references nest more than 200 deep") != std::string::npos);
  std::string nested = "{\"a\": \"";
  for (int i = 0; i < 100; ++i) nested += "${";
  for (int i = 0; i < 100; ++i) nested += "}";
  nested += "\"}";
  auto n = resolve(nested.c_str());
  REQUIRE_FALSE(n.has_value());
  CHECK(n.error().what.find("nested more than 32 deep") != std::string::npos);
}
