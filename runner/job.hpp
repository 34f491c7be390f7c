// One scientist job of the speedrun executable, with every setting already
// resolved: which policies (by their config names), their parameters, the
// task, the model and the run directory. The config layer fills it in.
#pragma once

#include <speedrunner/exec/local.hpp>
#include <speedrunner/exec/slurm.hpp>
#include <speedrunner/llm/cached.hpp>
#include <speedrunner/llm/config.hpp>
#include <speedrunner/runner/task.hpp>
#include <speedrunner/search/aide.hpp>
#include <speedrunner/search/bon.hpp>

#include <filesystem>
#include <optional>
#include <string>

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

}  // namespace speedrun
