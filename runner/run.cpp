// `speedrun [--config-dir DIR] [OVERRIDE...]` and `speedrun resume RUN_DIR
// [OVERRIDE...]`: compose (or reload) the config, bind each group's typed
// settings, save the resolved config in the run directory, and run the job.
#include "commands.hpp"
#include "job.hpp"

#include <speedrunner/config/bind.hpp>
#include <speedrunner/config/compose.hpp>
#include <speedrunner/config/run_config.hpp>
#include <speedrunner/config/secrets.hpp>
#include <speedrunner/config/settings.hpp>
#include <speedrunner/data/identity.hpp>
#include <speedrunner/knowledge/knowledge.hpp>
#include <speedrunner/llm/config.hpp>
#include <speedrunner/runner/stop.hpp>

#include <cstdio>

namespace speedrun {
namespace {

namespace cfg = speedrunner::config;
namespace sr = speedrunner;
namespace fs = std::filesystem;
using sr::Result;

int report(std::string_view command, const sr::Error& e) {
  std::fprintf(stderr, "speedrun%s%.*s: %s\n", command.empty() ? "" : " ", int(command.size()), command.data(),
               e.message().c_str());
  return int(e.code);
}

// A relative path as the config wrote it: from the working directory, else
// from the source tree the built-in config belongs to (running from elsewhere).
fs::path locate(const fs::path& p) {
  std::error_code ec;
  if (p.is_absolute() || fs::exists(p, ec)) return p;
  fs::path beside = cfg::builtin_config_dir().parent_path() / p;
  return fs::exists(beside, ec) ? beside : p;
}

// task.abort_rules: [{"metric": "val_loss", "from_step": 1000, "at_most": 4.0}] stops
// a run early whose metric is still out of bounds from that step on.
struct AbortRuleSettings {
  BOOST_HANA_DEFINE_STRUCT(AbortRuleSettings,
    (std::string, metric),
    (double, from_step),
    (std::optional<double>, at_most),
    (std::optional<double>, at_least));
};

template <class T>
Result<T> group(const cfg::json::object& c, std::string_view key) {
  return cfg::bind<T>(c, key);
}

// A model config from a model group's value: an object as in config/model/*.json,
// or the name of one of those files. Its key comes from secrets or the environment.
Result<sr::llm::ModelConfig> model_from(const cfg::json::object& c, const cfg::json::value& v, const std::string& path,
                                        std::string label) {
  cfg::json::value content = v;
  if (v.is_string()) {
    std::vector<fs::path> dirs{cfg::builtin_config_dir()};
    std::vector<std::string> chain;
    label = std::string(v.as_string());
    auto loaded = cfg::detail::load_option(dirs, "model", label, chain);
    if (!loaded) return std::unexpected(std::move(loaded.error()).context(path));
    content = std::move(*loaded);
  }
  auto mc = sr::llm::model_config_from_json(content, path);
  if (!mc) return std::unexpected(mc.error());
  mc->label = std::move(label);
  if (!mc->api_key_env.empty())
    if (auto key = cfg::api_key(c, mc->api_key_env)) mc->api_key = *key;
  if (!mc->transcript.empty()) mc->transcript = locate(mc->transcript).string();
  return mc;
}

// ideator.model, coder.model, analysis.model: a role's own model, when set (not null).
Result<std::optional<sr::llm::ModelConfig>> role_model(const cfg::json::object& c, std::string_view role) {
  const auto* g = c.if_contains(role);
  if (g == nullptr || !g->is_object()) return std::nullopt;
  const auto* v = g->as_object().if_contains("model");
  if (v == nullptr || v->is_null()) return std::nullopt;
  const std::string path = std::string(role) + ".model";
  if (!v->is_object() && !v->is_string())
    return sr::fail(path + ": expected a model config object or the name of one (o3_mini), got " +
                        cfg::json::serialize(*v),
                    "write " + path + "=o3_mini, or null to use `model`");
  auto mc = model_from(c, *v, path, path);
  if (!mc) return std::unexpected(mc.error());
  return std::optional<sr::llm::ModelConfig>(std::move(*mc));
}

// task.sandbox: what a task's nodes need beyond their folder: host paths to read
// (the track's data) and the network (off unless a task asks).
struct TaskSandboxSettings {
  BOOST_HANA_DEFINE_STRUCT(TaskSandboxSettings,
    (std::optional<bool>, network),
    (std::optional<std::vector<std::string>>, read_only));
};

// The executor's sandbox settings (either kind); absent keys (a run saved
// before they existed) keep exec::SandboxOptions' defaults: bwrap, on.
template <class E>
sr::exec::SandboxOptions sandbox_options(const E& e) {
  sr::exec::SandboxOptions o;
  if (e.sandbox) o.kind = *e.sandbox == cfg::SandboxMode::off ? sr::exec::SandboxKind::off : sr::exec::SandboxKind::bwrap;
  if (e.bwrap) o.bwrap = *e.bwrap;
  if (e.sandbox_read_only) o.read_only = *e.sandbox_read_only;
  if (e.sandbox_writable) o.writable = *e.sandbox_writable;
  if (e.limits) {
    o.limits.processes = e.limits->processes;
    o.limits.open_files = e.limits->open_files;
    o.limits.file_mb = e.limits->file_mb;
    o.limits.memory_mb = e.limits->memory_mb ? std::int64_t(*e.limits->memory_mb) : 0;
    o.limits.tmp_mb = e.limits->tmp_mb;
    if (e.limits->disk_mb) o.limits.disk_mb = std::int64_t(*e.limits->disk_mb);
  }
  return o;
}

}  // namespace

Result<JobSettings> job_from_config(const cfg::json::object& c, const fs::path& run_dir) {
  JobSettings s;
  auto run = group<cfg::RunSettings>(c, "");
  if (!run) return std::unexpected(run.error());
  auto science = group<cfg::ScienceRunnerSettings>(c, "science_runner");
  if (!science) return std::unexpected(science.error());
  auto task = group<cfg::TaskSettings>(c, "task");
  if (!task) return std::unexpected(task.error());
  auto executor = group<cfg::ExecutorSettings>(c, "executor");
  if (!executor) return std::unexpected(executor.error());

  // ---- search
  const auto& sc = *science;
  s.search = sc.strategy == cfg::SearchStrategy::bon ? "bon" : "aide";
  s.bon = {.n_initial_hypotheses = sc.n_initial_hypotheses, .n_hypotheses = sc.n_hypotheses,
           .debug_prob = sc.debug_prob, .max_bug_depth = sc.max_bug_depth};
  s.aide = {.drafts = sc.n_initial_hypotheses, .debug_prob = sc.debug_prob, .n_hypotheses = sc.n_hypotheses,
            .max_bug_depth = sc.max_bug_depth};
  s.bon.improve_from = s.aide.improve_from = sc.improve_from == cfg::ImproveRule::latest_iteration
                                                 ? sr::search::ImproveFrom::latest_iteration
                                                 : sr::search::ImproveFrom::global_best;
  s.ideator_max_attempts = 1 + sc.max_retries;
  s.control.n_iterations = run->n_iterations;
  s.control.max_n_nodes = sc.max_n_nodes;
  s.control.seed = run->seed;
  if (run->budget.usd) s.budget_usd = s.control.budget_usd = *run->budget.usd;
  if (run->budget.hours) s.control.wall_clock_s = *run->budget.hours * 3600.0;
  if (run->budget.tokens) s.budget_tokens = std::int64_t(*run->budget.tokens);
  auto cache = sr::llm::parse_cache_mode(run->llm.cache);
  if (!cache) return std::unexpected(cache.error());
  s.cache = *cache;
  s.cache_dir = run->llm.cache_dir;
  s.summarize_runs = run->analysis.summarize;

  // ---- ideator and coder: the group's option name is the policy's config name
  const auto* choices = c.if_contains(cfg::choices_key);
  auto choice = [&](std::string_view g) -> std::string {
    if (choices && choices->is_object())
      if (const auto* v = choices->as_object().if_contains(g); v && v->is_string()) return std::string(v->as_string());
    return {};
  };
  s.ideator = choice("ideator");
  auto coder = group<cfg::CoderSettings>(c, "coder");
  if (!coder) return std::unexpected(coder.error());
  if (coder->kind == cfg::CoderKind::aider) {
    auto aider = group<cfg::AiderCoderSettings>(c, "coder");
    if (!aider) return std::unexpected(aider.error());
    s.coder = "aider";
    s.edit_format = aider->edit_format;
    s.max_reflections = aider->max_reflections;
  } else {
    if (auto patch = group<cfg::PatchCoderSettings>(c, "coder"); !patch) return std::unexpected(patch.error());
    s.coder = "patch";
  }
  s.prompt_dir = cfg::builtin_config_dir() / "prompts";

  // ---- executor
  if (executor->kind == cfg::ExecutorKind::slurm) {
    auto slurm = group<cfg::SlurmExecutorSettings>(c, "executor");
    if (!slurm) return std::unexpected(slurm.error());
    if (auto ok = cfg::check(*slurm); !ok) return std::unexpected(ok.error());
    const auto& e = *slurm;
    s.executor = "slurm";
    s.slurm.max_parallel = e.max_parallel;
    s.slurm.partition = e.partition.value_or("");
    s.slurm.account = e.account.value_or("");
    s.slurm.qos = e.qos.value_or("");
    s.slurm.job_name = e.job_name;
    s.slurm.nodes = e.nodes;
    s.slurm.tasks_per_node = e.tasks_per_node;
    s.slurm.gpus_per_node = e.gpus_per_node;
    s.slurm.cpus_per_task = e.cpus_per_task;
    s.slurm.job_ttl = std::chrono::minutes(static_cast<int>(e.job_ttl_minutes));
    s.slurm.poll_interval = std::chrono::milliseconds(static_cast<long>(static_cast<double>(e.poll_interval_s) * 1000));
    s.slurm.mem = e.mem.value_or("");
    s.slurm.requeue_preempted = e.requeue_preempted;
    if (e.max_requeues) s.slurm.max_requeues = *e.max_requeues;
    s.slurm.extra_sbatch_lines = e.extra_sbatch_lines;
    for (const auto& [k, v] : e.env) s.slurm.env.emplace_back(k, v);
    s.slurm.sandbox = sandbox_options(e);
    s.control.max_log_chars = static_cast<std::size_t>(static_cast<int>(e.log_tail_chars));
  } else {
    auto local = group<cfg::LocalExecutorSettings>(c, "executor");
    if (!local) return std::unexpected(local.error());
    s.executor = "local";
    s.local.slots = local->max_parallel;
    for (int g : local->gpus) s.local.gpus.push_back(std::to_string(g));
    s.local.gpus_per_slot = local->gpus_per_job;
    s.local.kill_grace = std::chrono::milliseconds(static_cast<long>(local->kill_grace_s * 1000));
    s.local.sandbox = sandbox_options(*local);
    s.control.max_log_chars = static_cast<std::size_t>(static_cast<int>(local->log_tail_chars));
    if (local->max_log_mb) {
      const double mb = *local->max_log_mb;
      if (!(mb >= 0.01 && mb <= 1024 * 1024))
        return sr::fail("executor.max_log_mb=" + sr::metrics::format_number(mb) + " is out of range",
                        "give a size in MiB between 0.01 and 1048576 (the default is 64)");
      s.local.max_log_bytes = static_cast<std::size_t>(mb * 1024 * 1024);
    }
  }

  // ---- task
  const auto& t = *task;
  s.task.name = t.name;
  s.task.description = t.description;
  s.task.code_instructions = t.code_instructions;
  s.task.template_dir = locate(t.template_dir);
  // entry files are paths inside the template: they are shown to the models and edited
  for (const auto& f : t.entry_files) {
    const fs::path p(f);
    const fs::path normal = p.lexically_normal();
    if (f.empty() || p.is_absolute() || normal.empty() || *normal.begin() == "..")
      return sr::fail("task.entry_files: \"" + f + "\" is not a path inside the template",
                      "name the files relative to task.template_dir, e.g. train_gpt2.cu");
    std::error_code ec;
    const fs::path tmpl = fs::weakly_canonical(s.task.template_dir, ec);
    const fs::path resolved = fs::weakly_canonical(s.task.template_dir / normal, ec);
    auto [a, b] = std::mismatch(tmpl.begin(), tmpl.end(), resolved.begin(), resolved.end());
    if (!ec && a != tmpl.end())
      return sr::fail("task.entry_files: \"" + f + "\" leads outside the template (through a symbolic link)",
                      "name a file that lies inside " + s.task.template_dir.string());
  }
  s.task.files = t.entry_files;
  if (t.editable_files) s.task.editable = *t.editable_files;
  s.task.launch_command = t.launch_command;
  for (const auto& [k, v] : t.env) s.task.env.emplace_back(k, v);
  // bounded: a huge value overflows the clock (every job "timed out after 0 s", or none ever does)
  constexpr double max_time_limit_s = 30 * 24 * 3600.0;
  if (!(t.time_limit_s <= max_time_limit_s))
    return sr::fail("task.time_limit_s=" + sr::metrics::format_number(t.time_limit_s) + " is more than 30 days",
                    "give each run a limit between 1 and " + sr::metrics::format_number(max_time_limit_s) + " s");
  s.task.timeout = std::chrono::milliseconds(static_cast<long>(t.time_limit_s * 1000));
  const auto metric_keys = t.metric_keys.value_or(std::map<std::string, std::string>{});
  for (const auto& [name, key] : metric_keys)
    if (!t.metrics.contains(name))
      return sr::fail("task.metric_keys: \"" + name + "\" is not one of task.metrics",
                      "name a metric of task.metrics, or drop it from task.metric_keys");
  for (const auto& [name, type] : t.metrics)
    s.task.metrics.metrics.push_back({name, type == cfg::MetricType::duration ? sr::metrics::Unit::ms : sr::metrics::Unit::none,
                                      type == cfg::MetricType::integer,
                                      metric_keys.contains(name) ? metric_keys.at(name) : std::string{}});
  s.task.metrics.selection = t.selection.metric;
  s.task.metrics.lower_is_better = t.selection.direction == cfg::Direction::lower;
  s.task.metrics.at_most = t.metrics_at_most;
  s.task.metrics.at_least = t.metrics_at_least;
  if (const auto* tj = c.if_contains("task"); tj && tj->is_object() && tj->as_object().contains("abort_rules")) {
    auto rules = group<std::vector<AbortRuleSettings>>(c, "task.abort_rules");
    if (!rules) return std::unexpected(rules.error());
    for (const auto& r : *rules) s.task.watch.rules.push_back({r.metric, r.from_step, r.at_most, r.at_least});
  }
  if (const auto* tj = c.if_contains("task"); tj && tj->is_object())
    if (const auto* f = tj->as_object().if_contains("abort_on_nonfinite_loss"); f && f->is_bool())
      s.task.watch.nonfinite_loss = f->as_bool();
  if (const auto* tj = c.if_contains("task"); tj && tj->is_object() && tj->as_object().contains("sandbox")) {
    auto ts = group<TaskSandboxSettings>(c, "task.sandbox");
    if (!ts) return std::unexpected(ts.error());
    for (auto* o : {&s.local.sandbox, &s.slurm.sandbox}) {
      o->network = ts->network.value_or(false);
      for (const auto& p : ts->read_only.value_or(std::vector<std::string>{})) o->read_only.push_back(p);
    }
  }
  if (!t.metrics.contains(t.selection.metric))
    return sr::fail("task.selection.metric: \"" + t.selection.metric + "\" is not one of task.metrics",
                    "add it to task.metrics or select one of them");
  if (const auto* ws = c.if_contains("workspace"); ws && ws->is_object())
    if (auto ignore = group<std::vector<std::string>>(c, "workspace.ignore")) s.task.ignore = *ignore;
  s.task.ignore.push_back("llm_cache");
  std::vector<std::string> hints;
  for (const auto& p : run->knowledge_src_paths) hints.push_back(p);
  auto knowledge = sr::knowledge::render_for_agents({hints, run->knowledge_pass_to_coder});
  if (!knowledge) return std::unexpected(knowledge.error());
  s.task.knowledge = knowledge->ideator;
  s.task.knowledge_for_coder = run->knowledge_pass_to_coder;

  // ---- model (its key from secrets or the environment; never written anywhere)
  const auto* model = c.if_contains("model");
  if (model == nullptr) return sr::fail("the config has no model group", "pick one: model=replay, model=o3_mini, ...");
  auto mc = model_from(c, *model, "model", choice("model"));
  if (!mc) return std::unexpected(mc.error());
  s.model = std::move(*mc);
  for (auto [role, slot] : {std::pair{"ideator", &s.ideator_model}, std::pair{"coder", &s.coder_model},
                            std::pair{"analysis", &s.analysis_model}}) {
    auto m = role_model(c, role);
    if (!m) return std::unexpected(m.error());
    *slot = std::move(*m);
  }
  // the models' keys stay with the runner, whatever their variables are called
  for (const auto* m : {&s.model, s.ideator_model ? &*s.ideator_model : nullptr, s.coder_model ? &*s.coder_model : nullptr,
                        s.analysis_model ? &*s.analysis_model : nullptr})
    if (m != nullptr && !m->api_key_env.empty())
      for (auto* o : {&s.local.sandbox, &s.slurm.sandbox}) o->secret_env.push_back(m->api_key_env);

  s.run_dir = run_dir;
  return s;
}

namespace {

// A task that pins its data (task.data.data_hash, the track's definition) runs
// only on those tokens: the shards that task.data.val_files and train_files
// name must hash to it, so the run's times compare with the baselines'.
Result<void> check_track_data(const cfg::json::object& c) {
  const auto* task = c.if_contains("task");
  const auto* data = task && task->is_object() ? task->as_object().if_contains("data") : nullptr;
  if (data == nullptr || !data->is_object()) return {};
  const auto& d = data->as_object();
  const auto* pinned = d.if_contains("data_hash");
  if (pinned == nullptr || pinned->is_null()) return {};
  if (!pinned->is_string() || pinned->as_string().empty())
    return sr::fail("task.data.data_hash: expected the 32 hex digits `speedrun data check` prints",
                    "restore the track's data_hash, or remove it with ~task.tracks.TRACK.data_hash");
  auto files = [&](std::string_view key) -> std::vector<std::string> {
    const auto* v = d.if_contains(key);
    if (v == nullptr || !v->is_string()) return {};
    return {std::string(v->as_string())};
  };
  const auto val = files("val_files"), train = files("train_files");
  if (val.empty() || train.empty())
    return sr::fail("task.data.data_hash is set but task.data.val_files or train_files is not",
                    "name the track's shards (a glob each) beside its data_hash");
  const std::string want(pinned->as_string());
  auto id = sr::data::identify_data(val, train);
  if (!id)
    return sr::fail("the task's data is missing or damaged: " + id.error().what,
                    "build the track's data (for the mini track: scripts/setup --mini-corpus && "
                    "build/runner/speedrun data mini), or set task.data.val_files / train_files");
  if (id->hash != want)
    return sr::fail("the task's data (" + val.front() + ", " + train.front() + ": " + std::to_string(id->train_tokens) +
                        " training tokens) has hash " + id->hash + ", but the track is defined as data " + want,
                    "rebuild the track's data with this version's `speedrun data` (e.g. `speedrun data mini --force`); "
                    "to train on other data on purpose, drop the pin with ~task.tracks.TRACK.data_hash (such runs are "
                    "not scored against the track's baselines)");
  return {};
}

Result<fs::path> run_dir_of(const cfg::json::object& c) {
  auto ws = group<cfg::WorkspaceSettings>(c, "workspace");
  if (!ws) return std::unexpected(ws.error());
  if (ws->root.empty()) return sr::fail("workspace.root is empty", "set workspace.root=workspaces/my_run");
  return fs::path(ws->root);
}

}  // namespace

int run_command(std::span<const std::string_view> args) {
  // from the first moment: a SIGTERM while the config loads still stops the run cleanly
  sr::install_stop_handlers();
  auto cl = cfg::parse_command_line(args);
  if (!cl) return report("", cl.error());
  if (!cl->original_note.empty()) std::fprintf(stderr, "speedrun: %s\n", cl->original_note.c_str());
  auto c = cfg::load(*cl);
  if (!c) return report("", c.error());
  auto dir = run_dir_of(*c);
  if (!dir) return report("", dir.error());
  std::error_code ec;
  if (fs::exists(*dir / "journal.json", ec))
    return report("", sr::Error{dir->string() + " already holds a run",
                                "resume it with `speedrun resume " + dir->string() + "`, or set workspace.root"});
  auto job = job_from_config(*c, *dir);
  if (!job) return report("", job.error());
  if (auto data = check_track_data(*c); !data) return report("", data.error());
  if (auto fits = check_coder_context(*job); !fits) return report("", fits.error());
  if (auto saved = cfg::save_resolved(*dir, *c); !saved) return report("", saved.error());
  return run_job(*job);
}

int resume_command(std::span<const std::string_view> args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::puts("usage: speedrun resume RUN_DIR [OVERRIDE...]\n"
              "  continues a run that stopped (finished, killed, out of budget): finished nodes are kept,\n"
              "  a node in flight goes on from its last finished phase. The run's saved config.json is\n"
              "  read back; overrides may raise n_iterations, change budget.* and keys, nothing else\n"
              "  (the finished nodes were made with the old settings).\n"
              "  e.g. speedrun resume workspaces/collatz_20250101_120000 n_iterations=10 budget.usd=5");
    return 0;
  }
  sr::install_stop_handlers();
  if (args.empty() || args[0].starts_with("-"))
    return report("resume", sr::Error{"which run? no run directory given", "speedrun resume RUN_DIR [OVERRIDE...]"});
  const fs::path dir(args[0]);
  auto cl = cfg::parse_command_line(args.subspan(1));
  if (!cl) return report("resume", cl.error());
  if (!cl->original_note.empty()) std::fprintf(stderr, "speedrun resume: %s\n", cl->original_note.c_str());
  auto c = cfg::load_for_resume(dir, cl->overrides, cfg::search_path_for(*cl));
  if (!c) return report("resume", c.error());
  auto job = job_from_config(*c, dir);
  if (!job) return report("resume", job.error());
  if (auto data = check_track_data(*c); !data) return report("resume", data.error());
  job->resume = true;
  if (auto saved = cfg::save_resolved(dir, *c); !saved) return report("resume", saved.error());
  return run_job(*job);
}

}  // namespace speedrun
