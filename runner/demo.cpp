// The offline demo's settings: the collatz task, the replay model and the
// shipped transcript. Stands in for the composed default config until the
// config layer supplies it.
#include "job.hpp"

#include <chrono>

namespace speedrun {

JobSettings demo_settings(const std::filesystem::path& run_dir) {
  namespace sr = speedrunner;
  JobSettings s;
  s.search = "aide";
  s.aide = {.drafts = 5, .debug_prob = 0.5, .max_bug_depth = 3};
  s.ideator = "base";
  s.edit_format = "diff";
  s.task.name = "collatz";
  s.task.description =
      "collatz.cpp searches the start values below 10,000,000 for the one with the longest Collatz chain "
      "(n -> n/2 if even, 3n+1 if odd, until 1) within a budget of chain steps, and prints the best start "
      "value, its chain length and its runtime. Find a longer chain within the same budget.";
  s.task.code_instructions =
      "Keep the program runnable with the same launch command and keep printing the line "
      "limit: <n> start_value: <n> max_steps: <n> runtime: <seconds>s. Count every chain step toward the "
      "budget. Do not hard-code the answer.";
  s.task.template_dir = "workspace_templates/collatz";
  s.task.files = {"collatz.cpp"};
  s.task.launch_command = "./run.sh";
  s.task.timeout = std::chrono::seconds(120);
  s.task.metrics.metrics = {{"runtime", sr::metrics::Unit::ms},
                            {"start_value", sr::metrics::Unit::none, true},
                            {"max_steps", sr::metrics::Unit::none, true}};
  s.task.metrics.selection = "max_steps";
  s.task.metrics.at_most = {{"runtime", 60000}};
  s.task.ignore = {".git", "build", "*.o", "*.log", "collatz"};
  s.control.n_iterations = 5;
  s.control.max_n_nodes = 20;
  s.model.provider = sr::llm::Provider::replay;
  s.model.name = "replay";
  s.model.transcript = "data/demo/collatz_transcript.jsonl";
  s.run_dir = run_dir;
  return s;
}

}  // namespace speedrun
