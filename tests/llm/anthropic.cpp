// Tests for include/speedrunner/llm/anthropic.hpp against a local server that
// speaks the Messages API: headers, body, streamed events with thinking blocks.
#include <speedrunner/llm/anthropic.hpp>
#include <speedrunner/llm/retry.hpp>

#include <boost/json.hpp>

#include <atomic>

#include "catch.hpp"
#include "support.hpp"
#include "test_server.hpp"

using namespace speedrunner::llm;
using speedrunner::testing::TempDir;
using speedrunner::testing::TestServer;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

const std::string secret = "sk-ant-api03-SECRETSECRET";

ModelConfig config_for(const TestServer& server) {
  ModelConfig c;
  c.provider = Provider::anthropic;
  c.name = "claude-sonnet-4-20250514";
  c.base_url = server.url();
  c.api_key_env = "ANTHROPIC_API_KEY";
  c.timeouts = {2.0, 2.0, 10.0};
  c.price = {3.0, 15.0, 0.30};
  c.label = "claude_sonnet_4";
  return c;
}

Request question() {
  Request r;
  r.system = "You improve training code.";
  r.messages = {{Role::user, "Suggest a change."}, {Role::assistant, "Which file?"}, {Role::user, "train_gpt2.cu"}};
  r.params.temperature = 0.7;
  return r;
}

std::string event(const std::string& name, const std::string& data) { return "event: " + name + "\ndata: " + data + "\n\n"; }

std::vector<std::string> thinking_stream() {
  return {
      event("message_start",
            R"({"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-20250514","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":120,"cache_creation_input_tokens":0,"cache_read_input_tokens":30,"output_tokens":1}}})"),
      event("content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}})"),
      event("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"The kernel is memory bound, so"}})"),
      event("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM"}})"),
      event("content_block_stop", R"({"type":"content_block_stop","index":0})"),
      event("content_block_start", R"({"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}})"),
      event("ping", R"({"type": "ping"})"),
      event("content_block_delta", R"({"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Fuse the "}})"),
      event("content_block_delta", R"({"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"layernorm."}})"),
      event("content_block_stop", R"({"type":"content_block_stop","index":1})"),
      event("message_delta", R"({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":85}})"),
      event("message_stop", R"({"type":"message_stop"})")};
}

}  // namespace

TEST_CASE("Anthropic streaming keeps thinking out of the answer and checks headers and body",
          "[llm][anthropic][stream]") {
  STATIC_REQUIRE(LanguageModel<AnthropicMessages>);
  TestServer server;
  server.server().Post("/v1/messages", [](const httplib::Request&, httplib::Response& res) {
    speedrunner::testing::stream_sse(res, thinking_stream());
  });
  server.start();
  ModelConfig cfg = config_for(server);
  cfg.reasoning = true;
  cfg.params.reasoning_effort = "low";
  auto r = AnthropicMessages(cfg, secret).complete(question());
  REQUIRE(r);
  CHECK(r->text == "Fuse the layernorm.");
  CHECK(r->model == "claude-sonnet-4-20250514");
  CHECK(r->finish == FinishReason::stop);
  CHECK(r->usage == Usage{150, 85, 30});
  CHECK(r->cost_usd == Approx((120 * 3.0 + 30 * 0.30 + 85 * 15.0) / 1e6));

  auto got = server.last();
  CHECK(got.path == "/v1/messages");
  CHECK(got.header("x-api-key") == secret);
  CHECK(got.header("anthropic-version") == "2023-06-01");
  CHECK(got.header("Authorization").empty());
  auto body = json::parse(got.body).as_object();
  CHECK(body.at("model").as_string() == "claude-sonnet-4-20250514");
  CHECK(body.at("system").as_string() == "You improve training code.");
  auto msgs = body.at("messages").as_array();
  REQUIRE(msgs.size() == 3);
  CHECK(msgs[1].at("role").as_string() == "assistant");
  CHECK(body.at("thinking").at("type").as_string() == "enabled");
  CHECK(body.at("thinking").at("budget_tokens").as_int64() == 2048);
  CHECK(body.at("max_tokens").as_int64() > 2048);
  CHECK_FALSE(body.contains("temperature"));  // refused with thinking on
  CHECK(body.at("stream").as_bool());
}

TEST_CASE("Anthropic without streaming over HTTPS reads text blocks only", "[llm][anthropic]") {
  TempDir dir;
  auto tls = speedrunner::testing::make_self_signed(dir.path());
  TestServer server(&tls);
  server.server().Post("/v1/messages", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"id":"msg_02","type":"message","role":"assistant","model":"claude-opus-4-20250514",
      "content":[{"type":"thinking","thinking":"secret plan","signature":"abc"},{"type":"text","text":"Answer."}],
      "stop_reason":"max_tokens","stop_sequence":null,
      "usage":{"input_tokens":10,"cache_creation_input_tokens":5,"cache_read_input_tokens":0,"output_tokens":4}})",
                    "application/json");
  });
  server.start();
  ModelConfig cfg = config_for(server);
  cfg.stream = false;
  cfg.ca_cert_path = tls.cert.string();
  cfg.params.max_tokens = 1000;
  auto r = AnthropicMessages(cfg, secret).complete(question());
  REQUIRE(r);
  CHECK(r->text == "Answer.");
  CHECK(r->finish == FinishReason::length);
  CHECK(r->usage == Usage{15, 4, 0, 5, 0});  // the 5 cache-write tokens are counted apart
  auto body = json::parse(server.last().body).as_object();
  CHECK(body.at("max_tokens").as_int64() == 1000);
  CHECK(body.at("temperature").as_double() == 0.7);
  CHECK_FALSE(body.contains("stream"));
  CHECK_FALSE(body.contains("thinking"));
}

TEST_CASE("Anthropic 401 names ANTHROPIC_API_KEY; overload is retried", "[llm][anthropic][fault]") {
  TestServer server;
  std::atomic<int> calls{0};
  int mode = 0;
  server.server().Post("/v1/messages", [&](const httplib::Request&, httplib::Response& res) {
    int n = calls++;
    if (mode == 0) {
      res.status = 401;
      res.set_content(R"({"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}})",
                      "application/json");
    } else if (n == 0) {
      res.status = 529;
      res.set_content(R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})", "application/json");
    } else if (n == 1) {  // overloaded mid-stream, after the message started
      auto events = thinking_stream();
      events.resize(2);
      events.push_back(event("error", R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"));
      speedrunner::testing::stream_sse(res, events);
    } else {
      speedrunner::testing::stream_sse(res, thinking_stream());
    }
  });
  server.start();
  auto cfg = config_for(server);
  auto bad = AnthropicMessages(cfg, secret).complete(question());
  REQUIRE_FALSE(bad);
  CHECK(bad.error().what.starts_with("ANTHROPIC_API_KEY was rejected (401) by Anthropic"));
  CHECK(bad.error().what.find("invalid x-api-key") != std::string::npos);
  CHECK_FALSE(bad.error().retryable);
  CHECK(bad.error().message().find(secret) == std::string::npos);

  mode = 1;
  calls = 0;
  auto r = Retrying<AnthropicMessages>(AnthropicMessages(cfg, secret), ExponentialBackoff{4, 5ms, 10ms, 1000ms, 3})
               .complete(question());
  REQUIRE(r);
  CHECK(r->text == "Fuse the layernorm.");
  CHECK(calls == 3);
}

TEST_CASE("Anthropic context overflow is a context-length error; thinking must leave room", "[llm][anthropic]") {
  TestServer server;
  server.server().Post("/v1/messages", [&](const httplib::Request&, httplib::Response& res) {
    res.status = 400;
    res.set_content(R"({"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 212345 tokens > 200000 maximum"}})",
                    "application/json");
  });
  server.start();
  auto cfg = config_for(server);
  auto r = AnthropicMessages(cfg, secret).complete(question());
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == "context_length");
  CHECK(r.error().what.find("prompt is too long: 212345 tokens") != std::string::npos);

  cfg.reasoning = true;
  cfg.params.reasoning_effort = "high";
  cfg.params.max_tokens = 4000;
  auto tight = AnthropicMessages(cfg, secret).complete(question());
  REQUIRE_FALSE(tight);
  CHECK(tight.error().what.find("leaves nothing after the thinking budget of 16384 tokens") != std::string::npos);
}

// ---- real traffic (issue 27): prompt-cache writes and reads priced apart.

TEST_CASE("Anthropic cache writes cost the cache-write price, cache reads theirs", "[llm][anthropic][replies]") {
  TestServer server;
  int calls = 0;
  server.server().Post("/v1/messages", [&](const httplib::Request&, httplib::Response& res) {
    res.set_header("request-id", "req_011CWrite");
    res.set_header("anthropic-organization-id", "0f5c-test");
    const int n = calls++;
    if (n == 0) {  // the first call writes the cached prefix (five minutes)
      res.set_content(R"({"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-20250514",
        "content":[{"type":"text","text":"Cache the system prompt."}],"stop_reason":"end_turn","stop_sequence":null,
        "usage":{"input_tokens":50,"cache_creation_input_tokens":2000,"cache_read_input_tokens":0,
                 "cache_creation":{"ephemeral_5m_input_tokens":2000,"ephemeral_1h_input_tokens":0},
                 "output_tokens":300,"service_tier":"standard"}})",
                      "application/json");
    } else if (n == 1) {  // the next one reads it
      res.set_content(R"({"id":"msg_02","type":"message","role":"assistant","model":"claude-sonnet-4-20250514",
        "content":[{"type":"text","text":"Read from cache."}],"stop_reason":"end_turn","stop_sequence":null,
        "usage":{"input_tokens":60,"cache_creation_input_tokens":0,"cache_read_input_tokens":2000,
                 "cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0},
                 "output_tokens":250,"service_tier":"standard"}})",
                      "application/json");
    } else {  // streamed, writing part for five minutes and part for an hour
      speedrunner::testing::stream_sse(
          res,
          {event("message_start",
                 R"({"type":"message_start","message":{"id":"msg_03","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-20250514","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":10,"cache_creation_input_tokens":1500,"cache_read_input_tokens":400,"cache_creation":{"ephemeral_5m_input_tokens":1000,"ephemeral_1h_input_tokens":500},"output_tokens":1,"service_tier":"standard"}}})"),
           event("content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"),
           event("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Both."}})"),
           event("content_block_stop", R"({"type":"content_block_stop","index":0})"),
           event("message_delta", R"({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":40}})"),
           event("message_stop", R"({"type":"message_stop"})")});
    }
  });
  server.start();
  auto cfg = config_for(server);
  cfg.stream = false;
  cfg.price = {3.0, 15.0, 0.30, std::nullopt, std::nullopt};  // writes default to 1.25x and 2x input

  auto write = AnthropicMessages(cfg, secret).complete(question());
  REQUIRE(write);
  CHECK(write->usage.input_tokens == 2050);
  CHECK(write->usage.cache_write_tokens == 2000);
  CHECK(write->usage.cached_tokens == 0);
  CHECK(write->cost_usd == Approx((50 * 3.0 + 2000 * 3.75 + 300 * 15.0) / 1e6));

  auto read = AnthropicMessages(cfg, secret).complete(question());
  REQUIRE(read);
  CHECK(read->usage.cached_tokens == 2000);
  CHECK(read->usage.cache_write_tokens == 0);
  CHECK(read->cost_usd == Approx((60 * 3.0 + 2000 * 0.30 + 250 * 15.0) / 1e6));

  // The config's own prices win (here a made-up table, to tell them from the defaults).
  cfg.stream = true;
  cfg.price = {3.0, 15.0, 0.30, 4.0, 7.0};
  auto both = AnthropicMessages(cfg, secret).complete(question());
  REQUIRE(both);
  CHECK(both->text == "Both.");
  CHECK(both->usage == Usage{1910, 40, 400, 1500, 500});
  CHECK(both->cost_usd == Approx((10 * 3.0 + 400 * 0.30 + 1000 * 4.0 + 500 * 7.0 + 40 * 15.0) / 1e6));
}

TEST_CASE("model configs read cache-write prices, and refuse negative ones", "[llm][anthropic][config]") {
  auto good = model_config_from_json(json::parse(
      R"({"provider":"anthropic","name":"claude-sonnet-4-20250514","price":{"input":3,"output":15,"cached":0.3,"cache_write":3.75,"cache_write_1h":6}})"));
  REQUIRE(good);
  CHECK(good->price.cache_write == 3.75);
  CHECK(good->price.cache_write_1h == 6.0);
  auto bad = model_config_from_json(json::parse(
      R"({"provider":"anthropic","name":"claude-sonnet-4-20250514","price":{"input":3,"output":15,"cache_write":-1}})"));
  REQUIRE_FALSE(bad);
  CHECK(bad.error().what.find("prices must not be negative") != std::string::npos);
}
