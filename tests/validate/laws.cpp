// Laws every Validator in the library must obey, run over a type list:
// deterministic, accepts realistic answers, rejects with a non-empty reason,
// and survives every prefix of an answer (a reply cut off anywhere).
#include <speedrunner/validate/choice.hpp>
#include <speedrunner/validate/code_block.hpp>
#include <speedrunner/validate/edits.hpp>
#include <speedrunner/validate/json.hpp>
#include <speedrunner/validate/json_as.hpp>
#include <speedrunner/validate/validator.hpp>

#include <concepts>
#include <string>
#include <tuple>
#include <vector>

#include "catch.hpp"

namespace validate = speedrunner::validate;

namespace {

struct IdeaJson {
  BOOST_HANA_DEFINE_STRUCT(IdeaJson, (std::string, summary), (std::string, hypothesis));
};

const std::string reasoning_then_json =
    "The bottleneck is the attention kernel ({softmax} dominates).\n"
    "```json\n{\"summary\": \"flash attention\", \"hypothesis\": \"Replace the naive attention with a tiled one.\"}\n```\n";

struct CodeBlockCase {
  static validate::CodeBlock make() { return validate::code_block("cpp"); }
  static std::vector<std::string> accepted() {
    return {"```cpp\nint main() { return 0; }\n```",
            "I changed one line.\n```c++\nconstexpr int kSteps = 5100;\n```\nThat should be all.",
            "```python\nx = 1\n```\nand the C++ side:\n```cpp\nvoid f();\n```\n```text\nlog\n```"};
  }
  static std::vector<std::string> rejected() { return {"", "no code here", "```python\nx = 1\n```", "```cpp\nint x;"}; }
};

struct JsonObjectCase {
  static validate::JsonObject make() { return {}; }
  static std::vector<std::string> accepted() { return {"{\"a\": 1}", reasoning_then_json, "prose {\"x\": [1, {\"y\": 2}]} prose"}; }
  static std::vector<std::string> rejected() { return {"", "no json", "{\"a\": }", "[1, 2]"}; }
};

struct JsonFieldsCase {
  static validate::JsonFields make() {
    return {{{"summary", validate::FieldType::string}, {"hypothesis", validate::FieldType::string}}};
  }
  static std::vector<std::string> accepted() { return {reasoning_then_json}; }
  static std::vector<std::string> rejected() { return {"", "{\"summary\": 1}", "{\"hypothesis\": \"x\"}"}; }
};

struct JsonAsCase {
  static validate::JsonAs<IdeaJson> make() { return {}; }
  static std::vector<std::string> accepted() { return {reasoning_then_json}; }
  static std::vector<std::string> rejected() { return {"", "{\"summary\": \"x\", \"hypothesis\": null}", "summary: x"}; }
};

struct OneOfCase {
  static validate::OneOf make() { return {{"draft", "improve", "debug"}}; }
  static std::vector<std::string> accepted() { return {"draft", "Thinking...\nAnswer: improve"}; }
  static std::vector<std::string> rejected() { return {"", "maybe", "draft or debug"}; }
};

struct AndThenCase {
  static auto make() { return validate::and_then(validate::code_block("json"), validate::JsonObject{}); }
  static std::vector<std::string> accepted() { return {reasoning_then_json}; }
  static std::vector<std::string> rejected() { return {"", "{\"a\": 1}", "```json\nnot json\n```"}; }
};

struct AllOfCase {
  static auto make() { return validate::all_of(validate::code_block("cpp"), validate::JsonObject{}); }
  static std::vector<std::string> accepted() { return {"```cpp\nint x;\n```\n{\"ok\": true}"}; }
  static std::vector<std::string> rejected() { return {"", "```cpp\nint x;\n```", "{\"ok\": true}"}; }
};

struct SearchReplaceCase {
  static validate::SearchReplaceBlocks make() { return {}; }
  static std::vector<std::string> accepted() {
    return {"Shorter warmup:\ntrain.py\n```python\n<<<<<<< SEARCH\nwarmup = 700\n=======\nwarmup = 256\n>>>>>>> REPLACE\n```\n",
            "new_file.py\n```\n<<<<<<< SEARCH\n=======\nprint('new')\n>>>>>>> REPLACE\n```"};
  }
  static std::vector<std::string> rejected() {
    return {"", "just prose", "train.py\n```\n<<<<<<< SEARCH\nx\n>>>>>>> REPLACE\n```"};
  }
};

using ValidatorCases = std::tuple<CodeBlockCase, JsonObjectCase, JsonFieldsCase, JsonAsCase, OneOfCase, AndThenCase,
                                  AllOfCase, SearchReplaceCase>;

template <class R>
bool same_result(const R& a, const R& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a.has_value()) return a.error().what == b.error().what;
  if constexpr (std::equality_comparable<typename R::value_type>) return *a == *b;
  else return true;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("a validator is deterministic and accepts realistic answers", "[validate][laws]",
                        ValidatorCases) {
  auto v = TestType::make();
  STATIC_REQUIRE(validate::Validator<decltype(v)>);
  for (const auto& answer : TestType::accepted()) {
    INFO(answer);
    auto first = v(answer);
    CHECK(first.has_value());
    CHECK(same_result(first, v(answer)));
  }
}

TEMPLATE_LIST_TEST_CASE("a validator rejects with a reason the model can act on", "[validate][laws]",
                        ValidatorCases) {
  auto v = TestType::make();
  for (const auto& answer : TestType::rejected()) {
    INFO(answer);
    auto r = v(answer);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().what.size() > 10);
    CHECK(r.error().code == speedrunner::ExitCode::failure);
    CHECK(same_result(r, v(answer)));
  }
}

TEMPLATE_LIST_TEST_CASE("a validator survives an answer cut off at any point", "[validate][laws]", ValidatorCases) {
  auto v = TestType::make();
  for (const auto& answer : TestType::accepted()) {
    for (std::size_t n = 0; n <= answer.size(); ++n) {
      auto r = v(std::string_view(answer).substr(0, n));
      if (!r.has_value()) REQUIRE_FALSE(r.error().what.empty());
    }
  }
}
