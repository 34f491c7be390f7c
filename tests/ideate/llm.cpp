// Tests for include/speedrunner/ideate/llm.hpp: the LLM ideator's prompts,
// its validated JSON answer, retries on a repeated idea, prompt errors.
#include <speedrunner/ideate/llm.hpp>

#include <fstream>

#include "../agent/scripted_model.hpp"
#include "catch.hpp"
#include "support.hpp"

namespace ideate = speedrunner::ideate;
namespace fs = std::filesystem;
using speedrunner::testing::ScriptedModel;
using speedrunner::testing::source_root;

namespace {
ideate::LlmSettings shipped_prompts() {
  ideate::LlmSettings s;
  s.prompt_dir = source_root() / "config/prompts";
  return s;
}

std::string read(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), {}};
}

ideate::IdeaRequest improve_request() {
  ideate::IdeaRequest r;
  r.stage = ideate::Stage::improve;
  r.task_description = "Train GPT-2 124M to val_loss <= 3.28 as fast as possible on 8 GPUs.";
  r.code = "train_gpt2.cu:\n```cuda\n__global__ void adamw(...) {}\n```";
  r.parent_outcome = "val_loss 3.279 in 45.1 min";
  r.tried = {"longer warmup"};
  r.history = {{"v_0", "", "val_loss 3.280 in 45.3 min", false, ideate::Relation::ancestor},
               {"v_2", "fused AdamW", "val_loss 3.279 in 45.1 min", false, ideate::Relation::ancestor},
               {"v_4", "longer warmup", "crashed: out of memory", true, ideate::Relation::sibling}};
  r.knowledge = "=== level_2.txt ===\nRotary embeddings.";
  return r;
}

const std::string good_answer = R"(The optimizer is already fused; positions are the next lever.
```json
{"summary": "rotary position embeddings",
 "hypothesis": "Replace the learned position table in the attention block with rotary embeddings applied to q and k."}
```)";
}  // namespace

TEST_CASE("the LLM ideator is an Ideator", "[ideate][llm]") {
  STATIC_REQUIRE(ideate::Ideator<ideate::Llm<ScriptedModel&>>);
  STATIC_REQUIRE(ideate::Ideator<ideate::Llm<ScriptedModel>>);
  STATIC_REQUIRE(ideate::Llm<ScriptedModel>::config_name == "base");
}

TEST_CASE("an improve proposal shows code, outcome, history, hints and tried ideas", "[ideate][llm]") {
  ScriptedModel model{.answers = {good_answer}};
  auto ideator = ideate::Llm<ScriptedModel&>::create(model, shipped_prompts());
  REQUIRE(ideator.has_value());
  auto idea = ideator->propose(improve_request());
  REQUIRE(idea.has_value());
  CHECK(idea->hypothesis.summary == "rotary position embeddings");
  CHECK(idea->hypothesis.text.starts_with("Replace the learned position table"));
  CHECK(idea->usage.input_tokens == 100);
  CHECK(idea->cost_usd > 0.0);

  REQUIRE(model.received.size() == 1);
  const auto& request = model.received[0];
  CHECK(request.system == read(source_root() / "config/prompts/ideator/system.txt"));
  const std::string& prompt = request.messages.at(0).content;
  CHECK(prompt.find("Train GPT-2 124M to val_loss <= 3.28") != std::string::npos);
  CHECK(prompt.find("__global__ void adamw") != std::string::npos);
  CHECK(prompt.find("val_loss 3.279 in 45.1 min") != std::string::npos);
  CHECK(prompt.find("- v_0 (ancestor): the starting code -> val_loss 3.280 in 45.3 min\n") != std::string::npos);
  CHECK(prompt.find("- v_2 (ancestor): fused AdamW -> val_loss 3.279 in 45.1 min\n") != std::string::npos);
  CHECK(prompt.find("- v_4 (sibling: another change to this code): longer warmup -> crashed: out of memory [failed]\n") !=
        std::string::npos);
  CHECK(prompt.find("Rotary embeddings.") != std::string::npos);
  CHECK(prompt.find("- longer warmup\n") != std::string::npos);
  CHECK(prompt.find("{\"summary\":") != std::string::npos);  // the JSON shape stays literal
  CHECK(prompt.find('{' + std::string("task_description}")) == std::string::npos);
}

TEST_CASE("a draft says what is missing instead of leaving holes", "[ideate][llm]") {
  ScriptedModel model{.answers = {good_answer}};
  auto ideator = ideate::Llm<ScriptedModel&>::create(model, shipped_prompts());
  REQUIRE(ideator.has_value());
  ideate::IdeaRequest draft;
  draft.task_description = "Make the Collatz search faster.";
  draft.code = "main.cpp: ...";
  REQUIRE(ideator->propose(draft).has_value());
  const std::string& prompt = model.received[0].messages.at(0).content;
  CHECK(prompt.find("(no hints given)") != std::string::npos);
  CHECK(prompt.find("(none yet)") != std::string::npos);
}

TEST_CASE("a repeated idea is refused and the model asked again with the reason", "[ideate][llm][retry]") {
  ScriptedModel model{.answers = {R"({"summary": "Longer warmup", "hypothesis": "Warm up for 1400 steps."})",
                                  R"({"summary": "", "hypothesis": "x"})", good_answer}};
  auto ideator = ideate::Llm<ScriptedModel&>::create(model, shipped_prompts());
  REQUIRE(ideator.has_value());
  auto idea = ideator->propose(improve_request());
  REQUIRE(idea.has_value());
  CHECK(idea->hypothesis.summary == "rotary position embeddings");
  CHECK(idea->usage.input_tokens == 300);
  REQUIRE(model.received.size() == 3);
  CHECK(model.received[1].messages.at(2).content.find(
            "the idea \"Longer warmup\" was already tried from this code; propose a different one") != std::string::npos);
  CHECK(model.received[2].messages.at(4).content.find("the \"summary\" is empty") != std::string::npos);
}

TEST_CASE("the debug stage uses the debug prompt", "[ideate][llm]") {
  ScriptedModel model{.answers = {R"({"summary": "free the activations", "hypothesis": "The OOM comes from ..."})"}};
  auto ideator = ideate::Llm<ScriptedModel&>::create(model, shipped_prompts());
  REQUIRE(ideator.has_value());
  auto request = improve_request();
  request.stage = ideate::Stage::debug;
  request.parent_outcome = "crashed: out of memory at step 12";
  auto idea = ideator->propose(request);
  REQUIRE(idea.has_value());
  CHECK(model.received[0].messages.at(0).content.find("# What went wrong\ncrashed: out of memory at step 12") !=
        std::string::npos);
}

TEST_CASE("no acceptable idea is an error naming the ideator and every attempt", "[ideate][llm][retry]") {
  ScriptedModel model{.answers = {"I am not sure.", "Maybe tune things?"}};
  auto settings = shipped_prompts();
  settings.max_attempts = 2;
  auto ideator = ideate::Llm<ScriptedModel&>::create(model, settings);
  REQUIRE(ideator.has_value());
  auto idea = ideator->propose(improve_request());
  REQUIRE_FALSE(idea.has_value());
  CHECK(idea.error().what.starts_with("ideator: the model gave no acceptable answer in 2 attempts:"));
}

TEST_CASE("an edited prompt with an unknown placeholder fails at creation", "[ideate][llm][prompt]") {
  speedrunner::testing::TempDir dir;
  fs::copy(source_root() / "config/prompts", dir.path() / "prompts", fs::copy_options::recursive);
  std::ofstream(dir.path() / "prompts/ideator/improve.txt") << "{task_description}\n{parent_outcomes}\n";
  ScriptedModel model;
  ideate::LlmSettings settings;
  settings.prompt_dir = dir.path() / "prompts";
  auto ideator = ideate::Llm<ScriptedModel&>::create(model, settings);
  REQUIRE_FALSE(ideator.has_value());
  CHECK(ideator.error().what.starts_with((dir.path() / "prompts/ideator/improve.txt").string() +
                                         ": placeholder {parent_outcomes} has no value"));
  fs::remove(dir.path() / "prompts/ideator/debug.txt");
  std::ofstream(dir.path() / "prompts/ideator/improve.txt") << "{task_description}\n";
  auto missing = ideate::Llm<ScriptedModel&>::create(model, settings);
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().what.find("ideator/debug.txt cannot be read") != std::string::npos);
  CHECK(model.received.empty());
}
