// Tests for include/speedrunner/llm/gemini.hpp against a local server that
// speaks generateContent and streamGenerateContent?alt=sse.
#include <speedrunner/llm/gemini.hpp>
#include <speedrunner/llm/retry.hpp>

#include <boost/json.hpp>

#include "catch.hpp"
#include "support.hpp"
#include "test_server.hpp"

using namespace speedrunner::llm;
using speedrunner::testing::TempDir;
using speedrunner::testing::TestServer;
namespace json = boost::json;

namespace {

const std::string secret = "AIzaSyTEST-SECRET-123";

ModelConfig config_for(const TestServer& server, std::string name) {
  ModelConfig c;
  c.provider = Provider::gemini;
  c.name = std::move(name);
  c.base_url = server.url("/v1beta");
  c.api_key_env = "GEMINI_API_KEY";
  c.timeouts = {2.0, 2.0, 10.0};
  c.price = {1.25, 10.0, 0.31};
  c.label = "gemini_2_5_pro";
  return c;
}

Request question() {
  Request r;
  r.system = "Be brief.";
  r.messages = {{Role::user, "Idea?"}, {Role::assistant, "Muon."}, {Role::user, "Why?"}};
  r.params.temperature = 1.0;
  r.params.max_tokens = 2048;
  r.params.reasoning_effort = "low";
  return r;
}

}  // namespace

TEST_CASE("Gemini streaming calls exactly the configured model and skips thought parts", "[llm][gemini][stream]") {
  STATIC_REQUIRE(LanguageModel<GeminiGenerate>);
  TestServer server;
  server.server().Post(R"(/v1beta/models/([^/]+))", [](const httplib::Request&, httplib::Response& res) {
    speedrunner::testing::stream_sse(res, {
        "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"**Weighing optimisers**\",\"thought\": true}],\"role\": \"model\"},\"index\": 0}],"
        "\"usageMetadata\": {\"promptTokenCount\": 100,\"totalTokenCount\": 100},\"modelVersion\": \"gemini-2.5-pro\"}\r\n\r\n",
        "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Orthogonalised \"}],\"role\": \"model\"},\"index\": 0}],"
        "\"usageMetadata\": {\"promptTokenCount\": 100,\"candidatesTokenCount\": 2,\"totalTokenCount\": 352,\"thoughtsTokenCount\": 250},"
        "\"modelVersion\": \"gemini-2.5-pro\"}\r\n\r\n",
        "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"updates.\"}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],"
        "\"usageMetadata\": {\"promptTokenCount\": 100,\"candidatesTokenCount\": 4,\"totalTokenCount\": 354,\"cachedContentTokenCount\": 40,"
        "\"thoughtsTokenCount\": 250},\"modelVersion\": \"gemini-2.5-pro\"}\r\n\r\n"});
  });
  server.start();
  auto r = GeminiGenerate(config_for(server, "gemini-2.5-pro"), secret).complete(question());
  REQUIRE(r);
  CHECK(r->text == "Orthogonalised updates.");
  CHECK(r->model == "gemini-2.5-pro");
  CHECK(r->usage == Usage{100, 254, 40});
  CHECK(r->cost_usd == Approx((60 * 1.25 + 40 * 0.31 + 254 * 10.0) / 1e6));

  auto got = server.last();
  CHECK(got.path == "/v1beta/models/gemini-2.5-pro:streamGenerateContent");
  CHECK(got.query_alt == "sse");
  CHECK(got.header("x-goog-api-key") == secret);
  auto body = json::parse(got.body).as_object();
  CHECK(body.at("systemInstruction").at("parts").as_array()[0].at("text").as_string() == "Be brief.");
  auto contents = body.at("contents").as_array();
  REQUIRE(contents.size() == 3);
  CHECK(contents[1].at("role").as_string() == "model");
  CHECK(contents[2].at("parts").as_array()[0].at("text").as_string() == "Why?");
  auto gen = body.at("generationConfig").as_object();
  CHECK(gen.at("maxOutputTokens").as_int64() == 2048);
  CHECK(gen.at("temperature").as_double() == 1.0);
  CHECK(gen.at("thinkingConfig").at("thinkingBudget").as_int64() == 1024);
}

TEST_CASE("Gemini generateContent over HTTPS, and its errors", "[llm][gemini]") {
  TempDir dir;
  auto tls = speedrunner::testing::make_self_signed(dir.path());
  TestServer server(&tls);
  server.server().Post(R"(/v1beta/models/([^/]+))", [](const httplib::Request& req, httplib::Response& res) {
    if (req.path.find("gemini-2.5-flash:generateContent") != std::string::npos) {
      res.set_content(R"({"candidates":[{"content":{"parts":[{"text":"Short answer."}],"role":"model"},
        "finishReason":"MAX_TOKENS","index":0}],"usageMetadata":{"promptTokenCount":20,"candidatesTokenCount":3,
        "totalTokenCount":23},"modelVersion":"gemini-2.5-flash"})",
                      "application/json");
    } else if (req.path.find("gemini-2.5-pro:") != std::string::npos) {
      res.status = 400;
      res.set_content(R"({"error":{"code":400,"message":"The input token count (1300000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}})",
                      "application/json");
    } else {
      res.status = 404;
      res.set_content(R"({"error":{"code":404,"message":"models/gemini-1.0-ultra is not found for API version v1beta","status":"NOT_FOUND"}})",
                      "application/json");
    }
  });
  server.start();
  auto cfg = config_for(server, "gemini-2.5-flash");
  cfg.stream = false;
  cfg.ca_cert_path = tls.cert.string();
  auto r = GeminiGenerate(cfg, secret).complete(question());
  REQUIRE(r);
  CHECK(r->text == "Short answer.");
  CHECK(r->finish == FinishReason::length);
  CHECK(server.last().path == "/v1beta/models/gemini-2.5-flash:generateContent");

  cfg.name = "gemini-2.5-pro";
  auto long_prompt = GeminiGenerate(cfg, secret).complete(question());
  REQUIRE_FALSE(long_prompt);
  CHECK(long_prompt.error().kind == "context_length");

  cfg.name = "gemini-1.0-ultra";
  auto missing = GeminiGenerate(cfg, secret).complete(question());
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == "not_found");
  CHECK(missing.error().what.find("\"gemini-1.0-ultra\" (404)") != std::string::npos);
  CHECK(missing.error().fix.find("config/model/gemini_2_5_pro.json") != std::string::npos);
}

// ---- real traffic (issue 27): a 429 whose body carries google.rpc.RetryInfo,
// and the 400 Gemini answers for a bad key, replayed as the API sends them.

TEST_CASE("Gemini's RetryInfo.retryDelay is waited like Retry-After", "[llm][gemini][replies]") {
  TestServer server;
  int calls = 0;
  server.server().Post(R"(/v1beta/models/([^/]+))", [&](const httplib::Request&, httplib::Response& res) {
    if (calls++ == 0) {
      res.status = 429;
      res.set_header("x-gemini-service-tier", "free");
      res.set_content(R"({
  "error": {
    "code": 429,
    "message": "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
    "status": "RESOURCE_EXHAUSTED",
    "details": [
      {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
       "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                       "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                       "quotaDimensions": {"location": "global", "model": "gemini-2.5-pro"}, "quotaValue": "5"}]},
      {"@type": "type.googleapis.com/google.rpc.Help",
       "links": [{"description": "Learn more about Gemini API quotas", "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
      {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "34s"}
    ]
  }
})",
                      "application/json; charset=UTF-8");
      return;
    }
    speedrunner::testing::stream_sse(
        res, {R"(data: {"candidates": [{"content": {"parts": [{"text": "Try Muon."}],"role": "model"},"finishReason": "STOP","index": 0}],"usageMetadata": {"promptTokenCount": 40,"candidatesTokenCount": 4,"totalTokenCount": 44},"modelVersion": "gemini-2.5-pro"})"
              "\r\n\r\n"});
  });
  server.start();
  std::vector<std::chrono::milliseconds> waits;
  auto r = Retrying<GeminiGenerate>(GeminiGenerate(config_for(server, "gemini-2.5-pro"), secret), ExponentialBackoff{},
                                    [&](std::chrono::milliseconds d) { waits.push_back(d); })
               .complete(question());
  REQUIRE(r);
  CHECK(r->text == "Try Muon.");
  CHECK(calls == 2);
  CHECK(waits == std::vector<std::chrono::milliseconds>{std::chrono::milliseconds(34000)});
}

TEST_CASE("Gemini's 400 API_KEY_INVALID is an authentication error naming the key's variable",
          "[llm][gemini][replies]") {
  TestServer server;
  server.server().Post(R"(/v1beta/models/([^/]+))", [](const httplib::Request&, httplib::Response& res) {
    res.status = 400;
    res.set_content(R"({
  "error": {
    "code": 400,
    "message": "API key not valid. Please pass a valid API key.",
    "status": "INVALID_ARGUMENT",
    "details": [
      {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com",
       "metadata": {"service": "generativelanguage.googleapis.com"}},
      {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US",
       "message": "API key not valid. Please pass a valid API key."}
    ]
  }
})",
                    "application/json; charset=UTF-8");
  });
  server.start();
  int calls_before = static_cast<int>(server.count());
  auto r = Retrying<GeminiGenerate>(GeminiGenerate(config_for(server, "gemini-2.5-pro"), secret)).complete(question());
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == "auth");
  CHECK(r.error().code == speedrunner::ExitCode::usage);
  CHECK(r.error().what.starts_with("GEMINI_API_KEY was rejected (400 API_KEY_INVALID) by Gemini"));
  CHECK(r.error().what.find("API key not valid") != std::string::npos);
  CHECK(r.error().fix.find("check that GEMINI_API_KEY holds a valid Gemini API key") != std::string::npos);
  CHECK_FALSE(r.error().retryable);
  CHECK(static_cast<int>(server.count()) == calls_before + 1);
}
