// Tests for include/speedrunner/llm/logged.hpp: one JSONL per agent, whole lines.
#include <speedrunner/llm/logged.hpp>

#include <boost/json.hpp>

#include <fstream>
#include <thread>

#include "catch.hpp"
#include "support.hpp"

using namespace speedrunner::llm;
using speedrunner::Result;
using speedrunner::testing::TempDir;
namespace json = boost::json;

namespace {

struct Scripted {
  Result<Response> complete(const Request& r) {
    if (r.messages.back().content == "fail") return speedrunner::fail("server said no", "", speedrunner::ExitCode::failure);
    Response out;
    out.text = "answer " + r.messages.back().content;
    out.usage = {12, 3, 2};
    out.cost_usd = 0.001;
    out.latency = std::chrono::milliseconds(42);
    out.model = "gpt-4o-2024-08-06";
    return out;
  }
};

std::vector<json::value> lines_of(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::vector<json::value> out;
  for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
  return out;
}

Request ask(std::string agent, std::string q, std::filesystem::path dir = {}) {
  Request r;
  r.agent = std::move(agent);
  r.system = "be careful";
  r.messages = {{Role::user, std::move(q)}};
  r.params.max_tokens = 100;
  r.log_dir = std::move(dir);
  return r;
}

}  // namespace

TEST_CASE("Logged writes one JSON line per call into a file per agent", "[llm][log]") {
  STATIC_REQUIRE(LanguageModel<Logged<Scripted>>);
  TempDir runs;
  auto v1 = runs.path() / "v_1";
  Logged<Scripted> model(Scripted{}, runs.path(), "gpt-4o");
  REQUIRE(model.complete(ask("coder", "one", v1)));
  REQUIRE_FALSE(model.complete(ask("coder", "fail", v1)));
  REQUIRE(model.complete(ask("ideator", "two")));  // no log_dir: the default directory
  auto coder = lines_of(v1 / "llm_coder.jsonl");
  REQUIRE(coder.size() == 2);
  const auto& ok = coder[0].as_object();
  CHECK(ok.at("agent").as_string() == "coder");
  CHECK(ok.at("model").as_string() == "gpt-4o");
  CHECK(ok.at("attempt").as_int64() == 1);
  CHECK(ok.at("system").as_string() == "be careful");
  CHECK(ok.at("messages").as_array()[0].at("content").as_string() == "one");
  CHECK(ok.at("params").at("max_tokens").as_int64() == 100);
  CHECK(ok.at("answer").as_string() == "answer one");
  CHECK(ok.at("usage").at("cached_tokens").as_int64() == 2);
  CHECK(ok.at("cost_usd").as_double() == 0.001);
  CHECK(ok.at("latency_ms").as_int64() == 42);
  CHECK(coder[1].at("error").as_string() == "server said no");
  CHECK(lines_of(runs.path() / "llm_ideator.jsonl").size() == 1);
  CHECK(Logged<Scripted>::file_name("") == "llm.jsonl");
  CHECK(Logged<Scripted>::file_name("../etc") == "llm____etc.jsonl");
}

TEST_CASE("lines from parallel agents never interleave", "[llm][log]") {
  TempDir dir;
  Logged<Scripted> model(Scripted{}, dir.path(), "m");
  std::vector<std::thread> threads;
  const std::string big(20000, 'x');
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) (void)model.complete(ask("coder", big));
    });
  for (auto& t : threads) t.join();
  CHECK(lines_of(dir.path() / "llm_coder.jsonl").size() == 100);  // each line parses as JSON
}
