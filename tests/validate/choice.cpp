// Tests for include/speedrunner/validate/choice.hpp: one of a set of choices.
#include <speedrunner/validate/choice.hpp>

#include "catch.hpp"

namespace validate = speedrunner::validate;

TEST_CASE("a choice is read alone or from the last line after reasoning", "[validate][choice]") {
  validate::OneOf stage{{"draft", "improve", "debug"}};
  STATIC_REQUIRE(validate::Validator<validate::OneOf>);
  CHECK(*stage("improve") == "improve");
  CHECK(*stage("  Debug.\n") == "debug");
  CHECK(*stage("**Answer:** `draft`") == "draft");
  CHECK(*stage("The last node crashed, so fixing it looks best.\nI considered improve too.\n\nFinal answer: debug\n") ==
        "debug");
}

TEST_CASE("a choice buried in reasoning or not offered is rejected", "[validate][choice]") {
  validate::OneOf stage{{"draft", "improve", "debug"}};
  auto buried = stage("I would debug first, then improve.");
  REQUIRE_FALSE(buried.has_value());
  CHECK(buried.error().what ==
        "expected one of: draft, improve, debug; got \"I would debug first, then improve.\"; end the answer with the "
        "choice alone on the last line");
  CHECK_FALSE(stage("refactor").has_value());
  CHECK_FALSE(stage("").has_value());
  validate::OneOf exact{{"A", "B"}, true};
  CHECK_FALSE(exact("a").has_value());
  CHECK(*exact("B") == "B");
}
