// Must not compile: act with a retry policy that lacks next_delay.
#include <speedrunner/agent/agent.hpp>
#include <speedrunner/validate/code_block.hpp>

#include "../scripted_model.hpp"

struct MaxTries {
  int n = 3;
};

int main() {
  speedrunner::testing::ScriptedModel model;
  speedrunner::agent::Agent<speedrunner::testing::ScriptedModel&> agent(model, "s");
  return agent.act("hi", speedrunner::validate::code_block("python"), MaxTries{}).has_value() ? 0 : 1;
}
