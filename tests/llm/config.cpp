// Tests for include/speedrunner/llm/config.hpp and the shipped config/model/*.json.
#include <speedrunner/llm/config.hpp>

#include <boost/json.hpp>

#include <set>

#include "catch.hpp"
#include "support.hpp"

using namespace speedrunner::llm;
namespace json = boost::json;

namespace {
speedrunner::Result<ModelConfig> bind(const char* text) { return model_config_from_json(json::parse(text)); }
}  // namespace

TEST_CASE("every shipped model config loads, names its model exactly and prices it", "[llm][config]") {
  auto dir = speedrunner::testing::source_root() / "config" / "model";
  std::set<std::string> found;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    auto c = load_model_config(entry.path());
    INFO(entry.path().string());
    REQUIRE(c);
    found.insert(c->label);
    CHECK_FALSE(c->name.empty());
    if (c->provider != Provider::replay) CHECK(c->base_url.starts_with("http"));
    bool local = c->base_url.starts_with("http://127.0.0.1") || c->provider == Provider::replay;
    if (!local) {
      CHECK(c->price.input > 0);
      CHECK(c->price.output > c->price.input);
      CHECK_FALSE(c->api_key_env.empty());
    }
  }
  for (const char* name : {"o3_mini", "o1_preview", "gpt_4o", "gpt_4_1", "o4_mini", "claude_3_7_sonnet", "claude_sonnet_4",
                           "claude_opus_4", "gemini_2_5_pro", "gemini_2_5_flash", "deepseek_r1", "deepseek_chat", "r1_32b",
                           "local", "replay"})
    CHECK(found.count(name) == 1);
  auto pro = load_model_config(dir / "gemini_2_5_pro.json");
  REQUIRE(pro);
  CHECK(pro->name == "gemini-2.5-pro");
  CHECK(pro->provider == Provider::gemini);
  auto o3 = load_model_config(dir / "o3_mini.json");
  REQUIRE(o3);
  CHECK(o3->reasoning);
  CHECK(o3->system_role == SystemRole::developer);
  CHECK(o3->params.reasoning_effort == "high");
  CHECK_FALSE(o3->params.temperature);
  CHECK(load_model_config(dir / "r1_32b.json")->strip_think);
}

TEST_CASE("model config errors name the key path, the value and the fix", "[llm][config]") {
  CHECK(bind(R"({"provider": "openai"})").error().what == "model.name: missing");
  CHECK(bind(R"({"name": "x"})").error().what == "model.provider: missing");
  auto prov = bind(R"({"provider": "openia", "name": "x"})");
  CHECK(prov.error().what == "model.provider: unknown value \"openia\"");
  CHECK(prov.error().fix == "use one of: openai, azure, anthropic, gemini, replay");
  CHECK(bind(R"({"provider": "openai", "name": "x", "params": {"temperature": "hot"}})").error().what ==
        "model.params.temperature: expected a number, got \"hot\"");
  CHECK(bind(R"({"provider": "openai", "name": "x", "params": {"temperature": 3}})").error().what ==
        "model.params.temperature: expected a number in [0, 2], got 3");
  CHECK(bind(R"({"provider": "openai", "name": "x", "params": {"tempreature": 1}})").error().what ==
        "model.params.tempreature: unknown key");
  CHECK(bind(R"({"provider": "openai", "name": "x", "params": {"reasoning_effort": "max"}})").error().what ==
        "model.params.reasoning_effort: unknown value \"max\"");
  CHECK(bind(R"({"provider": "openai", "name": "x", "timeouts": {"read_s": 0}})").error().what ==
        "model.timeouts.read_s: expected a positive number, got 0");
  CHECK(bind(R"({"provider": "openai", "name": "x", "base_url": "api.openai.com"})").error().what.find(
            "is not an http:// or https:// URL") != std::string::npos);
  CHECK(bind(R"({"provider": "azure", "name": "x", "base_url": "https://r.openai.azure.com"})").error().what ==
        "model.api_version: missing for an Azure deployment");
  CHECK(bind(R"({"provider": "replay"})").error().what == "model.transcript: missing for the replay provider");
  CHECK(bind(R"({"provider": "openai", "name": "x", "retry": {"max_attempts": 0}})").error().what ==
        "model.retry.max_attempts: expected an integer in [1, 100], got 0");
  auto good = bind(R"({"provider": "anthropic", "name": "claude-opus-4-20250514", "price": {"input": 15, "output": 75}})");
  REQUIRE(good);
  CHECK(good->base_url == "https://api.anthropic.com");
  CHECK(good->stream);
  CHECK_FALSE(good->price.cached);
}

TEST_CASE("a call's cost comes from the price table, cached input at its own price", "[llm][config]") {
  Price p{2.0, 8.0, 0.5};
  CHECK(cost_usd(Usage{1'000'000, 0, 0}, p) == Approx(2.0));
  CHECK(cost_usd(Usage{1'000'000, 500'000, 600'000}, p) == Approx(0.4 * 2.0 + 0.6 * 0.5 + 0.5 * 8.0));
  CHECK(cost_usd(Usage{1'000'000, 0, 1'000'000}, Price{2.0, 8.0, std::nullopt}) == Approx(2.0));
  CHECK(cost_usd(Usage{123, 456, 0}, Price{}) == 0.0);
}
