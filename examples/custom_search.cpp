// A research user's own search policy in the library's Runner: "patient greedy"
// improves the best node, and drafts anew after `patience` failures in a row.
// Offline: the coder's answers are replayed. Usage: custom_search SOURCE_ROOT RUN_DIR
#include <speedrunner/code/aider_coder.hpp>
#include <speedrunner/ideate/dummy.hpp>
#include <speedrunner/llm/replay.hpp>
#include <speedrunner/runner.hpp>

#include <cstdio>

namespace sr = speedrunner;
using sr::ideate::Stage;

struct PatientGreedy {
  int patience = 2;
  std::vector<sr::search::Decision> plan(const sr::workspace::Journal& j, std::mt19937_64&) const {
    int failures = 0;
    for (auto n = j.nodes.rbegin(); n != j.nodes.rend() && n->buggy(); ++n) ++failures;
    auto best = j.best_valid();
    if (!best || failures >= patience) return {{Stage::draft, 0}};
    return {{Stage::improve, *best}};
  }
};

// Two SEARCH/REPLACE answers for the collatz template: odd starts, then the upper half.
constexpr const char* answers = R"({"answer": "collatz.cpp\n```cpp\n<<<<<<< SEARCH\n  for (std::uint64_t i = 1; i < limit; ++i) {\n=======\n  for (std::uint64_t i = 1; i < limit; i += 2) {\n>>>>>>> REPLACE\n```\n"}
{"answer": "collatz.cpp\n```cpp\n<<<<<<< SEARCH\n  for (std::uint64_t i = 1; i < limit; i += 2) {\n=======\n  for (std::uint64_t i = (limit / 2) | 1; i < limit; i += 2) {\n>>>>>>> REPLACE\n```\n"})";

int main(int argc, char** argv) {
  if (argc != 3) return std::fprintf(stderr, "usage: custom_search SOURCE_ROOT RUN_DIR\n"), 2;
  auto model = sr::llm::ReplayModel::from_text(answers, "examples/custom_search.cpp");
  if (!model) return std::fprintf(stderr, "%s\n", model.error().message().c_str()), 1;
  sr::Task task;
  task.template_dir = std::filesystem::path(argv[1]) / "workspace_templates" / "collatz";
  task.files = {"collatz.cpp"};
  task.knowledge = "Walk fewer start values: odd ones, and only where the longest chain can start.";
  task.launch_command = "./run.sh";
  task.metrics = {.metrics = {{"start_value"}, {"max_steps"}}, .selection = "max_steps"};
  using Coder = sr::code::AiderCoder<sr::llm::ReplayModel>;
  sr::Runner<PatientGreedy, sr::ideate::Dummy, Coder> runner(
      PatientGreedy{}, sr::ideate::Dummy{}, Coder(*model), sr::exec::Local{}, task, {.n_iterations = 2});
  auto summary = runner.start(argv[2]);
  if (!summary) return std::fprintf(stderr, "%s\n", summary.error().message().c_str()), 1;
  for (const auto& n : runner.journal().nodes) std::printf("%s: %s\n", n.name().c_str(), n.outcome.c_str());
  return summary->best ? 0 : 1;
}
