// The runner on the collatz template (compiled and run by its launch command),
// with a scripted ideator and coder that produce a compile error and its fix.
#include <speedrunner/runner.hpp>
#include <speedrunner/search/aide.hpp>

#include "catch.hpp"
#include "doubles.hpp"
#include "support.hpp"

namespace sr = speedrunner;
using namespace speedrunner::testing;
using sr::ideate::Stage;

namespace {

sr::Task collatz_task() {
  sr::Task t;
  t.name = "collatz";
  t.description = "Find the start value below --limit with the longest Collatz chain.";
  t.template_dir = source_root() / "workspace_templates" / "collatz";
  t.files = {"collatz.cpp"};
  // a small limit keeps the test fast; the real task searches below 10M
  t.launch_command = "c++ -O1 -o collatz collatz.cpp && ./collatz --limit 200000 --budget-steps 1000000000";
  t.timeout = std::chrono::seconds(30);
  t.metrics.metrics = {{"runtime", sr::metrics::Unit::s}, {"start_value", {}, true}, {"max_steps", {}, true}};
  t.metrics.selection = "max_steps";
  t.metrics.at_most = {{"runtime", 5.5}};
  t.ignore = {"collatz"};
  return t;
}

const std::string loop_head = "for (std::uint64_t i = 1; i < limit; ++i) {";
const std::string steps_line = "const int steps = collatz_steps(i);";

}  // namespace

TEST_CASE("the runner on collatz: a draft, a compile error, its debug and an improvement", "[runner][collatz]") {
  TempDir tmp;
  ScriptedIdeator ideator;
  ideator.script = {{"upper half", "only start values in [limit/2, limit) can hold the longest chain"},
                    {"typo", "tidy the loop"},
                    {"fix typo", "restore the semicolon"},
                    {"odd only", "skip even start values"}};
  ScriptedCoder coder;
  coder.edit = [](const sr::code::CodeRequest& r) -> sr::Result<void> {
    const auto file = r.version_dir / "collatz.cpp";
    const auto& s = r.hypothesis.summary;
    if (s == "upper half") return replace_in(file, loop_head, "for (std::uint64_t i = limit / 2; i < limit; ++i) {");
    if (s == "typo") return replace_in(file, steps_line, "const int steps = collatz_steps(i)");
    if (s == "fix typo") return replace_in(file, "collatz_steps(i)\n", "collatz_steps(i);\n");
    return replace_in(file, "i < limit; ++i) {", "i < limit; i += 2) {\n    if ((i & 1) == 0) continue;");
  };
  sr::Runner<sr::search::Aide, ScriptedIdeator, ScriptedCoder> runner(
      sr::search::Aide{.drafts = 1, .debug_prob = 1.0}, ideator, coder, sr::exec::Local{}, collatz_task(),
      {.n_iterations = 4, .poll_interval = std::chrono::milliseconds(5)});
  auto s = runner.start(tmp.path() / "run");
  REQUIRE(s.has_value());
  const auto& j = runner.journal();
  REQUIRE(j.n_nodes() == 4);
  // v_1 draft: the upper half finds the answer below 200000
  CHECK(j.at(1).stage == Stage::draft);
  CHECK(j.at(1).valid);
  CHECK(j.at(1).metrics.at("max_steps") == 382);
  CHECK(j.at(1).metrics.at("start_value") == 156159);
  // v_2 improve: does not compile; the outcome quotes the compiler
  CHECK(j.at(2).stage == Stage::improve);
  CHECK(j.at(2).buggy());
  CHECK(j.at(2).reason == "exit status 1");
  CHECK(j.at(2).outcome.find("error") != std::string::npos);
  // v_3 debug of v_2: compiles again
  CHECK(j.at(3).stage == Stage::debug);
  CHECK(j.at(3).parent == 2);
  CHECK(j.at(3).valid);
  CHECK((*runner.ideator().requests)[2].parent_outcome.find("collatz.cpp") != std::string::npos);
  // v_4 improves the best node
  CHECK(j.at(4).stage == Stage::improve);
  CHECK(j.at(4).parent == 1);
  CHECK(j.at(4).valid);
  CHECK(s->best == 1);
  CHECK_FALSE(std::filesystem::exists(tmp.path() / "run" / "v_2" / "collatz"));  // build products not copied
}
