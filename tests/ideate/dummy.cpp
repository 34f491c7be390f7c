// Tests for include/speedrunner/ideate/dummy.hpp: hints become the hypothesis.
#include <speedrunner/ideate/dummy.hpp>

#include "catch.hpp"

namespace ideate = speedrunner::ideate;

TEST_CASE("the dummy ideator is an Ideator", "[ideate][dummy]") {
  STATIC_REQUIRE(ideate::Ideator<ideate::Dummy>);
  STATIC_REQUIRE(ideate::Dummy::config_name == "dummy");
}

TEST_CASE("the dummy ideator turns the hints into the hypothesis", "[ideate][dummy]") {
  ideate::IdeaRequest request;
  request.stage = ideate::Stage::draft;
  request.knowledge =
      "=== data/nanogpt_speedrun_knowledge_in_levels/record_1/level_2_description.txt ===\n"
      "Replace learned position embeddings with rotary embeddings and triple the learning rate.\n";
  auto idea = ideate::Dummy{}.propose(request);
  REQUIRE(idea.has_value());
  CHECK(idea->hypothesis.text == request.knowledge);
  CHECK(idea->hypothesis.summary ==
        "hints: Replace learned position embeddings with rotary embeddings and triple the learning rate.");
  CHECK(idea->usage == speedrunner::llm::Usage{});
  CHECK(idea->cost_usd == 0.0);
  request.stage = ideate::Stage::improve;
  auto again = ideate::Dummy{}.propose(request);
  REQUIRE(again.has_value());
  CHECK(again->hypothesis == idea->hypothesis);
}

TEST_CASE("a long first hint line is cut in the summary", "[ideate][dummy]") {
  ideate::IdeaRequest request;
  request.knowledge = std::string(300, 'x');
  auto idea = ideate::Dummy{}.propose(request);
  REQUIRE(idea.has_value());
  CHECK(idea->hypothesis.summary == "hints: " + std::string(97, 'x') + "...");
}

TEST_CASE("the dummy ideator without hints asks the coder to plan and then implement", "[ideate][dummy]") {
  ideate::IdeaRequest request;
  request.stage = ideate::Stage::draft;
  request.task_description = "Reduce the training time to reach val_loss 3.28.";
  auto idea = ideate::Dummy{}.propose(request);
  REQUIRE(idea.has_value());
  CHECK(idea->hypothesis.summary == "no hints: the coder plans a change and implements it");
  CHECK(idea->hypothesis.text.find("First write a short plan") != std::string::npos);
  CHECK(idea->hypothesis.text.find("Then implement that plan") != std::string::npos);
  CHECK(idea->hypothesis.text.find(request.task_description) != std::string::npos);
  CHECK(idea->cost_usd == 0.0);
}

TEST_CASE("the dummy ideator debugs with the failure as the hypothesis", "[ideate][dummy]") {
  ideate::IdeaRequest request;
  request.stage = ideate::Stage::debug;
  request.parent_outcome = "crashed: CUDA error: an illegal memory access was encountered\n  at attention.cuh:88";
  auto idea = ideate::Dummy{}.propose(request);
  REQUIRE(idea.has_value());
  CHECK(idea->hypothesis.summary == "fix: crashed: CUDA error: an illegal memory access was encountered");
  CHECK(idea->hypothesis.text.find("attention.cuh:88") != std::string::npos);
}
