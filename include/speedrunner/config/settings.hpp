// The settings this area owns, as typed structs over the config tree:
// run-level keys, the science runner (search) presets, executors and tasks.
// Bind them with config::bind<T>(cfg, "science_runner") and friends; their
// defaults live only in config/ (default.json and the group files).
#pragma once

#include <speedrunner/config/bind.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace speedrunner::config {

// Money, token and wall-clock limits of a run; null means no limit.
struct Budget {
  BOOST_HANA_DEFINE_STRUCT(Budget,
    (std::optional<NonNegative<double>>, usd),             // stop before model spend passes this
    (std::optional<NonNegative<std::int64_t>>, tokens),    // stop before model tokens (in + out) pass this
    (std::optional<NonNegative<double>>, hours));          // stop after this much wall-clock time
};

// Model answers kept on disk (llm::Cached): `record` stores every answer,
// `replay` answers only from the store (a miss is an error), `off` neither.
// A model's reading of each finished run (was the goal met, which errors
// matter), kept as the node's outcome for the ideator; off, outcomes come
// from the metrics alone.
// `model`: the analyst's own model (a model config object, or the name of one
// under config/model/); null: the run's `model`.
struct AnalysisSettings {
  BOOST_HANA_DEFINE_STRUCT(AnalysisSettings,
    (bool, summarize),
    (std::optional<json::value>, model));
};

struct LlmSettings {
  BOOST_HANA_DEFINE_STRUCT(LlmSettings,
    (std::string, cache),       // off | record | replay, checked by llm::parse_cache_mode
    (std::string, cache_dir));  // shared by runs, so a re-run can pay nothing
};

// Where a run lives: `root` is the run directory (journal.json, config.json,
// one folder per version v_k); `ignore` lists names a child version does not
// copy from its parent.
struct WorkspaceSettings {
  BOOST_HANA_DEFINE_STRUCT(WorkspaceSettings,
    (std::string, root),
    (std::vector<std::string>, ignore));
};

// The top-level keys of a run. The root also holds the groups, so other keys
// are allowed here; each group is bound on its own.
struct RunSettings {
  static constexpr bool allows_unknown_keys = true;
  BOOST_HANA_DEFINE_STRUCT(RunSettings,
    (NonNegative<int>, n_iterations),        // search iterations; the first is the batch of initial drafts
    (std::uint64_t, seed),                   // seeds the search; same seed + replayed model = same tree
    (Budget, budget),
    (LlmSettings, llm),
    (AnalysisSettings, analysis),
    (WorkspaceSettings, workspace),
    (std::vector<std::string>, knowledge_src_paths),  // hint files (globs) given to the ideator
    (bool, knowledge_pass_to_coder));        // also show the hints to the coder
};

// Search strategy of the science runner: best-of-N (flat, tree, forest) or AIDE.
enum class SearchStrategy { bon, aide };
constexpr std::array<std::string_view, 2> enum_names(SearchStrategy) { return {"bon", "aide"}; }

// Which node an improvement starts from (search::ImproveFrom): the best valid
// node of the tree, or the original's rule, the best of v_0, the node last
// expanded and the last iteration's children.
enum class ImproveRule { global_best, latest_iteration };
constexpr std::array<std::string_view, 2> enum_names(ImproveRule) { return {"global_best", "latest_iteration"}; }

// config/science_runner/*.json: the benchmark's runners and the paper's scaffold presets.
struct ScienceRunnerSettings {
  BOOST_HANA_DEFINE_STRUCT(ScienceRunnerSettings,
    (SearchStrategy, strategy),
    (AtLeast<int, 1>, n_initial_hypotheses),  // drafts from the root before any improvement
    (AtLeast<int, 1>, n_hypotheses),          // children proposed per step
    (AtLeast<int, 1>, max_n_nodes),           // stop when the tree has this many nodes
    (Probability, debug_prob),                // chance of debugging a buggy leaf instead of improving
    (NonNegative<int>, max_bug_depth),        // debug attempts along one chain before giving up on it
    (NonNegative<int>, max_retries),          // retries of a failed ideate/code step
    (ImproveRule, improve_from));             // global_best | latest_iteration (the original's)
};

// config/coder/*.json: how a hypothesis becomes edits. aider: a model with an
// edit format; patch: a given unified diff, no model (the level-0 oracle).
enum class CoderKind { aider, patch };
constexpr std::array<std::string_view, 2> enum_names(CoderKind) { return {"aider", "patch"}; }

// What every coder config has; read it to dispatch, then bind the kind's own struct.
struct CoderSettings {
  static constexpr bool allows_unknown_keys = true;
  BOOST_HANA_DEFINE_STRUCT(CoderSettings,
    (CoderKind, kind));
};

// config/coder/aider.json: Aider's edit protocol.
struct AiderCoderSettings {
  BOOST_HANA_DEFINE_STRUCT(AiderCoderSettings,
    (CoderKind, kind),
    (std::string, edit_format),         // diff | whole | udiff (the runner lists what it ships)
    (NonNegative<int>, max_reflections),  // failed edits shown back to the model, at most
    (std::optional<json::value>, model)); // the coder's own model (object or name); null: the run's `model`
};

// config/coder/patch.json: applies the unified diff found in the hypothesis
// (ideator=dummy with a level-0 hint) or in the coder's knowledge.
struct PatchCoderSettings {
  BOOST_HANA_DEFINE_STRUCT(PatchCoderSettings,
    (CoderKind, kind));
};

// How a node's launch command runs: in a bubblewrap sandbox (docs/sandbox.md) or unconfined.
enum class SandboxMode { bwrap, off };
constexpr std::array<std::string_view, 2> enum_names(SandboxMode) { return {"bwrap", "off"}; }

// executor.limits: per-node limits inside the sandbox (exec/sandbox.hpp).
struct SandboxLimitSettings {
  BOOST_HANA_DEFINE_STRUCT(SandboxLimitSettings,
    (NonNegative<std::int64_t>, processes),             // ulimit -u; 0: as the machine has it
    (NonNegative<std::int64_t>, open_files),            // ulimit -n
    (NonNegative<std::int64_t>, file_mb),               // the largest file a node writes, logs included
    (std::optional<NonNegative<std::int64_t>>, memory_mb),  // address space; null: none (CUDA reserves much)
    (NonNegative<std::int64_t>, tmp_mb),                // the private /tmp and /dev/shm (memory-backed)
    (std::optional<NonNegative<std::int64_t>>, disk_mb));  // the version folder's total size; null: 65536
};

enum class ExecutorKind { local, slurm };
constexpr std::array<std::string_view, 2> enum_names(ExecutorKind) { return {"local", "slurm"}; }

// What every executor config has; read it to dispatch, then bind the kind's own struct.
struct ExecutorSettings {
  static constexpr bool allows_unknown_keys = true;
  BOOST_HANA_DEFINE_STRUCT(ExecutorSettings,
    (ExecutorKind, kind),
    (AtLeast<int, 1>, max_parallel));  // experiments in flight at once
};

// config/executor/local.json: slots on this machine.
struct LocalExecutorSettings {
  BOOST_HANA_DEFINE_STRUCT(LocalExecutorSettings,
    (ExecutorKind, kind),
    (AtLeast<int, 1>, max_parallel),
    (std::vector<int>, gpus),             // CUDA device ids handed out to slots; empty: none
    (NonNegative<int>, gpus_per_job),     // CUDA_VISIBLE_DEVICES gets this many of `gpus`
    (NonNegative<double>, kill_grace_s),  // SIGTERM, then SIGKILL after this long
    (std::optional<SandboxMode>, sandbox),                          // null: bwrap
    (std::optional<std::string>, bwrap),                            // the bwrap program; null: bwrap on PATH
    (std::optional<std::vector<std::string>>, sandbox_read_only),   // more host paths seen read-only
    (std::optional<std::vector<std::string>>, sandbox_writable),    // more host paths seen writable
    (std::optional<SandboxLimitSettings>, limits),
    (AtLeast<int, 256>, log_tail_chars),  // head and tail of a log kept for prompts
    (std::optional<double>, max_log_mb)); // cap of stdout.log and stderr.log (head + tail); default 64
};

// config/executor/slurm.json: one batch job per experiment.
struct SlurmExecutorSettings {
  BOOST_HANA_DEFINE_STRUCT(SlurmExecutorSettings,
    (ExecutorKind, kind),
    (AtLeast<int, 1>, max_parallel),
    (std::optional<std::string>, partition),
    (std::optional<std::string>, account),
    (std::optional<std::string>, qos),
    (std::string, job_name),
    (AtLeast<int, 1>, nodes),
    (AtLeast<int, 1>, tasks_per_node),
    (NonNegative<int>, gpus_per_node),
    (AtLeast<int, 1>, cpus_per_task),
    (std::optional<std::string>, mem),          // --mem per node, e.g. "64G"; null: the cluster's default
    (AtLeast<int, 1>, job_ttl_minutes),
    (AtLeast<double, 0.1>, poll_interval_s),
    (bool, requeue_preempted),
    (std::optional<NonNegative<int>>, max_requeues),  // requeues of one preempted job; null: 3
    (std::vector<std::string>, extra_sbatch_lines),   // each becomes "#SBATCH <line>"
    (std::map<std::string, std::string>, env),
    (std::optional<SandboxMode>, sandbox),                          // null: bwrap
    (std::optional<std::string>, bwrap),                            // the bwrap program; null: bwrap on PATH
    (std::optional<std::vector<std::string>>, sandbox_read_only),   // more host paths seen read-only
    (std::optional<std::vector<std::string>>, sandbox_writable),    // more host paths seen writable
    (std::optional<SandboxLimitSettings>, limits),
    (AtLeast<int, 256>, log_tail_chars));
};

// What the types cannot say about the Slurm settings: mem is a size Slurm reads (digits, then an
// optional unit K, M, G or T; megabytes without one).
[[nodiscard]] inline Result<void> check(const SlurmExecutorSettings& s) {
  if (!s.mem) return {};
  const std::string& m = *s.mem;
  std::size_t digits = 0;
  while (digits < m.size() && m[digits] >= '0' && m[digits] <= '9') ++digits;
  const std::string_view unit = std::string_view(m).substr(digits);
  const bool ok = digits > 0 && (unit.empty() || (unit.size() == 1 && std::string_view("KMGTkmgt").find(unit[0]) !=
                                                                          std::string_view::npos));
  if (!ok)
    return fail("executor.mem: expected a memory size such as 64G or 4096M, got \"" + m + "\"",
                "write digits with an optional unit K, M, G or T, or null for the cluster's default");
  return {};
}

// Whether a smaller or a larger selection metric is better.
enum class Direction { lower, higher };
constexpr std::array<std::string_view, 2> enum_names(Direction) { return {"lower", "higher"}; }

// duration: a time with a unit in the log (2968348ms, 12.5s), compared in milliseconds
enum class MetricType { integer, number, duration };
constexpr std::array<std::string_view, 3> enum_names(MetricType) { return {"integer", "number", "duration"}; }

struct Selection {
  BOOST_HANA_DEFINE_STRUCT(Selection,
    (std::string, metric),
    (Direction, direction));
};

// config/task/*.json: what to improve and how to judge it. Tasks may carry
// keys of their own (the nanogpt track switch), so others are allowed.
struct TaskSettings {
  static constexpr bool allows_unknown_keys = true;
  BOOST_HANA_DEFINE_STRUCT(TaskSettings,
    (std::string, name),                     // names the workspace folder
    (std::string, description),              // what the scientist is told the task is
    (std::string, code_instructions),        // rules for edits (keep the log lines, ...)
    (std::string, template_dir),             // workspace_templates/... copied to v_0
    (std::vector<std::string>, entry_files), // files the coder sees in full and may edit
    // further files edits may change or create: patterns relative to a version
    // ('*' matches any characters, '/' included: "*.cu" is every .cu file)
    (std::optional<std::vector<std::string>>, editable_files),
    (std::string, launch_command),           // run in the version directory
    (std::map<std::string, std::string>, env),
    (std::map<std::string, MetricType>, metrics),
    (std::optional<std::map<std::string, std::string>>, metric_keys),  // a metric's log key when not its name
    (Selection, selection),
    (std::map<std::string, double>, metrics_at_most),   // valid only if metric <= bound
    (std::map<std::string, double>, metrics_at_least),  // valid only if metric >= bound
    (AtLeast<double, 1.0>, time_limit_s));
};

// Binds every settings struct above from a composed config, so a bad value
// fails before a run starts (`speedrun --cfg` and the runner call this).
[[nodiscard]] inline Result<void> check_settings(const json::object& cfg) {
  if (auto r = bind<RunSettings>(cfg, ""); !r) return std::unexpected(std::move(r.error()));
  if (cfg.contains("science_runner"))
    if (auto r = bind<ScienceRunnerSettings>(cfg, "science_runner"); !r) return std::unexpected(std::move(r.error()));
  if (cfg.contains("task"))
    if (auto r = bind<TaskSettings>(cfg, "task"); !r) return std::unexpected(std::move(r.error()));
  if (cfg.contains("coder")) {
    auto c = bind<CoderSettings>(cfg, "coder");
    if (!c) return std::unexpected(c.error());
    if (c->kind == CoderKind::aider) {
      if (auto r = bind<AiderCoderSettings>(cfg, "coder"); !r) return std::unexpected(std::move(r.error()));
    } else if (auto r = bind<PatchCoderSettings>(cfg, "coder"); !r) {
      return std::unexpected(std::move(r.error()));
    }
  }
  if (cfg.contains("executor")) {
    auto e = bind<ExecutorSettings>(cfg, "executor");
    if (!e) return std::unexpected(std::move(e.error()));
    if (e->kind == ExecutorKind::local) {
      if (auto r = bind<LocalExecutorSettings>(cfg, "executor"); !r) return std::unexpected(std::move(r.error()));
    } else if (auto r = bind<SlurmExecutorSettings>(cfg, "executor"); !r) {
      return std::unexpected(std::move(r.error()));
    } else if (auto ok = check(*r); !ok) {
      return std::unexpected(std::move(ok.error()));
    }
  }
  return {};
}

}  // namespace speedrunner::config
