// Tests for include/speedrunner/llm/any_model.hpp: models made from config files,
// and a whole run's model (cache, budget, retry, log) against a local server.
#include <speedrunner/llm/any_model.hpp>

#include <atomic>
#include <fstream>
#include <sstream>

#include "catch.hpp"
#include "support.hpp"
#include "test_server.hpp"

using namespace speedrunner::llm;
using speedrunner::testing::TempDir;
using speedrunner::testing::TestServer;

namespace {

const std::string secret = "sk-proj-RUN-SECRET-42";

Request ask(std::string agent, std::string q) {
  Request r;
  r.agent = std::move(agent);
  r.system = "You write CUDA.";
  r.messages = {{Role::user, std::move(q)}};
  r.params.max_tokens = 1000;
  return r;
}

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("make_model builds the replay model from its config; copies share the transcript", "[llm][any]") {
  STATIC_REQUIRE(LanguageModel<AnyModel>);
  TempDir dir;
  std::ofstream(dir.path() / "t.jsonl") << "{\"agent\":\"ideator\",\"answer\":\"idea\"}\n{\"agent\":\"coder\",\"answer\":\"code\"}\n";
  ModelConfig cfg;
  cfg.provider = Provider::replay;
  cfg.name = "replay";
  cfg.transcript = (dir.path() / "t.jsonl").string();
  auto model = make_model(cfg);
  REQUIRE(model);
  AnyModel copy = *model;
  CHECK(copy.complete(ask("coder", "x"))->text == "code");
  CHECK(model->complete(ask("ideator", "x"))->text == "idea");
  CHECK_FALSE(model->complete(ask("coder", "x")));
  CHECK(model->name() == "replay");
}

TEST_CASE("make_model reads the key from the variable the config names", "[llm][any]") {
  auto cfg = load_model_config(speedrunner::testing::source_root() / "config/model/claude_opus_4.json");
  REQUIRE(cfg);
  cfg->api_key_env = "SPEEDRUNNER_TEST_UNSET_KEY";
  ::unsetenv("SPEEDRUNNER_TEST_UNSET_KEY");
  auto missing = make_model(*cfg);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().what == "SPEEDRUNNER_TEST_UNSET_KEY is not set (model claude_opus_4 needs it)");
  CHECK(missing.error().fix.find("config/secrets/default.json") != std::string::npos);
  ::setenv("SPEEDRUNNER_TEST_UNSET_KEY", "k-123456", 1);
  CHECK(make_model(*cfg));
  ::unsetenv("SPEEDRUNNER_TEST_UNSET_KEY");
  cfg->api_key = "from-secrets";  // resolved by the runner from config/secrets
  CHECK(make_model(*cfg));
}

TEST_CASE("a run that would exceed budget.usd stops cleanly and says why; its cache replays offline",
          "[llm][any][budget]") {
  TestServer server;
  std::atomic<int> calls{0};
  server.server().Post("/v1/chat/completions", [&](const httplib::Request& req, httplib::Response& res) {
    int n = calls++;
    if (n == 1) {  // one transient failure on the way, retried and logged
      res.status = 503;
      res.set_content(R"({"error":{"message":"overloaded"}})", "application/json");
      return;
    }
    std::string q = boost::json::parse(req.body).at("messages").as_array().back().at("content").as_string().c_str();
    speedrunner::testing::stream_sse(
        res, {"data: {\"model\":\"gpt-4.1-2025-04-14\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"re: " + q +
                  "\"},\"finish_reason\":\"stop\"}]}\n\n",
              "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1000,\"completion_tokens\":500}}\n\n", "data: [DONE]\n\n"});
  });
  server.start();
  TempDir run;
  ModelConfig cfg;
  cfg.provider = Provider::openai;
  cfg.name = "gpt-4.1";
  cfg.label = "gpt_4_1";
  cfg.base_url = server.url("/v1");
  cfg.api_key_env = "OPENAI_API_KEY";
  cfg.api_key = secret;
  cfg.price = {2.0, 8.0, 0.5};  // one answer: 1000 * 2 + 500 * 8 = $0.006
  cfg.retry.base_delay_s = 0.01;
  cfg.timeouts = {1.0, 1.0, 5.0};
  auto budget = std::make_shared<Budget>(BudgetLimits{0.02, std::nullopt});
  RunModelOptions options{budget, CacheMode::record, run.path() / "llm_cache", run.path() / "logs"};
  auto model = make_run_model(cfg, options);
  REQUIRE(model);

  std::vector<std::string> answers;
  speedrunner::Error stop;
  for (int i = 0; i < 10; ++i) {
    auto r = model->complete(ask(i % 2 == 0 ? "ideator" : "coder", "step " + std::to_string(i)));
    if (!r) {
      stop = r.error();
      break;
    }
    answers.push_back(r->text);
  }
  // Estimate per call: ~40 input + 1000 output tokens = $0.0081; $0.006 charged each.
  REQUIRE(answers.size() == 2);
  CHECK(answers[1] == "re: step 1");
  CHECK(stop.code == speedrunner::ExitCode::budget);
  CHECK(stop.what.find("run budget reached: the next call of the ideator to gpt-4.1") == 0);
  CHECK(stop.what.find("over budget.usd = $0.0200 (spent $0.0120") != std::string::npos);
  CHECK(calls == 3);  // two answers and one retried 503; nothing sent for the refused call
  CHECK(budget->total().usd == Approx(0.012));

  std::string coder_log = read_all(run.path() / "logs" / "llm_coder.jsonl");
  CHECK(coder_log.find("\"attempt\":2") != std::string::npos);
  CHECK(coder_log.find("overloaded") != std::string::npos);
  CHECK(coder_log.find(secret) == std::string::npos);

  // The same questions again, offline: the recorded cache answers them at no cost.
  server.stop();
  auto offline = make_run_model(cfg, {std::make_shared<Budget>(BudgetLimits{0.0, std::nullopt}), CacheMode::replay,
                                      run.path() / "llm_cache", {}});
  REQUIRE(offline);
  auto again = offline->complete(ask("coder", "step 1"));
  REQUIRE(again);
  CHECK(again->text == "re: step 1");
  CHECK(again->cached);
  CHECK_FALSE(offline->complete(ask("coder", "step 9")));

  // No file the run wrote holds the key.
  for (const auto& e : std::filesystem::recursive_directory_iterator(run.path()))
    if (e.is_regular_file()) CHECK(read_all(e.path()).find(secret) == std::string::npos);
}
