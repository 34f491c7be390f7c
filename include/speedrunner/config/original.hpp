// The original benchmark's command lines, read as ours: its task and model
// names and its key names (workspace_args.*, science_runner_args.*, coder_args.*,
// exp_config_args.*, slurm_config_args.*) become the keys of this config tree,
// and the caller prints one note naming what was mapped.
#pragma once

#include <speedrunner/core/error.hpp>

#include <array>
#include <cctype>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace speedrunner::config {

struct OriginalMapping {
  std::vector<std::string> overrides;  // the command line in our names
  std::string note;                    // "" when nothing was mapped; else one line for stderr
};

namespace detail {

struct KeyMap {
  std::string_view original, ours;
};

// The original's keys that have a counterpart here (its Hydra groups keep their names).
inline constexpr std::array<KeyMap, 29> original_keys{{
    {"workspace_args.root_path", "workspace.root"},
    {"workspace_args.template_dir", "task.template_dir"},
    {"workspace_args.ignore_list", "workspace.ignore"},
    {"science_runner_args.knowledge_src_paths", "knowledge_src_paths"},
    {"science_runner_args.knowledge_pass_to_coder", "knowledge_pass_to_coder"},
    {"science_runner_args.n_initial_hypotheses", "science_runner.n_initial_hypotheses"},
    {"science_runner_args.n_hypotheses", "science_runner.n_hypotheses"},
    {"science_runner_args.max_n_nodes", "science_runner.max_n_nodes"},
    {"science_runner_args.debug_prob", "science_runner.debug_prob"},
    {"science_runner_args.max_bug_depth", "science_runner.max_bug_depth"},
    {"science_runner_args.max_retries", "science_runner.max_retries"},
    {"coder_args.edit_format", "coder.edit_format"},
    {"coder_args.max_reflections", "coder.max_reflections"},
    {"exp_config_args.max_retries", "science_runner.max_retries"},
    {"exp_config_args.preamble", "task.description"},
    {"exp_config_args.code_instructions", "task.code_instructions"},
    {"exp_config_args.fnames", "task.entry_files"},
    {"exp_config_args.selection_metric", "task.selection.metric"},
    {"exp_config_args.lower_is_better", "task.selection.direction"},
    {"slurm_config_args.qos", "executor.qos"},
    {"slurm_config_args.account", "executor.account"},
    {"slurm_config_args.partition", "executor.partition"},
    {"slurm_config_args.job_name", "executor.job_name"},
    {"slurm_config_args.nodes", "executor.nodes"},
    {"slurm_config_args.tasks_per_node", "executor.tasks_per_node"},
    {"slurm_config_args.gpus_per_node", "executor.gpus_per_node"},
    {"slurm_config_args.cpus_per_task", "executor.cpus_per_task"},
    {"slurm_config_args.mem", "executor.mem"},
    {"slurm_config_args.job_ttl", "executor.job_ttl_minutes"},
}};

// The original's group options whose names differ here.
inline constexpr std::array<KeyMap, 2> original_models{{
    {"claude_4_sonnet", "claude_sonnet_4"},
    {"gemini_2_5", "gemini_2_5_pro"},
}};

inline constexpr std::array<std::string_view, 5> original_prefixes{
    "workspace_args.", "science_runner_args.", "coder_args.", "exp_config_args.", "slurm_config_args."};

}  // namespace detail

// Maps the original's names in `overrides` to ours; a key of the original with no
// counterpart here is an error that names it. Our own names pass unchanged.
[[nodiscard]] inline Result<OriginalMapping> map_original(std::span<const std::string> overrides) {
  OriginalMapping out;
  std::vector<std::string> mapped;
  bool slurm = false, executor_chosen = false;
  for (const auto& arg : overrides) {
    std::string_view a = arg;
    std::string prefix;
    while (!a.empty() && (a.front() == '+' || a.front() == '~') && prefix.size() < 2) {
      prefix += a.front();
      a.remove_prefix(1);
    }
    const auto eq = a.find('=');
    const std::string_view key = a.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? std::string_view{} : a.substr(eq + 1);
    if (key == "executor") executor_chosen = true;

    // task=nanogpt_speedrun/speedrun_record_N names our record_N
    if (key == "task" && value.starts_with("nanogpt_speedrun/speedrun_record_")) {
      std::string ours = prefix + "task=nanogpt_speedrun/record_" +
                         std::string(value.substr(std::string_view("nanogpt_speedrun/speedrun_record_").size()));
      mapped.push_back(arg + " -> " + ours);
      out.overrides.push_back(std::move(ours));
      continue;
    }
    if (key == "model") {
      bool renamed = false;
      for (const auto& m : detail::original_models)
        if (value == m.original) {
          std::string ours = prefix + "model=" + std::string(m.ours);
          mapped.push_back(arg + " -> " + ours);
          out.overrides.push_back(std::move(ours));
          renamed = true;
        }
      if (renamed) continue;
    }
    bool original = false;
    for (auto p : detail::original_prefixes) original = original || key.starts_with(p);
    if (!original) {
      out.overrides.push_back(arg);
      continue;
    }
    const detail::KeyMap* hit = nullptr;
    for (const auto& k : detail::original_keys)
      if (key == k.original) hit = &k;
    if (hit == nullptr) {
      std::string known;
      for (const auto& k : detail::original_keys)
        if (k.original.starts_with(key.substr(0, key.find('.') + 1)))
          known += (known.empty() ? "" : ", ") + std::string(k.original);
      return fail("override '" + arg + "': " + std::string(key) +
                      " is a key of the original benchmark with no counterpart here",
                  "drop it, or use one of the original's keys read here (" + known +
                      "), or our own names (speedrun --cfg shows the tree)");
    }
    std::string ours_value(value);
    if (hit->ours == "task.selection.direction") {
      // the original's boolean becomes our direction
      std::string v(value);
      for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (v == "true") ours_value = "lower";
      else if (v == "false") ours_value = "higher";
      else
        return fail("override '" + arg + "': exp_config_args.lower_is_better takes true or false",
                    "write exp_config_args.lower_is_better=true (or task.selection.direction=lower)");
    }
    if (std::string_view(hit->ours).starts_with("executor.")) slurm = true;
    std::string ours = prefix + std::string(hit->ours) + (eq == std::string_view::npos ? "" : "=" + ours_value);
    mapped.push_back(arg + " -> " + ours);
    out.overrides.push_back(std::move(ours));
  }
  // slurm_config_args.* configure the original's Slurm jobs: here that is executor=slurm
  if (slurm && !executor_chosen) {
    out.overrides.insert(out.overrides.begin(), "executor=slurm");
    mapped.push_back("slurm_config_args.* -> executor=slurm");
  }
  if (!mapped.empty()) {
    out.note = "note: the original benchmark's names, read as ours: ";
    for (std::size_t i = 0; i < mapped.size(); ++i) out.note += (i ? "; " : "") + mapped[i];
  }
  return out;
}

}  // namespace speedrunner::config
