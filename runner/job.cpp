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
#include <mutex>
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

// Counts the answers a model gives, per agent (Hooks::answers_used); a resumed
// run starts from the counts its journal recorded.
struct AnswerCounts {
  std::mutex mutex;
  std::map<std::string, std::int64_t> by_agent;
};
// A role's own model (ideator_model=..., coder_model=...) counts under
// "ROLE:AGENT", the run's model under the agent's name alone.
struct CountedModel {
  Model inner;
  std::shared_ptr<AnswerCounts> counts;
  std::string prefix;
  sr::Result<sr::llm::Response> complete(const sr::llm::Request& r) {
    auto out = inner.complete(r);
    if (out) {
      std::lock_guard lock(counts->mutex);
      ++counts->by_agent[prefix + r.agent];
    }
    return out;
  }
};

// The model reads metrics only when the task's contract finds none in a log.
sr::Hooks make_hooks(const JobSettings& s, Model& model, Progress& progress, std::shared_ptr<AnswerCounts> counts) {
  sr::Hooks hooks;
  hooks.answers_used = [counts] {
    std::lock_guard lock(counts->mutex);
    return counts->by_agent;
  };
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

// The answers a stopped run used, per agent: what its journal recorded with its
// last step. (A journal from before that record: the lines of its model logs.)
std::map<std::string, std::int64_t> answers_used(const JobSettings& s) {
  namespace fs = std::filesystem;
  auto j = sr::workspace::Journal::load(s.run_dir / "journal.json");
  if (!j) return {};
  if (j->answers_used) return *j->answers_used;
  std::map<std::string, std::int64_t> used;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(s.run_dir, ec)) {
    const std::string name = e.path().filename().string();
    auto t = sr::workspace::read_file(e.path());
    const auto lines = t ? static_cast<std::int64_t>(std::count(t->begin(), t->end(), '\n')) : 0;
    if (name == "llm.jsonl") used[""] += lines;
    else if (name.starts_with("llm_") && name.ends_with(".jsonl")) used[name.substr(4, name.size() - 10)] += lines;
  }
  return used;
}

// A resumed replay run continues where its transcript stopped: the answers its
// recorded steps used are left out of a copy of the transcript that the resumed
// run plays instead. An agent takes its own lines first, then shared ones (as
// the replay model hands them out).
// `prefix` picks the counts of one model (CountedModel::prefix); the copy is `copy`.
sr::Result<std::string> replay_remainder(const std::filesystem::path& transcript,
                                         const std::map<std::string, std::int64_t>& all_used, const std::string& prefix,
                                         const std::filesystem::path& copy) {
  std::map<std::string, std::int64_t> used;
  for (const auto& [key, n] : all_used) {
    if (prefix.empty() ? key.find(':') == std::string::npos : key.starts_with(prefix))
      used[key.substr(prefix.size())] += n;
  }
  auto text = sr::workspace::read_file(transcript);
  if (!text) return std::unexpected(text.error());
  struct Line {
    std::string text, agent;
  };
  std::vector<Line> lines;
  std::map<std::string, std::int64_t> own;  // lines per agent ("" = shared)
  std::size_t start = 0;
  while (start < text->size()) {
    std::size_t end = text->find('\n', start);
    if (end == std::string::npos) end = text->size();
    std::string line = text->substr(start, end - start);
    start = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string agent;
    std::error_code jec;
    auto v = boost::json::parse(line, jec);
    if (!jec && v.is_object())
      if (const auto* a = v.as_object().if_contains("agent"); a && a->is_string()) agent = std::string(a->as_string());
    ++own[agent];
    lines.push_back({std::move(line), std::move(agent)});
  }
  std::map<std::string, std::int64_t> skip;
  for (const auto& [agent, n] : used) {
    const std::int64_t mine = agent.empty() ? 0 : std::min(n, own[agent]);
    skip[agent] += mine;
    skip[""] += n - mine;
  }
  std::string kept;
  for (const auto& l : lines) {
    auto& left = skip[l.agent];
    if (left > 0) --left;
    else kept += l.text + "\n";
  }
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
  auto counts = std::make_shared<AnswerCounts>();
  if (s.resume) counts->by_agent = answers_used(s);
  constexpr const char* roles[3] = {"ideator", "coder", "analysis"};
  std::optional<sr::llm::ModelConfig>* role_configs[3] = {&s.ideator_model, &s.coder_model, &s.analysis_model};
  if (s.resume) {
    // each replayed model goes on with the answers its recorded steps left
    auto rest_of = [&](sr::llm::ModelConfig& m, const std::string& prefix, const std::string& file) -> sr::Result<void> {
      if (m.provider != sr::llm::Provider::replay) return {};
      auto rest = replay_remainder(m.transcript, counts->by_agent, prefix, s.run_dir / file);
      if (!rest) return std::unexpected(rest.error());
      m.transcript = *rest;
      m.transcript_may_be_empty = true;
      return {};
    };
    auto r = rest_of(s.model, "", "replay_remaining.jsonl");
    for (int i = 0; i < 3 && r; ++i)
      if (*role_configs[i])
        r = rest_of(**role_configs[i], std::string(roles[i]) + ":", "replay_remaining_" + std::string(roles[i]) + ".jsonl");
    if (!r) {
      std::fprintf(stderr, "speedrun: %s\n", r.error().message().c_str());
      return int(r.error().code);
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
  const std::string model_name = made->name();
  Model model(CountedModel{std::move(*made), counts, ""}, model_name);
  // roles with a model of their own; the others use the run's
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
    const std::string name = m->name();
    own[i].emplace(CountedModel{std::move(*m), counts, std::string(roles[i]) + ":"}, name);
  }
  Model& ideator_model = own[0] ? *own[0] : model;
  Model& coder_model = own[1] ? *own[1] : model;
  Model& analysis_model = own[2] ? *own[2] : model;
  Progress progress;

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
                                                    s.task, s.control, make_hooks(s, analysis_model, progress, counts));
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
