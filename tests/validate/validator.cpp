// Tests for include/speedrunner/validate/validator.hpp: the concept, the
// conformance sentences, and_then and all_of.
#include <speedrunner/validate/code_block.hpp>
#include <speedrunner/validate/json.hpp>
#include <speedrunner/validate/validator.hpp>

#include "catch.hpp"

namespace validate = speedrunner::validate;
using speedrunner::Result;

TEST_CASE("library validators model Validator", "[validate]") {
  STATIC_REQUIRE(validate::Validator<validate::CodeBlock>);
  STATIC_REQUIRE(validate::Validator<validate::JsonObject>);
  STATIC_REQUIRE(validate::Validator<validate::JsonFields>);
  STATIC_REQUIRE_FALSE(validate::Validator<int>);
  STATIC_REQUIRE_FALSE(validate::Validator<std::string>);
}

TEST_CASE("and_then feeds one validator's value to the next", "[validate][compose]") {
  // the last ```json block, read as a JSON object with a "steps" integer
  auto steps = validate::and_then(validate::code_block("json"),
                                  validate::JsonFields{{{"steps", validate::FieldType::integer}}});
  STATIC_REQUIRE(validate::Validator<decltype(steps)>);
  STATIC_REQUIRE(std::same_as<decltype(steps)::value_type, boost::json::object>);
  auto ok = steps("Plan: {\"steps\": 1} as a draft.\n```json\n{\"steps\": 5100}\n```\n");
  REQUIRE(ok.has_value());
  CHECK(ok->at("steps").as_int64() == 5100);
  auto no_block = steps("{\"steps\": 5100}");
  REQUIRE_FALSE(no_block.has_value());
  CHECK(no_block.error().what.starts_with("the answer has no fenced code block"));
  auto bad_key = steps("```json\n{\"steps\": \"lots\"}\n```");
  REQUIRE_FALSE(bad_key.has_value());
  CHECK(bad_key.error().what.find("key \"steps\": expected an integer") != std::string::npos);
}

TEST_CASE("and_then with a function adds a check of its own", "[validate][compose]") {
  auto short_code = validate::and_then(validate::code_block("python"), [](std::string code) -> Result<std::size_t> {
    if (code.size() > 20) return validate::reject("the code is longer than 20 characters");
    return code.size();
  });
  STATIC_REQUIRE(std::same_as<decltype(short_code)::value_type, std::size_t>);
  CHECK(short_code("```python\nx = 1\n```").value() == 6);
  auto long_code = short_code("```python\nx = [i for i in range(1000)]\n```");
  REQUIRE_FALSE(long_code.has_value());
  CHECK(long_code.error().what == "the code is longer than 20 characters");
}

TEST_CASE("all_of gives every value, or every reason at once", "[validate][compose]") {
  auto both = validate::all_of(validate::code_block("cpp"),
                               validate::JsonFields{{{"summary", validate::FieldType::string}}});
  STATIC_REQUIRE(std::same_as<decltype(both)::value_type, std::tuple<std::string, boost::json::object>>);
  auto ok = both("```cpp\nint main() { return 0; }\n```\n{\"summary\": \"empty main\"}");
  REQUIRE(ok.has_value());
  CHECK(std::get<0>(*ok) == "int main() { return 0; }\n");
  CHECK(std::get<1>(*ok).at("summary").as_string() == "empty main");
  auto one = both("```cpp\nint main() { return 1; }\n```");
  REQUIRE_FALSE(one.has_value());
  CHECK(one.error().what.starts_with("the answer has no JSON object"));
  auto two = both("nothing useful");
  REQUIRE_FALSE(two.has_value());
  CHECK(two.error().what.starts_with("the answer has 2 problems:\nthe answer has no fenced code block"));
  CHECK(two.error().what.find("\nthe answer has no JSON object") != std::string::npos);
}
