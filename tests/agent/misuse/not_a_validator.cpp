// Must not compile: act with a type that is not a Validator. The build test
// checks that the error is the sentence naming the missing member.
#include <speedrunner/agent/agent.hpp>

#include "../scripted_model.hpp"

struct NoValueType {
  speedrunner::Result<int> operator()(std::string_view) const { return 1; }
};

int main() {
  speedrunner::testing::ScriptedModel model;
  speedrunner::agent::Agent<speedrunner::testing::ScriptedModel&> agent(model, "s");
  return agent.act("hi", NoValueType{}).has_value() ? 0 : 1;
}
