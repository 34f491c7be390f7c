// Tests for include/speedrunner/llm/think.hpp.
#include <speedrunner/llm/think.hpp>

#include "catch.hpp"

using speedrunner::llm::strip_think;

TEST_CASE("reasoning written as <think> blocks is removed from answers", "[llm][think]") {
  CHECK(strip_think("<think>\nLet me see.\n</think>\n\nAnswer.") == "Answer.");
  CHECK(strip_think("reasoning without an opening tag</think>Answer") == "Answer");  // template opened it
  CHECK(strip_think("A <think>x</think>B<think>y</think> C") == "A B C");
  CHECK(strip_think("<think>cut off while thinking") == "");
  CHECK(strip_think("No reasoning here.") == "No reasoning here.");
  CHECK(strip_think("Code: a < b && c > d") == "Code: a < b && c > d");
}
