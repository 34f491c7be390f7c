// Tests for include/speedrunner/agent/agent.hpp: act, retry with feedback,
// retry policies, usage accounting.
#include <speedrunner/agent/agent.hpp>
#include <speedrunner/validate/code_block.hpp>
#include <speedrunner/validate/json.hpp>

#include <cmath>

#include <chrono>
#include <optional>

#include "catch.hpp"
#include "scripted_model.hpp"

using speedrunner::Error;
using speedrunner::ExitCode;
using speedrunner::agent::Agent;
using speedrunner::agent::RetryPolicy;
using speedrunner::agent::ValidationRetry;
using speedrunner::llm::Role;
using speedrunner::testing::ScriptedModel;
namespace validate = speedrunner::validate;

namespace {
const std::string good_python = "Here is the script:\n```python\nprint('hi')\n```\nDone.";
const std::string prose_only = "I would print a greeting, using the print function.";
}  // namespace

TEST_CASE("act returns the validated value and sends the system prompt", "[agent]") {
  ScriptedModel model{.answers = {good_python}};
  Agent<ScriptedModel&> agent(model, "You are a careful engineer.");
  auto code = agent.act("Write a greeting script.", validate::code_block("python"));
  REQUIRE(code.has_value());
  CHECK(*code == "print('hi')\n");
  REQUIRE(model.received.size() == 1);
  CHECK(model.received[0].system == "You are a careful engineer.");
  REQUIRE(model.received[0].messages.size() == 1);
  CHECK(model.received[0].messages[0].role == Role::user);
  CHECK(model.received[0].messages[0].content == "Write a greeting script.");
  CHECK(agent.calls() == 1);
  REQUIRE(agent.last_attempts().size() == 1);
  CHECK(agent.last_attempts()[0].rejection.empty());
}

TEST_CASE("a rejected answer is fed back with the validator's reason", "[agent][retry]") {
  ScriptedModel model{.answers = {prose_only, good_python}};
  Agent<ScriptedModel&> agent(model, "system text");
  auto code = agent.act("Write a greeting script.", validate::code_block("python"));
  REQUIRE(code.has_value());
  CHECK(*code == "print('hi')\n");
  REQUIRE(model.received.size() == 2);
  const auto& second = model.received[1];
  CHECK(second.system == "system text");  // on every call, retries included
  REQUIRE(second.messages.size() == 3);
  CHECK(second.messages[0].content == "Write a greeting script.");
  CHECK(second.messages[1].role == Role::assistant);
  CHECK(second.messages[1].content == prose_only);
  CHECK(second.messages[2].role == Role::user);
  CHECK(second.messages[2].content.find("no fenced code block") != std::string::npos);
  CHECK(second.messages[2].content.find("```python") != std::string::npos);
  REQUIRE(agent.last_attempts().size() == 2);
  CHECK_FALSE(agent.last_attempts()[0].rejection.empty());
  CHECK(agent.last_attempts()[1].rejection.empty());
}

TEST_CASE("exhausted retries give an error listing every attempt's reason", "[agent][retry]") {
  ScriptedModel model{.answers = {prose_only, "```cpp\nint main() {}\n```", "```python\n"}};
  Agent<ScriptedModel&> agent(model, "s");
  auto code = agent.act("Write it.", validate::code_block("python"), ValidationRetry{.max_attempts = 3});
  REQUIRE_FALSE(code.has_value());
  const Error& e = code.error();
  CHECK(e.code == ExitCode::failure);
  CHECK(e.what.starts_with("the model gave no acceptable answer in 3 attempts:"));
  CHECK(e.what.find("attempt 1: the answer has no fenced code block") != std::string::npos);
  CHECK(e.what.find("attempt 2: the answer has 1 fenced block (```cpp) but none is ```python") != std::string::npos);
  CHECK(e.what.find("attempt 3: the ```python block opened on line 1 is never closed") != std::string::npos);
  CHECK_FALSE(e.fix.empty());
  CHECK(model.received.size() == 3);
  CHECK(model.received[2].messages.size() == 5);
}

TEST_CASE("max_attempts 1 asks once", "[agent][retry]") {
  ScriptedModel model{.answers = {prose_only, good_python}};
  Agent<ScriptedModel&> agent(model, "s");
  auto code = agent.act("Write it.", validate::code_block("python"), ValidationRetry{.max_attempts = 1});
  REQUIRE_FALSE(code.has_value());
  CHECK(code.error().what.starts_with("the model gave no acceptable answer in 1 attempt:"));
  CHECK(model.received.size() == 1);
}

namespace {
// Retries only when the answer had no JSON at all, never for bad keys.
struct RetryOnlyWhenMissing {
  std::optional<std::chrono::milliseconds> next_delay(int attempt, const Error& rejection) const {
    if (attempt >= 5 || rejection.what.find("no JSON object") == std::string::npos) return std::nullopt;
    return std::chrono::milliseconds(1);
  }
};

// Counts its calls: act copies the policy, so each act starts from zero.
struct CountingRetry {
  int calls = 0;
  std::optional<std::chrono::milliseconds> next_delay(int, const Error&) {
    if (++calls >= 2) return std::nullopt;
    return std::chrono::milliseconds(0);
  }
};
}  // namespace

TEST_CASE("a retry policy written by a user decides from the rejection", "[agent][retry]") {
  STATIC_REQUIRE(RetryPolicy<ValidationRetry>);
  STATIC_REQUIRE(RetryPolicy<RetryOnlyWhenMissing>);
  STATIC_REQUIRE(RetryPolicy<CountingRetry>);
  STATIC_REQUIRE_FALSE(RetryPolicy<int>);
  ScriptedModel model{.answers = {"none", "{\"steps\": \"many\"}", "{\"steps\": 3}"}};
  Agent<ScriptedModel&> agent(model, "s");
  validate::JsonFields steps{{{"steps", validate::FieldType::integer}}};
  auto r = agent.act("How many steps?", steps, RetryOnlyWhenMissing{});
  REQUIRE_FALSE(r.has_value());
  CHECK(model.received.size() == 2);  // stopped at the bad key, did not ask a third time
  CHECK(r.error().what.find("key \"steps\": expected an integer, got the string \"many\"") != std::string::npos);
}

TEST_CASE("a stateful retry policy is copied for each act", "[agent][retry]") {
  ScriptedModel model{.answers = {prose_only, prose_only, prose_only, prose_only}};
  Agent<ScriptedModel&> agent(model, "s");
  CountingRetry policy;
  CHECK_FALSE(agent.act("one", validate::code_block("python"), policy).has_value());
  CHECK_FALSE(agent.act("two", validate::code_block("python"), policy).has_value());
  CHECK(policy.calls == 0);
  CHECK(model.received.size() == 4);  // two answers per act
}

TEST_CASE("a model failure ends act at once with the model's error", "[agent]") {
  ScriptedModel model{.answers = {prose_only}};
  Agent<ScriptedModel&> agent(model, "s");
  auto r = agent.act("Write it.", validate::code_block("python"), ValidationRetry{.max_attempts = 4});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().what.starts_with("the model failed on attempt 2: scripted model: no answer left"));
  CHECK(model.received.size() == 2);
}

TEST_CASE("usage and cost add up over calls and acts", "[agent][usage]") {
  ScriptedModel model{.answers = {prose_only, good_python, good_python}};
  Agent<ScriptedModel&> agent(model, "s");
  REQUIRE(agent.act("one", validate::code_block("python")).has_value());
  REQUIRE(agent.act("two", validate::code_block("python")).has_value());
  CHECK(agent.calls() == 3);
  CHECK(agent.usage().input_tokens == 300);
  CHECK(agent.usage().output_tokens == 60);
  CHECK(std::abs(agent.cost_usd() - 0.03) < 1e-12);
}

TEST_CASE("an answer cut at the token limit says so in the feedback", "[agent][retry]") {
  ScriptedModel model{.answers = {"```python\nprint(", good_python}, .finish = speedrunner::llm::FinishReason::length};
  Agent<ScriptedModel&> agent(model, "s");
  REQUIRE(agent.act("Write it.", validate::code_block("python")).has_value());
  CHECK(model.received[1].messages[2].content.find("output token limit") != std::string::npos);
}

TEST_CASE("act continues a conversation and keeps its turns", "[agent]") {
  ScriptedModel model{.answers = {good_python}};
  speedrunner::llm::Params params;
  params.temperature = 0.2;
  Agent<ScriptedModel> agent(std::move(model), "s", params);
  std::vector<speedrunner::llm::Message> talk{{Role::user, "first"}, {Role::assistant, "ok"}, {Role::user, "now code"}};
  REQUIRE(agent.act(talk, validate::code_block("python")).has_value());
  REQUIRE(agent.model().received.size() == 1);
  CHECK(agent.model().received[0].messages == talk);
  CHECK(agent.model().received[0].params.temperature == 0.2);
}

TEST_CASE("the feedback wording can be replaced but must use only {reason}", "[agent][prompt]") {
  ScriptedModel model{.answers = {prose_only, good_python}};
  Agent<ScriptedModel&> agent(model, "s");
  auto bad = agent.set_feedback(speedrunner::agent::PromptTemplate::parse("Wrong: {why}", "feedback.txt"));
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().what.find("feedback.txt: placeholder {why} has no value") != std::string::npos);
  REQUIRE(agent.set_feedback(speedrunner::agent::PromptTemplate::parse("Rejected because {reason}.")).has_value());
  REQUIRE(agent.act("Write it.", validate::code_block("python")).has_value());
  CHECK(model.received[1].messages[2].content.starts_with("Rejected because the answer has no fenced code block"));
}

TEST_CASE("docs/library.md's agent example runs as written", "[agent][docs]") {
  using MyModel = ScriptedModel;
  MyModel model{.answers = {"```cuda\n__global__ void adamw(float* p) {}\n```"}};
  namespace sr = speedrunner;
  sr::agent::Agent<MyModel&> coder(model, "You write CUDA C++.");
  auto kernel = coder.act("Write a fused AdamW kernel.", sr::validate::code_block("cuda", "cpp"),
                          sr::agent::ValidationRetry{.max_attempts = 3});
  REQUIRE(kernel.has_value());
  CHECK(*kernel == "__global__ void adamw(float* p) {}\n");
  CHECK(coder.calls() == 1);
}
