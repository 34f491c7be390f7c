// Tests for include/speedrunner/llm/cached.hpp: record, replay, keys, bad entries.
#include <speedrunner/llm/cached.hpp>

#include <fstream>

#include "catch.hpp"
#include "support.hpp"

using namespace speedrunner::llm;
using speedrunner::Result;
using speedrunner::testing::TempDir;

namespace {

struct Counting {
  std::shared_ptr<int> calls = std::make_shared<int>(0);
  Result<Response> complete(const Request& r) {
    ++*calls;
    Response out;
    out.text = "answer to " + r.messages.back().content;
    out.usage = {10, 5, 0};
    out.cost_usd = 0.25;
    out.model = "m-2025";
    out.finish = FinishReason::length;
    return out;
  }
};

Request ask(std::string q) {
  Request r;
  r.system = "sys";
  r.messages = {{Role::user, std::move(q)}};
  return r;
}

}  // namespace

TEST_CASE("record mode asks once, then answers from the cache for free", "[llm][cache]") {
  STATIC_REQUIRE(LanguageModel<Cached<Counting>>);
  TempDir dir;
  Counting inner;
  Cached<Counting> model(inner, CacheMode::record, dir.path() / "cache", "gpt-4o");
  auto first = model.complete(ask("q1"));
  REQUIRE(first);
  CHECK_FALSE(first->cached);
  CHECK(first->cost_usd == 0.25);
  Request again = ask("q1");
  again.agent = "coder";  // not part of the key
  again.attempt = 3;
  again.log_dir = dir.path();
  auto second = model.complete(again);
  REQUIRE(second);
  CHECK(*inner.calls == 1);
  CHECK(second->cached);
  CHECK(second->cost_usd == 0.0);
  CHECK(second->text == "answer to q1");
  CHECK(second->usage == Usage{10, 5, 0});
  CHECK(second->finish == FinishReason::length);
  CHECK(second->model == "m-2025");

  Request hotter = ask("q1");
  hotter.params.temperature = 0.9;  // parameters are part of the key
  REQUIRE(model.complete(hotter));
  CHECK(*inner.calls == 2);
  CHECK(cache_key("gpt-4o", ask("q1")) != cache_key("gpt-4.1", ask("q1")));
  CHECK(cache_key("gpt-4o", ask("q1")).size() == 64);
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path() / "cache")) {
    CHECK(e.path().extension() == ".json");  // no temporary files left behind
    ++files;
  }
  CHECK(files == 2);
}

TEST_CASE("replay mode answers only from the cache; a miss names the key and the directory", "[llm][cache]") {
  TempDir dir;
  Counting recorder;
  REQUIRE(Cached<Counting>(recorder, CacheMode::record, dir.path(), "gpt-4o").complete(ask("known")));
  Counting offline;
  Cached<Counting> model(offline, CacheMode::replay, dir.path(), "gpt-4o");
  auto hit = model.complete(ask("known"));
  REQUIRE(hit);
  CHECK(hit->text == "answer to known");
  auto miss = model.complete(ask("new question"));
  REQUIRE_FALSE(miss);
  CHECK(*offline.calls == 0);
  const std::string key = cache_key("gpt-4o", ask("new question"));
  CHECK(miss.error().what == "llm cache: no recorded answer for key " + key + " (model gpt-4o) in " + dir.path().string());
  CHECK(miss.error().fix.find("llm.cache=record") != std::string::npos);

  SECTION("a damaged entry is an error naming the file and the fix") {
    std::ofstream(model.entry_path(cache_key("gpt-4o", ask("known")))) << "{\"response\": ";
    auto bad = model.complete(ask("known"));
    REQUIRE_FALSE(bad);
    CHECK(bad.error().what.find("not valid JSON") != std::string::npos);
    CHECK(bad.error().fix.starts_with("delete "));
  }
  SECTION("off passes through") {
    Counting live;
    REQUIRE(Cached<Counting>(live, CacheMode::off, dir.path(), "gpt-4o").complete(ask("known")));
    CHECK(*live.calls == 1);
  }
}

TEST_CASE("llm.cache values are parsed with a clear error", "[llm][cache]") {
  CHECK(parse_cache_mode("record") == CacheMode::record);
  CHECK(parse_cache_mode("replay") == CacheMode::replay);
  CHECK(parse_cache_mode("off") == CacheMode::off);
  auto bad = parse_cache_mode("on");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().what == "llm.cache: unknown value \"on\"");
}
