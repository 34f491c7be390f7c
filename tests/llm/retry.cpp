// Tests for include/speedrunner/llm/retry.hpp: the RetryPolicy concept, the
// default backoff, and Retrying<M> against a local server that fails the way
// real providers do (429 with Retry-After, 5xx, dropped streams, slow replies).
#include <speedrunner/llm/logged.hpp>
#include <speedrunner/llm/openai.hpp>
#include <speedrunner/llm/retry.hpp>

#include <atomic>
#include <fstream>
#include <sstream>

#include "catch.hpp"
#include "support.hpp"
#include "test_server.hpp"

using namespace speedrunner::llm;
using speedrunner::Error;
using speedrunner::Result;
using speedrunner::testing::TempDir;
using speedrunner::testing::TestServer;
using namespace std::chrono_literals;

namespace {

const std::string secret = "sk-live-SECRET-7f3a9c1e5b";

ModelConfig config_for(const TestServer& server) {
  ModelConfig c;
  c.provider = Provider::openai;
  c.name = "gpt-4.1";
  c.base_url = server.url("/v1");
  c.api_key_env = "OPENAI_API_KEY";
  c.timeouts = {1.0, 1.0, 5.0};
  c.label = "gpt_4_1";
  return c;
}

Request question() {
  Request r;
  r.agent = "coder";
  r.system = "system prompt";
  r.messages = {{Role::user, "Fix the bug."}};
  return r;
}

const char* ok_body =
    R"({"model":"gpt-4.1-2025-04-14","choices":[{"index":0,"message":{"role":"assistant","content":"fixed"},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":2}})";

std::vector<std::string> ok_stream() {
  return {"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"all \"},\"finish_reason\":null}]}\n\n",
          "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"good\"},\"finish_reason\":null}]}\n\n",
          "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
          "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":2}}\n\n", "data: [DONE]\n\n"};
}

// Fast backoff for tests; Retry-After still honoured as sent.
ExponentialBackoff quick(int attempts = 4) { return {attempts, 5ms, 20ms, 5000ms, 42}; }

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A scripted model: fails with the given errors, then answers.
struct Flaky {
  std::vector<Error> failures;
  std::shared_ptr<std::vector<int>> attempts = std::make_shared<std::vector<int>>();
  Result<Response> complete(const Request& r) {
    attempts->push_back(r.attempt);
    if (attempts->size() <= failures.size()) return std::unexpected(failures[attempts->size() - 1]);
    return Response{"done", {}, FinishReason::stop, 0ms, "flaky", 0.0, false};
  }
};

Error retryable(std::string kind, std::optional<std::chrono::milliseconds> after = std::nullopt) {
  Error e{"transient " + kind, "", speedrunner::ExitCode::failure};
  e.retryable = true;
  e.retry_after = after;
  e.kind = std::move(kind);
  return e;
}

struct NotAPolicy {
  int next_delay(int) { return 0; }
};

}  // namespace

TEST_CASE("retry policies are small types checked by a concept", "[llm][retry]") {
  STATIC_REQUIRE(RetryPolicy<ExponentialBackoff>);
  STATIC_REQUIRE(RetryPolicy<NoRetry>);
  STATIC_REQUIRE(RetryPolicy<FixedAttempts>);
  STATIC_REQUIRE_FALSE(RetryPolicy<NotAPolicy>);
  STATIC_REQUIRE(LanguageModel<Retrying<Flaky>>);
}

TEST_CASE("exponential backoff draws full jitter under a doubling ceiling and honours Retry-After", "[llm][retry]") {
  ExponentialBackoff p{10, 100ms, 1000ms, 2000ms, 7};
  Error e = retryable("http_503");
  for (int attempt = 1; attempt <= 9; ++attempt) {
    auto ceiling = std::min(1000ms, 100ms * (1 << (attempt - 1)));
    for (int i = 0; i < 50; ++i) {
      auto d = p.next_delay(attempt, e);
      REQUIRE(d);
      CHECK(*d >= 0ms);
      CHECK(*d <= ceiling);
    }
  }
  CHECK_FALSE(p.next_delay(10, e));  // attempts exhausted
  CHECK(p.next_delay(1, retryable("rate_limit", 1500ms)) == 1500ms);
  CHECK_FALSE(p.next_delay(1, retryable("rate_limit", 2500ms)));  // longer than max_retry_after
  Error auth{"OPENAI_API_KEY was rejected (401)", "", speedrunner::ExitCode::usage};
  CHECK_FALSE(p.next_delay(1, auth));  // not retryable
  // Jitter spreads: 50 draws are not all equal.
  std::set<long long> seen;
  for (int i = 0; i < 50; ++i) seen.insert(p.next_delay(5, e)->count());
  CHECK(seen.size() > 10);
}

TEST_CASE("Retrying numbers attempts, sleeps as the policy says and reports giving up", "[llm][retry]") {
  std::vector<std::chrono::milliseconds> slept;
  auto sleep = [&](std::chrono::milliseconds d) { slept.push_back(d); };
  Flaky flaky{{retryable("reset"), retryable("rate_limit", 250ms)}};
  auto attempts = flaky.attempts;
  Retrying<Flaky> model(flaky, ExponentialBackoff{5, 10ms, 10ms, 1000ms, 1}, sleep);
  auto r = model.complete(question());
  REQUIRE(r);
  CHECK(*attempts == std::vector<int>{1, 2, 3});
  REQUIRE(slept.size() == 2);
  CHECK(slept[0] <= 10ms);
  CHECK(slept[1] == 250ms);

  Flaky always{{retryable("a"), retryable("b"), retryable("c")}};
  auto gave_up = Retrying<Flaky>(always, ExponentialBackoff{3, 1ms, 1ms, 1ms, 1}, sleep).complete(question());
  REQUIRE_FALSE(gave_up);
  CHECK(gave_up.error().what == "transient c (gave up after 3 attempts)");

  Flaky validation{{Error{"not JSON", "", speedrunner::ExitCode::failure}}};
  CHECK(Retrying<Flaky, FixedAttempts>(validation, FixedAttempts{2}, sleep).complete(question()));
  Flaky once{{retryable("x")}};
  CHECK_FALSE(Retrying<Flaky, NoRetry>(once, {}, sleep).complete(question()));
}

TEST_CASE("429 with Retry-After waits about that long, then succeeds; every try is logged without the key",
          "[llm][retry][fault]") {
  TestServer server;
  std::atomic<int> calls{0};
  server.server().Post("/v1/chat/completions", [&](const httplib::Request&, httplib::Response& res) {
    if (calls++ == 0) {
      res.status = 429;
      res.set_header("Retry-After", "1");
      res.set_content(R"({"error":{"message":"Rate limit reached for gpt-4.1","type":"requests","code":"rate_limit_exceeded"}})",
                      "application/json");
      return;
    }
    speedrunner::testing::stream_sse(res, ok_stream());
  });
  server.start();
  TempDir logs;
  Retrying<Logged<OpenAIChat>> model(Logged<OpenAIChat>(OpenAIChat(config_for(server), secret), logs.path(), "gpt-4.1"),
                                     quick());
  auto t0 = std::chrono::steady_clock::now();
  auto r = model.complete(question());
  double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  REQUIRE(r);
  CHECK(r->text == "all good");
  CHECK(calls == 2);
  CHECK(waited >= 0.95);
  CHECK(waited < 2.5);
  std::string log = read_all(logs.path() / "llm_coder.jsonl");
  CHECK(log.find("\"attempt\":1") != std::string::npos);
  CHECK(log.find("\"error_kind\":\"rate_limit\"") != std::string::npos);
  CHECK(log.find("\"attempt\":2") != std::string::npos);
  CHECK(log.find("\"answer\":\"all good\"") != std::string::npos);
  CHECK(log.find(secret) == std::string::npos);
}

TEST_CASE("500 and 503 are retried until the server recovers", "[llm][retry][fault]") {
  TestServer server;
  std::atomic<int> calls{0};
  server.server().Post("/v1/chat/completions", [&](const httplib::Request&, httplib::Response& res) {
    int n = calls++;
    if (n < 2) {
      res.status = n == 0 ? 500 : 503;
      res.set_content(n == 0 ? R"({"error":{"message":"The server had an error","type":"server_error"}})"
                             : "<html>Service Unavailable</html>",
                      n == 0 ? "application/json" : "text/html");
      return;
    }
    res.set_content(ok_body, "application/json");
  });
  server.start();
  auto cfg = config_for(server);
  cfg.stream = false;
  std::vector<Error> seen;
  struct Recording {
    OpenAIChat inner;
    std::vector<Error>* seen;
    Result<Response> complete(const Request& r) {
      auto out = inner.complete(r);
      if (!out) seen->push_back(out.error());
      return out;
    }
  };
  Retrying<Recording> model(Recording{OpenAIChat(cfg, secret), &seen}, quick());
  auto r = model.complete(question());
  REQUIRE(r);
  CHECK(r->text == "fixed");
  CHECK(calls == 3);
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].kind == "http_500");
  CHECK(seen[0].what.find("OpenAI (" + server.url() + ") answered 500 for gpt-4.1: The server had an error") == 0);
  CHECK(seen[1].kind == "http_503");
  CHECK(seen[1].what.find("Service Unavailable") != std::string::npos);
}

TEST_CASE("a connection dropped mid-stream is retried and the partial answer discarded", "[llm][retry][fault]") {
  TestServer server;
  std::atomic<int> calls{0};
  server.server().Post("/v1/chat/completions", [&](const httplib::Request&, httplib::Response& res) {
    speedrunner::testing::stream_sse(res, ok_stream(), calls++ == 0 ? 1 : SIZE_MAX);
  });
  server.start();
  OpenAIChat raw(config_for(server), secret);
  auto dropped = raw.complete(question());
  REQUIRE_FALSE(dropped);
  CHECK(dropped.error().retryable);
  CHECK((dropped.error().kind == "reset"));
  CHECK(dropped.error().what.find("dropped mid-answer") != std::string::npos);

  calls = 0;
  auto r = Retrying<OpenAIChat>(raw, quick()).complete(question());
  REQUIRE(r);
  CHECK(r->text == "all good");
  CHECK(calls == 2);
}

TEST_CASE("a malformed JSON body is an error that is not retried and names the base_url", "[llm][retry][fault]") {
  TestServer server;
  std::atomic<int> calls{0};
  bool as_stream = false;
  server.server().Post("/v1/chat/completions", [&](const httplib::Request&, httplib::Response& res) {
    ++calls;
    if (as_stream) speedrunner::testing::stream_sse(res, {"data: {\"choices\": [\n\n", "data: [DONE]\n\n"});
    else res.set_content("{\"choices\": [{\"message\": ", "application/json");
  });
  server.start();
  auto cfg = config_for(server);
  cfg.stream = false;
  auto r = Retrying<OpenAIChat>(OpenAIChat(cfg, secret), quick()).complete(question());
  REQUIRE_FALSE(r);
  CHECK(calls == 1);
  CHECK(r.error().kind == "malformed");
  CHECK(r.error().what.find("the response body is not JSON") != std::string::npos);
  CHECK(r.error().fix.find("base_url") != std::string::npos);

  SECTION("and a malformed stream chunk too") {
    cfg.stream = true;
    as_stream = true;
    auto s = OpenAIChat(cfg, secret).complete(question());
    REQUIRE_FALSE(s);
    CHECK(s.error().kind == "malformed");
    CHECK(s.error().what.find("a stream chunk is not JSON") != std::string::npos);
  }
}

TEST_CASE("a server slower than the read timeout fails fast with a timeout that is retried", "[llm][retry][fault]") {
  TestServer server;
  std::atomic<int> calls{0};
  server.server().Post("/v1/chat/completions", [&](const httplib::Request&, httplib::Response& res) {
    ++calls;
    std::this_thread::sleep_for(700ms);
    res.set_content(ok_body, "application/json");
  });
  server.start();
  auto cfg = config_for(server);
  cfg.timeouts.read_s = 0.3;
  auto t0 = std::chrono::steady_clock::now();
  auto r = Retrying<OpenAIChat>(OpenAIChat(cfg, secret), quick(2)).complete(question());
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  REQUIRE_FALSE(r);
  CHECK(calls == 2);
  CHECK(r.error().kind == "timeout");
  CHECK(r.error().what.find("sent nothing for timeouts.read_s = 0.3") != std::string::npos);
  CHECK(r.error().what.find("(gave up after 2 attempts)") != std::string::npos);
  CHECK(took < 1.3);  // two 0.3 s timeouts and a short backoff, not two 0.7 s replies
}

TEST_CASE("401 names the key variable, is never retried and never shows the key", "[llm][retry][fault]") {
  TestServer server;
  std::atomic<int> calls{0};
  server.server().Post("/v1/chat/completions", [&](const httplib::Request& req, httplib::Response& res) {
    ++calls;
    res.status = 401;
    // OpenAI echoes the key it was sent; the client must not pass it on.
    res.set_content(R"({"error":{"message":"Incorrect API key provided: )" + req.get_header_value("Authorization").substr(7) +
                        R"(.","type":"invalid_request_error","code":"invalid_api_key"}})",
                    "application/json");
  });
  server.start();
  TempDir logs;
  Retrying<Logged<OpenAIChat>> model(Logged<OpenAIChat>(OpenAIChat(config_for(server), secret), logs.path(), "gpt-4.1"),
                                     quick());
  auto r = model.complete(question());
  REQUIRE_FALSE(r);
  CHECK(calls == 1);
  CHECK(r.error().kind == "auth");
  CHECK(r.error().code == speedrunner::ExitCode::usage);
  CHECK(r.error().what.starts_with("OPENAI_API_KEY was rejected (401) by OpenAI"));
  CHECK(r.error().what.find("Incorrect API key provided: ***") != std::string::npos);
  CHECK(r.error().fix.find("OPENAI_API_KEY") != std::string::npos);
  CHECK(r.error().message().find(secret) == std::string::npos);
  std::string log = read_all(logs.path() / "llm_coder.jsonl");
  CHECK(log.find("was rejected (401)") != std::string::npos);
  CHECK(log.find(secret) == std::string::npos);
}

TEST_CASE("a context-length error is reported as one and not retried; nor are 400, 403 and 404",
          "[llm][retry][fault]") {
  TestServer server;
  std::atomic<int> calls{0};
  int status = 400;
  std::string body;
  server.server().Post("/v1/chat/completions", [&](const httplib::Request&, httplib::Response& res) {
    ++calls;
    res.status = status;
    res.set_content(body, "application/json");
  });
  server.start();
  auto cfg = config_for(server);
  Retrying<OpenAIChat> model(OpenAIChat(cfg, secret), quick());

  body = R"({"error":{"message":"This model's maximum context length is 1047576 tokens. However, your messages resulted in 1200000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}})";
  auto r = model.complete(question());
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == "context_length");
  CHECK(r.error().what.starts_with("the prompt is longer than gpt-4.1's context window (context length exceeded) (400)"));
  CHECK(r.error().fix.find("shorten the prompt") != std::string::npos);
  CHECK(calls == 1);

  for (int s : {400, 403, 404}) {
    calls = 0;
    status = s;
    body = R"({"error":{"message":"nope","type":"invalid_request_error"}})";
    auto e = model.complete(question());
    REQUIRE_FALSE(e);
    CHECK(calls == 1);
    CHECK_FALSE(e.error().retryable);
  }
  CHECK(model.complete(question()).error().what.find("has no model or endpoint \"gpt-4.1\" (404)") != std::string::npos);
}

TEST_CASE("a refused connection is retryable and names the endpoint", "[llm][retry][fault]") {
  int port = 0;
  {
    TestServer gone;
    gone.start();
    port = std::stoi(gone.url().substr(gone.url().rfind(':') + 1));
  }  // closed again: nothing listens there now
  ModelConfig cfg;
  cfg.name = "local";
  cfg.base_url = "http://127.0.0.1:" + std::to_string(port) + "/v1";
  cfg.timeouts = {0.5, 0.5, 2.0};
  auto r = OpenAIChat(cfg, "").complete(question());
  REQUIRE_FALSE(r);
  CHECK(r.error().retryable);
  CHECK(r.error().kind == "connect");
  CHECK(r.error().what.find("cannot connect to OpenAI http://127.0.0.1:" + std::to_string(port) + "/v1/chat/completions") == 0);
}

TEST_CASE("a stream that trickles past timeouts.total_s is cut off as a timeout", "[llm][retry][fault]") {
  TestServer server;
  server.server().Post("/v1/chat/completions", [&](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("text/event-stream", [](size_t, httplib::DataSink& sink) {
      const std::string chunk = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"},\"finish_reason\":null}]}\n\n";
      for (int i = 0; i < 12 && sink.is_writable(); ++i) {  // each gap is within read_s; the whole is not
        sink.write(chunk.data(), chunk.size());
        std::this_thread::sleep_for(50ms);
      }
      sink.done();
      return true;
    });
  });
  server.start();
  auto cfg = config_for(server);
  cfg.timeouts.total_s = 0.25;
  auto t0 = std::chrono::steady_clock::now();
  auto r = OpenAIChat(cfg, secret).complete(question());
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == "timeout");
  CHECK(r.error().retryable);
  CHECK(r.error().what.find("within timeouts.total_s = 0.25") != std::string::npos);
  CHECK(took < 0.5);
}

TEST_CASE("a key a long error body echoes across its 300-character cut is hidden whole", "[llm][retry][fault]") {
  TestServer server;
  server.server().Post("/v1/chat/completions", [&](const httplib::Request& req, httplib::Response& res) {
    res.status = 400;
    // a plain-text body (no error.message) whose key starts just before the cut
    res.set_content(std::string(290, '.') + " key " + req.get_header_value("Authorization").substr(7) + " refused",
                    "text/plain");
  });
  server.start();
  TempDir logs;
  Retrying<Logged<OpenAIChat>> model(Logged<OpenAIChat>(OpenAIChat(config_for(server), secret), logs.path(), "gpt-4.1"),
                                     quick());
  auto r = model.complete(question());
  REQUIRE_FALSE(r);
  const std::string part = secret.substr(0, 6);  // what a cut key would leave
  CHECK(r.error().message().find(part) == std::string::npos);
  CHECK(read_all(logs.path() / "llm_coder.jsonl").find(part) == std::string::npos);
}
