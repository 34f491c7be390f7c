// Tests for include/speedrunner/validate/json_as.hpp: JSON decoded into a
// Hana-described struct, with a reason per bad key.
#include <speedrunner/validate/json_as.hpp>

#include <cmath>

#include "catch.hpp"

namespace validate = speedrunner::validate;

namespace {
struct Schedule {
  BOOST_HANA_DEFINE_STRUCT(Schedule, (int, warmup_steps), (double, peak_lr));
};
struct Plan {
  BOOST_HANA_DEFINE_STRUCT(Plan, (std::string, summary), (bool, risky), (std::vector<std::string>, files),
                           (std::optional<std::string>, note), (Schedule, schedule), (std::uint16_t, heads));
};
}  // namespace

TEST_CASE("a Hana struct is read from the last JSON object", "[validate][json_as]") {
  STATIC_REQUIRE(validate::Validator<validate::JsonAs<Plan>>);
  const std::string answer = R"(Here is the plan.
```json
{"summary": "shorter warmup", "risky": false, "files": ["train_gpt2.cu", "model.cuh"],
 "schedule": {"warmup_steps": 256, "peak_lr": 0.0018}, "heads": 6, "unrelated": [1]}
```)";
  auto plan = validate::JsonAs<Plan>{}(answer);
  REQUIRE(plan.has_value());
  CHECK(plan->summary == "shorter warmup");
  CHECK_FALSE(plan->risky);
  CHECK(plan->files == std::vector<std::string>{"train_gpt2.cu", "model.cuh"});
  CHECK_FALSE(plan->note.has_value());
  CHECK(plan->schedule.warmup_steps == 256);
  CHECK(std::abs(plan->schedule.peak_lr - 0.0018) < 1e-12);
  CHECK(plan->heads == 6);
}

TEST_CASE("every bad key of a Hana struct is named with its path", "[validate][json_as]") {
  auto plan = validate::JsonAs<Plan>{}(
      R"({"summary": 3, "risky": "no", "files": ["a", 2], "note": null, "schedule": {"warmup_steps": 1.5}, "heads": 70000})");
  REQUIRE_FALSE(plan.has_value());
  CHECK(plan.error().what ==
        "the JSON object does not have the expected keys:\n"
        "- key \"summary\": expected a string, got the number 3\n"
        "- key \"risky\": expected true or false, got the string \"no\"\n"
        "- key \"files[1]\": expected a string, got the number 2\n"
        "- key \"schedule.warmup_steps\": expected an integer, got the number 1.5\n"
        "- key \"schedule.peak_lr\" is missing\n"
        "- key \"heads\": expected an integer in [0, 65535], got the number 70000\n"
        "expected: {\"summary\": \"...\", \"risky\": <true|false>, \"files\": [\"...\", ...], \"note\": \"...\", "
        "\"schedule\": {\"warmup_steps\": <integer>, \"peak_lr\": <number>}, \"heads\": <integer>}");
}
