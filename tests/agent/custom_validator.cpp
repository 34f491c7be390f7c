// A validator written here, outside the library, plugs into Agent::act and
// the combinators like the library's own.
#include <speedrunner/agent/agent.hpp>
#include <speedrunner/validate/code_block.hpp>
#include <speedrunner/validate/validator.hpp>

#include <charconv>

#include <cmath>

#include "catch.hpp"
#include "scripted_model.hpp"

namespace sr = speedrunner;
using sr::testing::ScriptedModel;

namespace {

// Reads "learning rate: 0.0018" from an answer and wants it in (0, 0.1].
struct LearningRate {
  using value_type = double;

  sr::Result<double> operator()(std::string_view answer) const {
    constexpr std::string_view key = "learning rate:";
    auto at = answer.rfind(key);
    if (at == std::string_view::npos)
      return sr::validate::reject("no line \"learning rate: <number>\"; end the answer with one");
    auto rest = answer.substr(at + key.size());
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    double lr = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), lr);
    if (ec != std::errc{}) return sr::validate::reject("the learning rate is not a number");
    if (lr <= 0 || lr > 0.1)
      return sr::validate::reject("the learning rate " + std::string(rest.substr(0, end - rest.data())) +
                                  " is outside (0, 0.1]");
    return lr;
  }
};

struct NoValueType {
  sr::Result<int> operator()(std::string_view) const { return 1; }
};
struct WrongReturn {
  using value_type = int;
  int operator()(std::string_view) const { return 1; }
};

}  // namespace

TEST_CASE("a validator defined in a test file is a Validator", "[agent][custom]") {
  STATIC_REQUIRE(sr::validate::Validator<LearningRate>);
  STATIC_REQUIRE_FALSE(sr::validate::Validator<NoValueType>);
  STATIC_REQUIRE_FALSE(sr::validate::Validator<WrongReturn>);
  STATIC_REQUIRE(sr::validate::check_validator<LearningRate>());
}

TEST_CASE("a custom validator plugs into act, retry and feedback included", "[agent][custom]") {
  ScriptedModel model{.answers = {"Warmup is short, so I would go higher.\nlearning rate: 0.6",
                                  "You are right, that diverges.\nlearning rate: 0.0036"}};
  sr::agent::Agent<ScriptedModel&> agent(model, "You tune optimizers.");
  auto lr = agent.act("Pick a learning rate for AdamW on GPT-2 124M.", LearningRate{});
  REQUIRE(lr.has_value());
  CHECK(std::abs(*lr - 0.0036) < 1e-12);
  REQUIRE(model.received.size() == 2);
  CHECK(model.received[1].messages[2].content.find("the learning rate 0.6 is outside (0, 0.1]") != std::string::npos);
}

TEST_CASE("a custom validator composes with the library's", "[agent][custom]") {
  auto both = sr::validate::all_of(LearningRate{}, sr::validate::code_block("python"));
  STATIC_REQUIRE(sr::validate::Validator<decltype(both)>);
  auto ok = both("```python\nopt = AdamW(lr=3e-3)\n```\nlearning rate: 0.003");
  REQUIRE(ok.has_value());
  CHECK(std::abs(std::get<0>(*ok) - 0.003) < 1e-12);
  CHECK(std::get<1>(*ok) == "opt = AdamW(lr=3e-3)\n");
  auto bad = both("learning rate: 2");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().what.starts_with("the answer has 2 problems:\nthe learning rate 2 is outside (0, 0.1]\n"));
}
