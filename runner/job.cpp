// Runs one scientist job: builds the model, maps the configured policy names
// onto types through Boost.Hana type lists, instantiates one Runner and runs it.
#include "job.hpp"

#include "commands.hpp"

#include "progress.hpp"

#include <speedrunner/agent/analysis.hpp>
#include <speedrunner/code/aider_coder.hpp>
#include <speedrunner/code/patch_coder.hpp>
#include <speedrunner/code/search_replace.hpp>
#include <speedrunner/code/unified_diff.hpp>
#include <speedrunner/code/whole_file.hpp>
#include <speedrunner/ideate/dummy.hpp>
#include <speedrunner/ideate/llm.hpp>
#include <speedrunner/llm/any_model.hpp>
#include <speedrunner/llm/budget.hpp>
#include <speedrunner/runner.hpp>

#include <boost/hana/for_each.hpp>
#include <boost/hana/tuple.hpp>
#include <boost/hana/type.hpp>

#include <boost/json/parse.hpp>

#include <algorithm>
#include <unistd.h>
#include <cstdio>

namespace speedrun {
namespace {

namespace hana = boost::hana;
namespace sr = speedrunner;
using Model = sr::llm::AnyModel;

// The policies this executable ships, each found by its `config_name`.
constexpr auto search_policies = hana::tuple_t<sr::search::Aide, sr::search::BoN>;
constexpr auto ideators = hana::tuple_t<sr::ideate::Llm<Model>, sr::ideate::Dummy>;
constexpr auto edit_formats = hana::tuple_t<sr::code::SearchReplace, sr::code::WholeFile, sr::code::UnifiedDiff>;
// Aider's coder is one type per edit format (dispatched next); this names them together.
struct AiderCoders {
  static constexpr std::string_view config_name = "aider";
};
constexpr auto coders = hana::tuple_t<AiderCoders, sr::code::PatchCoder>;
constexpr auto executors = hana::tuple_t<sr::exec::Local, sr::exec::Slurm>;

template <class T>
constexpr std::string_view name_of() {
  if constexpr (requires { T::config_name; }) return T::config_name;
  else return T::name;  // edit formats
}

// Calls fn(hana::type_c<T>) for the T of `list` named `name`.
template <class List, class Fn>
sr::Result<int> dispatch(List list, std::string_view group, std::string_view name, Fn&& fn) {
  std::optional<sr::Result<int>> out;
  std::string choices;
  hana::for_each(list, [&](auto type) {
    using T = typename decltype(type)::type;
    choices += (choices.empty() ? "" : ", ") + std::string(name_of<T>());
    if (!out && name_of<T>() == name) out = fn(type);
  });
  if (out) return std::move(*out);
  return sr::fail(std::string(group) + "=" + std::string(name) + " is not a policy this speedrun ships",
                  "choose one of: " + choices);
}

template <class Search>
Search make_search(const JobSettings& s) {
  if constexpr (std::is_same_v<Search, sr::search::BoN>) return s.bon;
  else return s.aide;
}

template <class Executor>
Executor make_executor(const JobSettings& s) {
  if constexpr (std::is_same_v<Executor, sr::exec::Slurm>) return Executor(s.slurm);
  else return Executor(s.local);
}

template <class Ideator>
sr::Result<Ideator> make_ideator(const JobSettings& s, Model& model) {
  if constexpr (std::is_same_v<Ideator, sr::ideate::Llm<Model>>) {
    sr::ideate::LlmSettings settings;
    settings.prompt_dir = s.prompt_dir;
    settings.max_attempts = s.ideator_max_attempts;
    return Ideator::create(model, settings);
  } else {
    return Ideator{};
  }
}

// Calls fn(coder) with the configured coder: Aider's with its edit format, or
// the patch oracle, which takes its diff from each request.
template <class Fn>
sr::Result<int> with_coder(const JobSettings& s, Model& model, Fn&& fn) {
  return dispatch(coders, "coder", s.coder, [&](auto coder_type) -> sr::Result<int> {
    using Kind = typename decltype(coder_type)::type;
    if constexpr (std::is_same_v<Kind, sr::code::PatchCoder>) {
      return fn(sr::code::PatchCoder::from_request());
    } else {
      return dispatch(edit_formats, "coder.edit_format", s.edit_format, [&](auto format_type) {
        using Format = typename decltype(format_type)::type;
        sr::code::AiderOptions options;
        options.max_reflections = s.max_reflections;
        options.context = context_limit(s.coder_model ? *s.coder_model : s.model);
        return fn(sr::code::AiderCoder<Model, Format>(model, Format{}, options));
      });
    }
  });
}

// The model reads metrics only when the task's contract finds none in a log.
sr::Hooks make_hooks(const JobSettings& s, Model& model, Progress& progress) {
  sr::Hooks hooks;
  // A live runner leaves RUN_DIR/runner.pid (written when the run starts, removed
  // when run_job returns), so `speedrun cancel` can stop the runner, not only its jobs.
  // RUN_DIR/view.html is rewritten (atomically) when the run starts, after every node and at its end.
  hooks.observe = [&progress, run_dir = s.run_dir, pid_file = s.run_dir / runner_pid_file](const sr::Event& e,
                                                                                           const sr::RunStatus& st) {
    if (e.kind == sr::EventKind::started)
      (void)sr::workspace::write_file_atomic(pid_file, std::to_string(::getpid()) + "\n");
    progress(e, st);
    if (e.kind == sr::EventKind::started || e.kind == sr::EventKind::finished || e.kind == sr::EventKind::stopped)
      (void)write_run_view(run_dir, e.kind != sr::EventKind::stopped);
  };
  sr::agent::AnalystSettings analyst_settings;
  analyst_settings.prompt_dir = s.prompt_dir;
  auto analyst = sr::agent::Analyst<Model>::create(model, analyst_settings);
  if (!analyst) return hooks;  // without analysis prompts, metrics come from the contract alone
  auto shared = std::make_shared<sr::agent::Analyst<Model>>(std::move(*analyst));
  hooks.metrics_fallback = [shared](std::string_view log, const sr::metrics::Contract& c)
      -> sr::Result<std::map<std::string, double>> {
    sr::agent::MetricTypes types;
    for (const auto& m : c.metrics)
      types[m.name] = m.integer ? sr::agent::MetricType::integer : sr::agent::MetricType::number;
    auto read = shared->read_metrics(log, types);
    if (!read) return std::unexpected(read.error());
    std::map<std::string, double> out;
    for (const auto& [k, v] : *read) {
      if (auto* i = std::get_if<std::int64_t>(&v)) out[k] = static_cast<double>(*i);
      else if (auto* d = std::get_if<double>(&v)) out[k] = *d;
    }
    return out;
  };
  if (s.summarize_runs) {
    // the model's reading of each finished run becomes its outcome line, which
    // the ideator sees in the history; its cost is the node's
    const auto& c = s.task.metrics;
    std::string goal = c.selection + " " + (c.lower_is_better ? "lower" : "higher") + " is better";
    for (const auto& [k, v] : c.at_most) goal += "; " + k + " <= " + sr::metrics::format_number(v);
    for (const auto& [k, v] : c.at_least) goal += "; " + k + " >= " + sr::metrics::format_number(v);
    hooks.analyse = [shared, description = s.task.description, goal](const sr::workspace::Node& n,
                                                                     std::string_view log) -> sr::Result<sr::Analysis> {
      const auto usage0 = shared->agent().usage();
      const double usd0 = shared->agent().cost_usd();
      auto read = shared->summarize({.task_description = description, .goal = goal, .log = std::string(log),
                                     .exit_status = n.exit_code.value_or(-1), .timed_out = n.timed_out});
      if (!read) return std::unexpected(read.error());
      std::string summary = (read->goal_met ? "goal met: " : "goal not met: ") + read->summary;
      for (const auto& e : read->errors) summary += "; " + e;
      sr::llm::Usage used = shared->agent().usage();
      used.input_tokens -= usage0.input_tokens;
      used.output_tokens -= usage0.output_tokens;
      used.cached_tokens -= usage0.cached_tokens;
      return sr::Analysis{std::move(summary), {used, shared->agent().cost_usd() - usd0}};
    };
  }
  return hooks;
}

// A resumed replay model continues where its transcript stopped: the answers
// it already played (its lines in the run's llm*.jsonl logs: those tagged with
// its role, or untagged for the run's `model`) are left out of a copy of the
// transcript, RUN_DIR/replay_remaining[_ROLE].jsonl, which it plays instead.
sr::Result<std::string> replay_remainder(const sr::llm::ModelConfig& model, const std::filesystem::path& run_dir,
                                         const std::string& role) {
  namespace fs = std::filesystem;
  auto text = sr::workspace::read_file(model.transcript);
  if (!text) return std::unexpected(text.error());
  auto field = [](const boost::json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
  };
  std::map<std::string, std::size_t> played;  // agent ("" = shared) -> answers this model gave
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(run_dir, ec)) {
    const std::string name = e.path().filename().string();
    if (!name.starts_with("llm") || !name.ends_with(".jsonl")) continue;
    auto log = sr::workspace::read_file(e.path());
    if (!log) continue;
    std::size_t start = 0;
    while (start < log->size()) {
      std::size_t end = log->find('\n', start);
      if (end == std::string::npos) end = log->size();
      std::error_code jec;
      auto v = boost::json::parse(std::string_view(*log).substr(start, end - start), jec);
      start = end + 1;
      if (jec || !v.is_object() || field(v.as_object(), "role") != role) continue;
      if (v.as_object().contains("answer")) ++played[field(v.as_object(), "agent")];
    }
  }
  std::string kept;
  std::size_t start = 0;
  while (start < text->size()) {
    std::size_t end = text->find('\n', start);
    if (end == std::string::npos) end = text->size();
    const std::string line = text->substr(start, end - start);
    start = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string agent;
    std::error_code jec;
    auto v = boost::json::parse(line, jec);
    if (!jec && v.is_object()) agent = field(v.as_object(), "agent");
    // a queue that ran dry falls back to the shared one, as the replay model does
    auto& used = played[agent] > 0 ? played[agent] : played[""];
    if (used > 0) --used;
    else kept += line + "\n";
  }
  const fs::path copy = run_dir / ("replay_remaining" + (role.empty() ? std::string() : "_" + role) + ".jsonl");
  if (auto w = sr::workspace::write_file_atomic(copy, kept); !w) return std::unexpected(w.error());
  return copy.string();
}

void print_summary(const sr::Summary& s, const sr::workspace::Journal& j) {
  std::printf("stopped: %s\n", s.stopped_because.c_str());
  std::printf("nodes: %d in %d iterations, model cost $%s\n", s.nodes, s.iterations,
              sr::metrics::format_number(s.usd).c_str());
  if (s.best) {
    const auto& b = j.at(*s.best);
    std::printf("best: %s (%s) %s\n", b.name().c_str(), b.hypothesis.summary.c_str(), b.outcome.c_str());
  } else {
    std::printf("best: none of the nodes is valid yet\n");
  }
  std::printf("run directory: %s\n", s.run_dir.c_str());
  if (s.code == sr::ExitCode::interrupted || s.code == sr::ExitCode::budget)
    std::printf("resume with: speedrun resume %s\n", s.run_dir.c_str());
}

}  // namespace

int run_job(const JobSettings& settings) {
  JobSettings s = settings;
  // roles with a model of their own; the others use the run's
  constexpr const char* roles[3] = {"ideator", "coder", "analysis"};
  std::optional<sr::llm::ModelConfig>* role_configs[3] = {&s.ideator_model, &s.coder_model, &s.analysis_model};
  if (s.resume) {
    std::pair<sr::llm::ModelConfig*, std::string> replayed[4] = {{&s.model, ""}};
    for (int i = 0; i < 3; ++i)
      if (*role_configs[i]) replayed[i + 1] = {&**role_configs[i], roles[i]};
    for (auto& [config, role] : replayed) {
      if (config == nullptr || config->provider != sr::llm::Provider::replay) continue;
      auto rest = replay_remainder(*config, s.run_dir, role);
      if (!rest) {
        std::fprintf(stderr, "speedrun: %s\n", rest.error().message().c_str());
        return int(rest.error().code);
      }
      config->transcript = *rest;
    }
  }
  auto budget = std::make_shared<sr::llm::Budget>(sr::llm::BudgetLimits{s.budget_usd, s.budget_tokens});
  sr::llm::RunModelOptions model_options;
  model_options.budget = budget;
  model_options.cache = s.cache;
  model_options.cache_dir = s.cache_dir;
  model_options.log_dir = s.run_dir;
  auto made = sr::llm::make_run_model(s.model, model_options);
  if (!made) {
    std::fprintf(stderr, "speedrun: %s\n", made.error().message().c_str());
    return int(made.error().code);
  }
  Model model = std::move(*made);
  std::optional<Model> own[3];
  for (int i = 0; i < 3; ++i) {
    if (!*role_configs[i]) continue;
    auto role_options = model_options;
    role_options.role = roles[i];
    auto m = sr::llm::make_run_model(**role_configs[i], role_options);
    if (!m) {
      std::fprintf(stderr, "speedrun: %s\n", m.error().message().c_str());
      return int(m.error().code);
    }
    own[i].emplace(std::move(*m));
  }
  Model& ideator_model = own[0] ? *own[0] : model;
  Model& coder_model = own[1] ? *own[1] : model;
  Model& analysis_model = own[2] ? *own[2] : model;
  Progress progress;
  sr::install_stop_handlers();

  auto result = dispatch(search_policies, "science_runner", s.search, [&](auto search_type) {
    return dispatch(ideators, "ideator", s.ideator, [&](auto ideator_type) {
      return with_coder(s, coder_model, [&](auto coder) {
        return dispatch(executors, "executor", s.executor, [&](auto executor_type) -> sr::Result<int> {
          using Search = typename decltype(search_type)::type;
          using Ideator = typename decltype(ideator_type)::type;
          using Coder = decltype(coder);
          using Executor = typename decltype(executor_type)::type;
          auto ideator = make_ideator<Ideator>(s, ideator_model);
          if (!ideator) return std::unexpected(ideator.error());
          sr::Runner<Search, Ideator, Coder, Executor> runner(make_search<Search>(s), std::move(*ideator),
                                                    std::move(coder), make_executor<Executor>(s),
                                                    s.task, s.control, make_hooks(s, analysis_model, progress));
          if (s.resume) {
            if (auto j = sr::workspace::Journal::load(s.run_dir / "journal.json"))
              budget->restore({j->spent_usd(), {}, 0});
          }
          auto summary = s.resume ? runner.resume(s.run_dir) : runner.start(s.run_dir);
          std::error_code ec;
          std::filesystem::remove(s.run_dir / runner_pid_file, ec);
          progress.finish();
          if (!summary) return std::unexpected(summary.error());
          print_summary(*summary, runner.journal());
          return int(summary->code);
        });
      });
    });
  });
  progress.finish();
  if (!result) {
    std::fprintf(stderr, "speedrun: %s\n", result.error().message().c_str());
    return int(result.error().code);
  }
  return *result;
}

}  // namespace speedrun
