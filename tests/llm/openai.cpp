// Tests for include/speedrunner/llm/openai.hpp against a local server speaking
// the Chat Completions wire format (OpenAI, Azure, vLLM), over HTTP and HTTPS.
#include <speedrunner/llm/openai.hpp>

#include <boost/json.hpp>

#include "catch.hpp"
#include "support.hpp"
#include "test_server.hpp"

using namespace speedrunner::llm;
using speedrunner::testing::TempDir;
using speedrunner::testing::TestServer;
namespace json = boost::json;

namespace {

const std::string secret = "sk-test-0123456789abcdef";

ModelConfig config_for(const TestServer& server, std::string name = "gpt-4o") {
  ModelConfig c;
  c.provider = Provider::openai;
  c.name = std::move(name);
  c.base_url = server.url("/v1");
  c.api_key_env = "OPENAI_API_KEY";
  c.timeouts = {2.0, 2.0, 10.0};
  c.price = {2.5, 10.0, 1.25};
  c.label = "gpt_4o";
  return c;
}

Request question() {
  Request r;
  r.system = "You are a careful ML engineer.";
  r.messages = {{Role::user, "Propose one change."}};
  r.params.temperature = 0.2;
  r.params.max_tokens = 512;
  return r;
}

const char* completion_body = R"({
  "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-2024-08-06",
  "choices": [{"index": 0, "message": {"role": "assistant", "content": "Use a larger learning rate."},
               "finish_reason": "stop"}],
  "usage": {"prompt_tokens": 1000, "completion_tokens": 200, "total_tokens": 1200,
            "prompt_tokens_details": {"cached_tokens": 400}}})";

}  // namespace

TEST_CASE("OpenAI chat completions over HTTPS with a self-signed certificate", "[llm][openai]") {
  STATIC_REQUIRE(LanguageModel<OpenAIChat>);
  TempDir dir;
  auto tls = speedrunner::testing::make_self_signed(dir.path());
  TestServer server(&tls);
  server.server().Post("/v1/chat/completions", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(completion_body, "application/json");
  });
  server.start();
  ModelConfig cfg = config_for(server);
  cfg.stream = false;
  cfg.ca_cert_path = tls.cert.string();
  OpenAIChat model(cfg, secret);
  auto r = model.complete(question());
  REQUIRE(r);
  CHECK(r->text == "Use a larger learning rate.");
  CHECK(r->model == "gpt-4o-2024-08-06");
  CHECK(r->finish == FinishReason::stop);
  CHECK(r->usage == Usage{1000, 200, 400});
  // 600 fresh input at $2.50/M, 400 cached at $1.25/M, 200 output at $10/M
  CHECK(r->cost_usd == Approx((600 * 2.5 + 400 * 1.25 + 200 * 10.0) / 1e6));

  auto got = server.last();
  CHECK(got.path == "/v1/chat/completions");
  CHECK(got.header("Authorization") == "Bearer " + secret);
  CHECK(got.header("Content-Type") == "application/json");
  auto body = json::parse(got.body).as_object();
  CHECK(body.at("model").as_string() == "gpt-4o");
  CHECK(body.at("messages").as_array().size() == 2);
  CHECK(body.at("messages").as_array()[0].at("role").as_string() == "system");
  CHECK(body.at("messages").as_array()[0].at("content").as_string() == "You are a careful ML engineer.");
  CHECK(body.at("messages").as_array()[1].at("role").as_string() == "user");
  CHECK(body.at("max_tokens").as_int64() == 512);
  CHECK(body.at("temperature").as_double() == 0.2);
  CHECK_FALSE(body.contains("stream"));

  SECTION("without the certificate the server is not trusted, and the error names the fix") {
    ModelConfig untrusted = cfg;
    untrusted.ca_cert_path.clear();
    auto bad = OpenAIChat(untrusted, secret).complete(question());
    REQUIRE_FALSE(bad);
    CHECK(bad.error().what.find("is not trusted") != std::string::npos);
    CHECK(bad.error().fix.find("ca_cert_path") != std::string::npos);
    CHECK_FALSE(bad.error().retryable);
  }
}

TEST_CASE("OpenAI streaming parses chunks split anywhere, comments, CRLF and usage in the last chunk",
          "[llm][openai][stream]") {
  // The stream as the API sends it, then cut into awkward pieces.
  std::string sse =
      ": keep-alive\r\n\r\n"
      "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,"
      "\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}],\"usage\":null}\r\n\r\n"
      "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,"
      "\"delta\":{\"content\":\"Halve the \"},\"finish_reason\":null}],\"usage\":null}\r\n\r\n"
      "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,"
      "\"delta\":{\"content\":\"warmup.\\n\"},\"finish_reason\":null}],\"usage\":null}\n\n"
      "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,"
      "\"delta\":{},\"finish_reason\":\"length\"}],\"usage\":null}\n\n"
      "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[],"
      "\"usage\":{\"prompt_tokens\":50,\"completion_tokens\":7,\"total_tokens\":57}}\n\n"
      "data: [DONE]\n\n";
  std::vector<std::string> pieces;
  for (std::size_t i = 0; i < sse.size(); i += 37) pieces.push_back(sse.substr(i, 37));
  TestServer server;
  server.server().Post("/v1/chat/completions", [&](const httplib::Request&, httplib::Response& res) {
    speedrunner::testing::stream_sse(res, pieces);
  });
  server.start();
  OpenAIChat model(config_for(server), secret);
  auto r = model.complete(question());
  REQUIRE(r);
  CHECK(r->text == "Halve the warmup.\n");
  CHECK(r->finish == FinishReason::length);
  CHECK(r->usage == Usage{50, 7, 0});
  CHECK(r->cost_usd == Approx((50 * 2.5 + 7 * 10.0) / 1e6));
  auto body = json::parse(server.last().body).as_object();
  CHECK(body.at("stream").as_bool());
  CHECK(body.at("stream_options").at("include_usage").as_bool());
}

TEST_CASE("reasoning models get max_completion_tokens and reasoning_effort, never a temperature", "[llm][openai]") {
  TestServer server;
  server.server().Post("/v1/chat/completions", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(completion_body, "application/json");
  });
  server.start();
  ModelConfig cfg = config_for(server, "o3-mini");
  cfg.stream = false;
  cfg.reasoning = true;
  cfg.system_role = SystemRole::developer;
  cfg.params.reasoning_effort = "high";
  OpenAIChat model(cfg, secret);
  REQUIRE(model.complete(question()));
  auto body = json::parse(server.last().body).as_object();
  CHECK(body.at("max_completion_tokens").as_int64() == 512);
  CHECK(body.at("reasoning_effort").as_string() == "high");
  CHECK_FALSE(body.contains("temperature"));
  CHECK_FALSE(body.contains("max_tokens"));
  CHECK(body.at("messages").as_array()[0].at("role").as_string() == "developer");

  SECTION("a request's own effort wins over the config's") {
    Request q = question();
    q.params.reasoning_effort = "low";
    REQUIRE(model.complete(q));
    CHECK(json::parse(server.last().body).at("reasoning_effort").as_string() == "low");
  }
  SECTION("models without a system role get the system prompt in the first user turn") {
    ModelConfig o1 = cfg;
    o1.system_role = SystemRole::user;
    REQUIRE(OpenAIChat(o1, secret).complete(question()));
    auto msgs = json::parse(server.last().body).at("messages").as_array();
    REQUIRE(msgs.size() == 1);
    CHECK(msgs[0].at("role").as_string() == "user");
    CHECK(msgs[0].at("content").as_string() == "You are a careful ML engineer.\n\nPropose one change.");
  }
}

TEST_CASE("Azure OpenAI deployments use api-key and api-version", "[llm][openai][azure]") {
  TestServer server;
  server.server().Post("/openai/deployments/gpt4o-prod/chat/completions",
                       [](const httplib::Request&, httplib::Response& res) {
                         res.set_content(completion_body, "application/json");
                       });
  server.start();
  ModelConfig cfg = config_for(server, "gpt4o-prod");
  cfg.provider = Provider::azure;
  cfg.base_url = server.url();
  cfg.api_version = "2024-10-21";
  cfg.api_key_env = "AZURE_OPENAI_API_KEY";
  cfg.stream = false;
  auto r = OpenAIChat(cfg, secret).complete(question());
  REQUIRE(r);
  auto got = server.last();
  CHECK(got.path == "/openai/deployments/gpt4o-prod/chat/completions");
  CHECK(got.header("api-key") == secret);
  CHECK(got.header("Authorization").empty());
  auto rec = server.received();
  REQUIRE(rec.size() == 1);
}

TEST_CASE("a raw-served R1 answer loses its <think> block; the local server needs no key", "[llm][openai][think]") {
  TestServer server;
  server.server().Post("/v1/chat/completions", [](const httplib::Request&, httplib::Response& res) {
    speedrunner::testing::stream_sse(res, {
        "data: {\"model\":\"deepseek-ai/DeepSeek-R1-Distill-Qwen-32B\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"<think>\\nThe loss \"},\"finish_reason\":null}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"plateaus...</think>\\n\\nUse\"},\"finish_reason\":null}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" Muon.\"},\"finish_reason\":\"stop\"}]}\n\n",
        "data: [DONE]\n\n"});
  });
  server.start();
  ModelConfig cfg = config_for(server, "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B");
  cfg.api_key_env.clear();
  cfg.strip_think = true;
  cfg.price = {};
  auto r = OpenAIChat(cfg, "").complete(question());
  REQUIRE(r);
  CHECK(r->text == "Use Muon.");
  CHECK(r->cost_usd == 0.0);
  CHECK(server.last().header("Authorization").empty());
}
