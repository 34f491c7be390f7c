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
  CHECK(r->usage == Usage{15, 4, 0});
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
