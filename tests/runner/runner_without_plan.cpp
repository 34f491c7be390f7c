// Must not compile: a Runner whose search policy has no plan(); the compiler
// must say so in a sentence (tests/runner/meson.build checks the message).
#include <speedrunner/runner.hpp>

#include "doubles.hpp"

struct NoPlan {
  int choose() const { return 0; }
};

int main() {
  using Broken = speedrunner::Runner<NoPlan, speedrunner::testing::ScriptedIdeator,
                                     speedrunner::testing::ScriptedCoder>;
  Broken* runner = nullptr;
  (void)sizeof(Broken);
  return runner == nullptr ? 0 : 1;
}
