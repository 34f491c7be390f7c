// One scientist job of the speedrun executable, with every setting already
// resolved: which policies (by their config names), their parameters, the
// task, the model and the run directory. The config layer fills it in.
#pragma once

#include <speedrunner/code/context.hpp>
#include <speedrunner/exec/local.hpp>
#include <speedrunner/exec/slurm.hpp>
#include <speedrunner/llm/cached.hpp>
#include <speedrunner/llm/config.hpp>
#include <speedrunner/runner/task.hpp>
#include <speedrunner/search/aide.hpp>
#include <speedrunner/search/bon.hpp>

#include <boost/json/object.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace speedrun {

struct JobSettings {
  // config names of the policies: science_runner.strategy, ideator.kind, coder.kind
  // (and coder.edit_format for aider), executor.kind
  std::string search = "aide";
  std::string ideator = "base";
  std::string coder = "aider";
  std::string edit_format = "diff";
  std::string executor = "local";

  speedrunner::search::BoN bon;
  speedrunner::search::Aide aide;
  int ideator_max_attempts = 3;
  int max_reflections = 3;
  bool summarize_runs = false;  // analysis.summarize: a model summary of each run's log
  speedrunner::exec::LocalOptions local;
  speedrunner::exec::SlurmOptions slurm;

  speedrunner::Task task;
  speedrunner::RunControl control;
  speedrunner::llm::ModelConfig model;
  // a role's own model (ideator.model, coder.model, analysis.model); unset: `model`
  std::optional<speedrunner::llm::ModelConfig> ideator_model, coder_model, analysis_model;
  std::optional<double> budget_usd;
  std::optional<std::int64_t> budget_tokens;
  speedrunner::llm::CacheMode cache = speedrunner::llm::CacheMode::off;
  std::filesystem::path cache_dir;
  std::filesystem::path prompt_dir = "config/prompts";

  std::filesystem::path run_dir;
  bool resume = false;
};

// Holds the pid of the runner working on a run directory, while it works.
inline constexpr char runner_pid_file[] = "runner.pid";

// Runs (or resumes) the job; prints progress and a closing summary; returns the exit code.
int run_job(const JobSettings& settings);

// The job a composed config describes, its run in `run_dir` (run.cpp).
speedrunner::Result<JobSettings> job_from_config(const boost::json::object& config,
                                                 const std::filesystem::path& run_dir);

// A model's context window as the coder checks its prompts against it.
inline speedrunner::code::ContextLimit context_limit(const speedrunner::llm::ModelConfig& m) {
  return {static_cast<std::size_t>(m.context_window), static_cast<std::size_t>(m.params.max_tokens.value_or(0)),
          m.label.empty() ? m.name : m.label};
}

// The coder's first prompt on the task's template, as its model would get it
// (context.cpp): each file of the template, how it is shown and its size.
struct CoderContext {
  struct File {
    std::string path;
    std::string shown;  // "full" (an entry file), "read-only" or "listed"
    std::size_t bytes = 0, tokens = 0;
    std::string about;  // a listed file's first comment line
  };
  std::vector<File> files;
  std::size_t prompt_bytes = 0, prompt_tokens = 0;  // system prompt and first message
  std::size_t all_files_tokens = 0;                 // every file shown in full instead
  speedrunner::code::ContextLimit limit;
  [[nodiscard]] bool fits() const { return limit.fits(prompt_tokens); }
};
speedrunner::Result<CoderContext> coder_context(const JobSettings& settings);
// An Aider coder's first prompt that cannot fit its model's window, as an
// error naming both sizes; other coders send no prompt and always pass.
speedrunner::Result<void> check_coder_context(const JobSettings& settings);

}  // namespace speedrun
