// Tests for include/speedrunner/agent/prompt.hpp: placeholders, literal
// braces, and errors naming the file and the placeholder.
#include <speedrunner/agent/prompt.hpp>

#include <fstream>

#include "catch.hpp"
#include "support.hpp"

using speedrunner::agent::PromptTemplate;

TEST_CASE("placeholders are filled and other braces stay literal", "[agent][prompt]") {
  auto t = PromptTemplate::parse(
      "Task: {task_description}\nReply as {\"summary\": \"...\"} or {{literal}}; code { int x; }\n{task_description}");
  CHECK(t.placeholders() == std::vector<std::string>{"task_description"});
  auto text = t.render({{"task_description", "speed up {training}"}, {"unused", "fine"}});
  REQUIRE(text.has_value());
  CHECK(*text ==
        "Task: speed up {training}\nReply as {\"summary\": \"...\"} or {literal}; code { int x; }\nspeed up {training}");
}

TEST_CASE("a placeholder without a value is an error naming file and placeholder", "[agent][prompt]") {
  auto t = PromptTemplate::parse("Hints:\n{knowledge}\nCode:\n{code}", "config/prompts/ideator/draft.txt");
  auto text = t.render({{"code", "x = 1"}});
  REQUIRE_FALSE(text.has_value());
  CHECK(text.error().what ==
        "config/prompts/ideator/draft.txt: placeholder {knowledge} has no value (available: {code})");
  CHECK(text.error().fix.find("{{knowledge}}") != std::string::npos);
}

TEST_CASE("loading a prompt checks its placeholders against what the caller fills", "[agent][prompt]") {
  speedrunner::testing::TempDir dir;
  auto file = dir.path() / "draft.txt";
  std::ofstream(file) << "Do {task_description} with {knowlege}\n";
  auto bad = PromptTemplate::load(file, {"task_description", "knowledge"});
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().what == file.string() + ": placeholder {knowlege} has no value (available: {task_description}, {knowledge})");
  std::ofstream(file) << "Do {task_description}\n";
  auto good = PromptTemplate::load(file, {"task_description", "knowledge"});
  REQUIRE(good.has_value());
  CHECK(good->source() == file.string());
  CHECK(*good->render({{"task_description", "x"}}) == "Do x\n");
}

TEST_CASE("a missing prompt file is an error naming it", "[agent][prompt]") {
  auto t = PromptTemplate::load("/nonexistent/prompts/system.txt");
  REQUIRE_FALSE(t.has_value());
  CHECK(t.error().what == "prompt file /nonexistent/prompts/system.txt cannot be read");
  CHECK_FALSE(t.error().fix.empty());
}
