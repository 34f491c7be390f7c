// Tests for include/speedrunner/llm/replay.hpp: transcript format and queues.
#include <speedrunner/llm/replay.hpp>

#include <fstream>

#include "catch.hpp"
#include "support.hpp"

using namespace speedrunner::llm;

namespace {
Request ask(std::string agent, std::string prompt = "go") {
  Request r;
  r.agent = std::move(agent);
  r.messages.push_back({Role::user, std::move(prompt)});
  return r;
}
}  // namespace

TEST_CASE("the replay model plays answers in order and is a LanguageModel", "[llm][replay]") {
  STATIC_REQUIRE(LanguageModel<ReplayModel>);
  auto m = ReplayModel::from_text("{\"answer\": \"one\"}\n\n{\"answer\": \"two\", \"finish\": \"length\", "
                                  "\"usage\": {\"input_tokens\": 7, \"output_tokens\": 3}}\r\n",
                                  "t.jsonl");
  REQUIRE(m);
  auto a = m->complete(ask(""));
  REQUIRE(a);
  CHECK(a->text == "one");
  CHECK(a->model == "replay");
  auto b = m->complete(ask("coder"));
  REQUIRE(b);
  CHECK(b->text == "two");
  CHECK(b->finish == FinishReason::length);
  CHECK(b->usage == Usage{7, 3, 0});
  auto c = m->complete(ask(""));
  REQUIRE_FALSE(c);
  CHECK(c.error().what.find("t.jsonl has no answer left for the model (2 answers already played)") !=
        std::string::npos);
}

TEST_CASE("agents replay their own queues whatever order they ask in", "[llm][replay]") {
  const char* text =
      "{\"agent\": \"ideator\", \"answer\": \"idea 1\"}\n"
      "{\"agent\": \"coder\", \"answer\": \"code 1\"}\n"
      "{\"agent\": \"ideator\", \"answer\": \"idea 2\"}\n"
      "{\"answer\": \"shared\"}\n";
  auto m = ReplayModel::from_text(text, "t");
  REQUIRE(m);
  ReplayModel copy = *m;  // copies share the cursor
  CHECK(copy.complete(ask("coder"))->text == "code 1");
  CHECK(m->complete(ask("ideator"))->text == "idea 1");
  CHECK(m->remaining("ideator") == 2);
  CHECK(m->complete(ask("ideator"))->text == "idea 2");
  CHECK(m->complete(ask("coder"))->text == "shared");  // own queue empty: falls back to shared
  auto none = m->complete(ask("coder"));
  REQUIRE_FALSE(none);
  CHECK(none.error().what.find("agent 'coder'") != std::string::npos);
}

TEST_CASE("an expect field catches prompts that drifted from the transcript", "[llm][replay]") {
  auto m = ReplayModel::from_text("{\"answer\": \"x\", \"expect\": \"memoise\"}\n{\"answer\": \"y\", \"expect\": \"bug\"}", "t");
  REQUIRE(m);
  CHECK(m->complete(ask("", "please memoise the loop"))->text == "x");
  auto bad = m->complete(ask("", "improve it"));
  REQUIRE_FALSE(bad);
  CHECK(bad.error().what == "replay transcript t:2 expects the prompt of the model to contain \"bug\", and it does not");
  CHECK_FALSE(bad.error().fix.empty());
}

TEST_CASE("malformed transcripts are errors naming the line and the fix", "[llm][replay]") {
  auto no_answer = ReplayModel::from_text("{\"answer\": \"ok\"}\n{\"agent\": \"coder\"}\n", "demo.jsonl");
  REQUIRE_FALSE(no_answer);
  CHECK(no_answer.error().what == "demo.jsonl:2: the line has no \"answer\"");
  auto not_json = ReplayModel::from_text("{\"answer\": \"ok\"\n", "demo.jsonl");
  REQUIRE_FALSE(not_json);
  CHECK(not_json.error().what.starts_with("demo.jsonl:1: not valid JSON"));
  auto wrong_type = ReplayModel::from_text("{\"answer\": 3}", "d");
  REQUIRE_FALSE(wrong_type);
  CHECK(wrong_type.error().what == "d:1.answer: expected a string, got 3");
  auto unknown = ReplayModel::from_text("{\"answer\": \"a\", \"agnet\": \"coder\"}", "d");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().what == "d:1.agnet: unknown key");
  CHECK_FALSE(ReplayModel::from_text("\n\n", "empty"));
  auto missing = ReplayModel::load("/nonexistent/transcript.jsonl");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().what.find("/nonexistent/transcript.jsonl cannot be read") != std::string::npos);
}

TEST_CASE("a transcript file loads from disk", "[llm][replay]") {
  speedrunner::testing::TempDir dir;
  std::ofstream(dir.path() / "t.jsonl") << "{\"agent\": \"coder\", \"answer\": \"from disk\"}\n";
  auto m = ReplayModel::load(dir.path() / "t.jsonl");
  REQUIRE(m);
  CHECK(m->complete(ask("coder"))->text == "from disk");
}
