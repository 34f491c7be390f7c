// Runner<Search, Ideator, Coder, Executor>: the scientist loop. Each iteration
// the search policy plans nodes; each node is ideated, coded into a fresh copy
// of its parent, executed (in parallel across the executor's slots), and judged
// from its log by the task's metric contract. The journal is rewritten after
// every step, so a killed run resumes where it stopped: finished nodes are
// kept, a node in flight continues from its last completed phase.
#pragma once

#include <speedrunner/code/coder.hpp>
#include <speedrunner/core/error.hpp>
#include <speedrunner/exec/executor.hpp>
#include <speedrunner/exec/local.hpp>
#include <speedrunner/exec/log.hpp>
#include <speedrunner/ideate/ideator.hpp>
#include <speedrunner/metrics/metrics.hpp>
#include <speedrunner/runner/events.hpp>
#include <speedrunner/runner/stop.hpp>
#include <speedrunner/runner/task.hpp>
#include <speedrunner/search/policy.hpp>
#include <speedrunner/workspace/journal.hpp>
#include <speedrunner/workspace/workspace.hpp>

#include <boost/json/parse.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <thread>

namespace speedrunner {

// What a model-backed analyst adds to a finished node: a summary of its log.
struct Analysis {
  std::string summary;
  workspace::Cost cost;
};

// Optional model-backed steps; the loop works without them.
struct Hooks {
  Observer observe;
  // Reads metrics from a log with a model; asked only when the contract finds nothing.
  std::function<Result<std::map<std::string, double>>(std::string_view log, const metrics::Contract&)>
      metrics_fallback;
  // Summarises a finished run's log (was the goal met, which errors matter).
  std::function<Result<Analysis>(const workspace::Node&, std::string_view log)> analyse;
  // Model answers used so far, per agent; recorded in the journal with each step
  // (Journal::answers_used), so a resumed replay hands out each answer once.
  std::function<std::map<std::string, std::int64_t>()> answers_used;
};

struct Summary {
  std::filesystem::path run_dir;
  std::optional<workspace::NodeId> best;
  std::map<std::string, double> best_metrics;
  int nodes = 0, iterations = 0;
  double usd = 0;
  std::string stopped_because;
  ExitCode code = ExitCode::ok;   // failure: no valid node; interrupted and budget stops are resumable
};

template <class Search, class Ideator, class Coder, class Executor = exec::Local>
class Runner {
  static_assert(search::SearchPolicy<Search>,
                "Runner<Search, ...>: Search must have a member "
                "`std::vector<search::Decision> plan(const workspace::Journal&, std::mt19937_64&) const`");
  static_assert(ideate::Ideator<Ideator>,
                "Runner<..., Ideator, ...>: Ideator must have a member "
                "`Result<ideate::IdeaOutcome> propose(const ideate::IdeaRequest&)`");
  static_assert(code::Coder<Coder>,
                "Runner<..., Coder, ...>: Coder must have a member "
                "`Result<code::CodeOutcome> implement(const code::CodeRequest&)`");
  static_assert(exec::Executor<Executor>,
                "Runner<..., Executor>: Executor must have free_slots(), submit(JobSpec), "
                "poll(JobHandle), cancel(JobHandle) and reattach(JobSpec, JobHandle)");

 public:
  using Node = workspace::Node;
  using NodeId = workspace::NodeId;
  using Phase = workspace::Phase;

  Runner(Search search, Ideator ideator, Coder coder, Executor executor, Task task, RunControl control,
         Hooks hooks = {})
      : search_(std::move(search)), ideator_(std::move(ideator)), coder_(std::move(coder)),
        executor_(std::move(executor)), task_(std::move(task)), control_(control), hooks_(std::move(hooks)) {}

  // A new run in `run_dir` (created, with v_0 copied from the task's template).
  [[nodiscard]] Result<Summary> start(const std::filesystem::path& run_dir) {
    auto ws = workspace::Workspace::create(run_dir, task_.template_dir, task_.ignore);
    if (!ws) return std::unexpected(ws.error());
    workspace_.emplace(std::move(*ws));
    journal_ = workspace::Journal::with_root({task_.metrics.selection, task_.metrics.lower_is_better},
                                             control_.seed);
    score_baseline(journal_.nodes.front());
    if (auto r = persist(journal_.root()); !r) return std::unexpected(r.error());
    return loop();
  }

  // Continues the run in `run_dir` from its journal.
  // A run killed before its first journal was written starts again.
  [[nodiscard]] Result<Summary> resume(const std::filesystem::path& run_dir) {
    std::error_code ec;
    if (!std::filesystem::exists(run_dir / "journal.json", ec) && std::filesystem::is_directory(run_dir, ec))
      return start(run_dir);
    auto ws = workspace::Workspace::open(run_dir);
    if (!ws) return std::unexpected(ws.error());
    workspace_.emplace(std::move(*ws));
    auto j = workspace::Journal::load(workspace_->journal_path());
    if (!j) return std::unexpected(j.error());
    journal_ = std::move(*j);
    return loop();
  }

  [[nodiscard]] const workspace::Journal& journal() const { return journal_; }
  [[nodiscard]] Search& search() { return search_; }
  [[nodiscard]] Ideator& ideator() { return ideator_; }
  [[nodiscard]] Coder& coder() { return coder_; }
  [[nodiscard]] Executor& executor() { return executor_; }

 private:
  using Clock = std::chrono::steady_clock;

  struct Stop {
    std::string because;
    ExitCode code = ExitCode::ok;
    bool cancel_jobs = false;   // signals and the wall clock stop jobs; the rest let them finish
  };

  [[nodiscard]] Result<Summary> loop() {
    started_ = Clock::now();
    std::deque<NodeId> preparing, ready;
    std::map<NodeId, exec::JobHandle> running;

    // Nodes a previous invocation left in flight continue from their last phase.
    for (NodeId id : journal_.unfinished()) {
      Node& n = journal_.at(id);
      if (n.phase == Phase::planned || n.phase == Phase::ideated) preparing.push_back(id);
      else if (n.phase == Phase::coded) {
        // asked even without a saved handle: the kill may have come between the
        // job's start and the journal naming it, and what it left must be stopped
        exec::JobHandle h{n.job};
        if (executor_.reattach(job_spec(n), h)) running.emplace(id, h);
        else ready.push_back(id);
      } else if (n.phase == Phase::executed) {
        judge(n, std::nullopt);
        if (auto r = persist(n); !r) return std::unexpected(r.error());
      }
    }
    notify(EventKind::started, nullptr, journal_.n_nodes() ? "resuming " + workspace_->root().string()
                                                           : "run " + workspace_->root().string());

    std::optional<Stop> stop;
    std::optional<Error> error;
    auto halt = [&](Stop s) {
      if (!stop) stop = std::move(s);
    };
    while (true) {
      bool worked = false;
      if (int sig = stop_requested())
        halt({"interrupted by signal " + std::to_string(sig), ExitCode::interrupted, true});
      if (control_.wall_clock_s > 0 && elapsed_s() > control_.wall_clock_s)
        halt({"wall-clock budget of " + metrics::format_number(control_.wall_clock_s) + " s used",
              ExitCode::ok, true});
      if (stop && stop->cancel_jobs) break;

      // 1. results of jobs that ended
      for (auto it = running.begin(); it != running.end();) {
        auto result = executor_.poll(it->second);
        if (!result) {
          ++it;
          continue;
        }
        Node& n = journal_.at(it->first);
        it = running.erase(it);
        record(n, *result);
        if (auto r = persist(n); !r) return std::unexpected(r.error());
        notify(EventKind::executed, &n, n.name() + ": " + (result->succeeded() ? "ran" : result->describe()) +
                                             " after " + seconds_text(result->wall_s));
        judge(n, *result);
        if (auto r = persist(n); !r) return std::unexpected(r.error());
        notify(EventKind::finished, &n, n.name() + ": " + n.outcome);
        worked = true;
      }
      if (stop && running.empty()) break;

      // 2. start what is coded while slots are free
      while (!stop && !ready.empty() && executor_.free_slots() > 0) {
        Node& n = journal_.at(ready.front());
        auto h = executor_.submit(job_spec(n));
        if (!h) {
          error = h.error();
          halt({"the executor refused " + n.name(), h.error().code});
          break;
        }
        ready.pop_front();
        n.job = h->ref;
        running.emplace(n.id, *h);
        if (auto r = persist(n); !r) return std::unexpected(r.error());
        notify(EventKind::submitted, &n, n.name() + ": running `" + task_.launch_command + "`");
        worked = true;
      }

      // 3. one model step (ideate or code) for the next node, while it can still start soon
      if (!stop && !preparing.empty() && ready.size() < std::max<std::size_t>(1, executor_.free_slots())) {
        if (over_budget()) {
          halt(budget_stop());
        } else {
          Node& n = journal_.at(preparing.front());
          auto step = prepare(n);
          if (!step) {
            answers_frozen_ = true;   // the failed step is not recorded, so neither are its answers
            // a model refused by the run's budget (money or tokens) says which limit and by how much
            if (step.error().code != ExitCode::budget) error = step.error();
            halt(Stop{step.error().what, step.error().code});
          } else {
            if (n.phase == Phase::coded) {
              preparing.pop_front();
              ready.push_back(n.id);
            } else if (n.phase == Phase::done) {
              preparing.pop_front();
            }
            worked = true;
          }
        }
      }

      // 4. the next iteration, once the last one is over
      if (!stop && preparing.empty() && ready.empty() && running.empty()) {
        if (journal_.iterations >= control_.n_iterations) {
          halt({"n_iterations (" + std::to_string(control_.n_iterations) + ") reached"});
        } else if (journal_.n_nodes() >= control_.max_n_nodes) {
          halt({"max_n_nodes (" + std::to_string(control_.max_n_nodes) + ") reached"});
        } else if (over_budget()) {
          halt(budget_stop());
        } else {
          std::mt19937_64 rng(iteration_seed(journal_.iterations));
          auto plan = search_.plan(journal_, rng);
          if (plan.empty()) {
            halt({"the search policy has nothing left to try"});
          } else {
            const auto room = static_cast<std::size_t>(control_.max_n_nodes - journal_.n_nodes());
            if (plan.size() > room) plan.resize(room);
            for (const auto& d : plan) {
              Node& n = journal_.add_child(d.parent, d.stage, journal_.iterations);
              preparing.push_back(n.id);
            }
            ++journal_.iterations;
            if (auto r = save_journal(); !r) return std::unexpected(r.error());
            for (NodeId id : preparing)
              notify(EventKind::planned, &journal_.at(id),
                     journal_.at(id).name() + ": " + std::string(workspace::stage_name(journal_.at(id).stage)) +
                         " from " + workspace::version_name(*journal_.at(id).parent));
          }
        }
        worked = true;
      }
      if (stop && running.empty()) break;
      if (!worked) std::this_thread::sleep_for(control_.poll_interval);
    }

    // Jobs still running were stopped; their nodes re-run on resume.
    for (auto& [id, h] : running) {
      executor_.cancel(h);
      journal_.at(id).job.clear();
      if (auto r = persist(journal_.at(id)); !r) return std::unexpected(r.error());
    }
    if (auto r = journal_.save(workspace_->journal_path()); !r) return std::unexpected(r.error());
    notify(EventKind::stopped, nullptr, stop->because);
    if (error && error->code != ExitCode::interrupted && error->code != ExitCode::budget)
      return std::unexpected(std::move(*error).context("the run in " + workspace_->root().string() +
                                                       " stopped (resume it after fixing this)"));
    Summary s;
    s.run_dir = workspace_->root();
    s.best = journal_.best_valid();
    if (s.best) s.best_metrics = journal_.at(*s.best).metrics;
    s.nodes = journal_.n_nodes();
    s.iterations = journal_.iterations;
    s.usd = journal_.spent_usd();
    s.stopped_because = stop->because;
    s.code = stop->code;
    // A search that ended without one valid node of its own failed (a resumable stop stays
    // as it is); a scored v_0 alone is the template, not a result.
    const bool found = std::any_of(journal_.nodes.begin(), journal_.nodes.end(),
                                   [](const Node& x) { return x.parent && x.valid && !x.buggy(); });
    if (s.code == ExitCode::ok && !found) s.code = ExitCode::failure;
    return s;
  }

  // ---- phases of a node

  // Does the node's next model step: ideate a planned node, or code an ideated one.
  [[nodiscard]] Result<void> prepare(Node& n) {
    const auto t0 = Clock::now();
    if (n.phase == Phase::planned) {
      auto idea = ideator_.propose(idea_request(n));
      n.timings.ideate_s += seconds_since(t0);
      if (!idea) return node_failure(n, "ideator", std::move(idea.error()));
      n.hypothesis = std::move(idea->hypothesis);
      n.cost += workspace::Cost{idea->usage, idea->cost_usd};
      n.phase = Phase::ideated;
      if (auto r = persist(n); !r) return r;
      notify(EventKind::ideated, &n, n.name() + ": " + n.hypothesis.summary);
      return {};
    }
    // A fresh copy of the parent: whatever an interrupted attempt left is replaced.
    if (auto r = workspace_->create_version(n.id, *n.parent, task_.ignore); !r) return r;
    code::CodeRequest request;
    request.version_dir = workspace_->dir(n.id);
    request.files = task_.files;
    request.editable = task_.editable;
    request.read_only = task_.read_only;
    request.task_description = task_.description;
    request.instructions = task_.code_instructions;
    request.bug_history = bug_history(n);
    request.hypothesis = n.hypothesis;
    if (task_.knowledge_for_coder) request.knowledge = task_.knowledge;
    request.package_constraints = task_.package_constraints;
    auto done = coder_.implement(request);
    n.timings.code_s += seconds_since(t0);
    if (!done) return node_failure(n, "coder", std::move(done.error()));
    n.cost += workspace::Cost{done->usage, done->cost_usd};
    n.phase = Phase::coded;
    if (auto r = persist(n); !r) return r;
    notify(EventKind::coded, &n, n.name() + ": " + (done->summary.empty() ? "edited" : done->summary));
    return {};
  }

  // A model step that failed for this node alone (ExitCode::failure: no usable
  // idea or edit after the agent's retries) makes the node buggy; any other
  // error (configuration, keys, budget) stops the run, which can be resumed.
  [[nodiscard]] Result<void> node_failure(Node& n, std::string_view who, Error e) {
    if (e.code != ExitCode::failure) return std::unexpected(std::move(e).context(n.name() + " " + std::string(who)));
    n.status = workspace::Status::buggy;
    n.reason = std::string(who) + " failed: " + e.what;
    n.outcome = "buggy: " + n.reason;
    journal_.judge(n);
    n.phase = Phase::done;
    if (auto r = persist(n); !r) return r;
    notify(EventKind::finished, &n, n.name() + ": " + n.outcome);
    return {};
  }

  void record(Node& n, const exec::JobResult& r) {
    n.exit_code = r.exit_code;
    n.timed_out = r.timed_out;
    n.aborted = r.aborted;
    n.timings.execute_s = r.wall_s;
    n.reason = r.succeeded() ? std::string{} : r.describe();
    n.job.clear();
    n.phase = Phase::executed;
  }

  // Reads the node's metrics from its log and decides whether it is buggy.
  void judge(Node& n, const std::optional<exec::JobResult>& job) {
    const auto t0 = Clock::now();
    const auto dir = workspace_->dir(n.id);
    const std::string out = workspace::read_file(dir / workspace::stdout_file).value_or("");
    const std::string err = workspace::read_file(dir / workspace::stderr_file).value_or("");
    const bool ran_ok = job ? job->succeeded() : n.reason.empty();
    auto reading = metrics::read(out + err, task_.metrics);
    if (!reading.found() && ran_ok && hooks_.metrics_fallback) {
      if (auto values = hooks_.metrics_fallback(exec::head_and_tail(out + err, control_.max_log_chars), task_.metrics);
          values && !values->empty()) {
        reading.values = *values;
        reading.reason = metrics::check_bounds(reading.values, task_.metrics);
        reading.valid = reading.reason.empty();
      }
    }
    n.metrics = reading.values;
    n.valid = ran_ok && reading.found() && reading.valid;
    n.status = n.valid ? workspace::Status::ok : workspace::Status::buggy;
    if (!ran_ok) {
      n.outcome = "buggy: " + n.reason + first_error_line(err, out);
    } else if (!reading.found() || !reading.valid) {
      n.reason = reading.reason;
      n.outcome = "buggy: " + reading.reason;
    } else {
      n.reason.clear();
      n.outcome = metrics_line(n) + " (ran " + seconds_text(n.timings.execute_s) + ")";
    }
    if (hooks_.analyse) {
      if (auto a = hooks_.analyse(n, exec::head_and_tail(out + err, control_.max_log_chars)); a) {
        if (!a->summary.empty()) n.outcome = a->summary;
        n.cost += a->cost;
      }
    }
    n.timings.analyse_s = seconds_since(t0);
    journal_.judge(n);
    n.phase = Phase::done;
  }

  // v_0 is a selection candidate when its template says how it scores, in its
  // results.json: {"metrics": {...}} in the task's metric names, or a NanoGPT
  // record's calibration on the task's track (tracks.<SPEEDRUN_TRACK>: train_time_ms,
  // reached at target_val_loss). Its outcome then carries the baseline's metrics,
  // which the ideator sees when it drafts from v_0.
  void score_baseline(Node& root) const {
    auto text = workspace::read_file(task_.template_dir / workspace::results_file);
    if (!text) return;
    std::error_code ec;
    auto doc = boost::json::parse(*text, ec);
    if (ec || !doc.is_object()) return;
    std::map<std::string, double> values;
    auto wanted = [&](std::string_view name) {
      return std::any_of(task_.metrics.metrics.begin(), task_.metrics.metrics.end(),
                         [&](const auto& m) { return m.name == name; });
    };
    auto number = [](const boost::json::value* v) -> std::optional<double> {
      if (v == nullptr || !v->is_number()) return std::nullopt;
      return v->to_number<double>();
    };
    const auto& top = doc.as_object();
    if (const auto* m = top.if_contains("metrics"); m && m->is_object()) {
      for (const auto& kv : m->as_object())
        if (auto x = number(&kv.value()); x && wanted(kv.key())) values[std::string(kv.key())] = *x;
    } else if (const auto* tracks = top.if_contains("tracks"); tracks && tracks->is_object()) {
      std::string track;
      for (const auto& [k, v] : task_.env)
        if (k == "SPEEDRUN_TRACK") track = v;
      const auto* section = tracks->as_object().if_contains(track);
      if (section && section->is_object()) {
        const auto& s = section->as_object();
        if (auto t = number(s.if_contains("train_time_ms")); t && wanted("train_time")) values["train_time"] = *t;
        if (auto l = number(s.if_contains("target_val_loss")); l && wanted("val_loss")) values["val_loss"] = *l;
      }
    }
    if (!values.contains(task_.metrics.selection) || !metrics::check_bounds(values, task_.metrics).empty()) return;
    root.metrics = std::move(values);
    root.valid = true;
    root.status = workspace::Status::ok;
    root.outcome = "the template's measured baseline (results.json): " + metrics_line(root);
  }

  // ---- requests to the ideator and the executor

  [[nodiscard]] ideate::IdeaRequest idea_request(const Node& n) const {
    const Node& parent = journal_.at(*n.parent);
    ideate::IdeaRequest r;
    r.stage = n.stage;
    r.task_description = task_.description;
    r.code = render_files(*n.parent);
    r.knowledge = task_.knowledge;
    if (n.stage == ideate::Stage::debug) {
      const auto dir = workspace_->dir(parent.id);
      r.parent_outcome = parent.outcome + "\n\nLog (stderr, then stdout; head and tail):\n" +
                         exec::read_log(dir / workspace::stderr_file, control_.max_log_chars / 2) + "\n" +
                         exec::read_log(dir / workspace::stdout_file, control_.max_log_chars / 2);
    } else {
      r.parent_outcome = parent.outcome;
    }
    for (NodeId c : parent.children)
      if (c != n.id && !journal_.at(c).hypothesis.summary.empty()) r.tried.push_back(journal_.at(c).hypothesis.summary);
    auto outline = [&](NodeId id) {
      const Node& x = journal_.at(id);
      return ideate::NodeOutline{x.name(), x.hypothesis.summary, x.outcome, x.buggy(), ideate::Relation::ancestor};
    };
    for (NodeId a : journal_.ancestry(parent.id)) r.history.push_back(outline(a));
    for (NodeId c : parent.children)
      if (c != n.id && journal_.at(c).finished()) {
        r.history.push_back(outline(c));
        r.history.back().relation = ideate::Relation::sibling;
      }
    return r;
  }

  // What failed near the node, for its coder (as the original scaffold shows it):
  // the buggy descendants of its stable ancestor, at most 3, the latest first.
  [[nodiscard]] std::vector<code::FailedAttempt> bug_history(const Node& n) const {
    std::vector<NodeId> buggy, open{n.stable_ancestor};
    while (!open.empty()) {
      const Node& x = journal_.at(open.back());
      open.pop_back();
      for (NodeId c : x.children) {
        open.push_back(c);
        if (c != n.id && journal_.at(c).finished() && journal_.at(c).buggy()) buggy.push_back(c);
      }
    }
    std::sort(buggy.rbegin(), buggy.rend());
    if (buggy.size() > 3) buggy.resize(3);
    std::vector<code::FailedAttempt> out;
    for (NodeId id : buggy) {
      const Node& b = journal_.at(id);
      out.push_back({b.name(), b.hypothesis.summary, b.outcome});
    }
    return out;
  }

  [[nodiscard]] std::string render_files(NodeId id) const {
    std::string out;
    for (const auto& f : task_.files) {
      auto text = workspace::read_file(workspace_->dir(id) / f);
      out += f + "\n```\n" + text.value_or("(missing)\n") + (text && !text->empty() && text->back() != '\n' ? "\n" : "") +
             "```\n\n";
    }
    return out;
  }

  [[nodiscard]] exec::JobSpec job_spec(const Node& n) const {
    return {n.name(), workspace_->dir(n.id), task_.launch_command, task_.timeout, task_.env, task_.watch};
  }

  // ---- bookkeeping

  // Writes the node's own records and the journal after a step.
  [[nodiscard]] Result<void> persist(const Node& n) {
    std::error_code ec;
    if (std::filesystem::is_directory(std::filesystem::symlink_status(workspace_->dir(n.id), ec)))
      if (auto r = workspace_->save(n); !r) return r;
    return save_journal();
  }
  // The journal after a recorded step, with the model answers used up to it.
  // (After a step that failed and stopped the run the count stays as it was:
  // that step's answers are asked again on resume.)
  [[nodiscard]] Result<void> save_journal() {
    if (hooks_.answers_used && !answers_frozen_) journal_.answers_used = hooks_.answers_used();
    return journal_.save(workspace_->journal_path());
  }

  [[nodiscard]] bool over_budget() const {
    return control_.budget_usd > 0 && journal_.spent_usd() >= control_.budget_usd;
  }
  [[nodiscard]] Stop budget_stop() const {
    return {"money budget of $" + metrics::format_number(control_.budget_usd) + " spent ($" +
                metrics::format_number(journal_.spent_usd()) + ")",
            ExitCode::budget};
  }

  [[nodiscard]] std::uint64_t iteration_seed(int iteration) const {
    std::uint64_t z = journal_.seed + 0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(iteration + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  [[nodiscard]] double elapsed_s() const { return seconds_since(started_); }
  [[nodiscard]] static std::string seconds_text(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f s", s);
    return buf;
  }
  [[nodiscard]] static double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  }

  [[nodiscard]] std::string metrics_line(const Node& n) const {
    std::string s;
    auto add = [&](const std::string& k, double v) {
      s += (s.empty() ? "" : ", ") + k + " " + metrics::format_number(v);
    };
    if (auto it = n.metrics.find(task_.metrics.selection); it != n.metrics.end()) add(it->first, it->second);
    for (const auto& [k, v] : n.metrics)
      if (k != task_.metrics.selection) add(k, v);
    return s;
  }

  // ": <the first line that reads like an error>", from stderr first.
  [[nodiscard]] static std::string first_error_line(const std::string& err, const std::string& out) {
    for (const std::string* text : {&err, &out}) {
      std::string_view rest = *text, last;
      while (!rest.empty()) {
        auto nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
        if (line.find("error") != std::string_view::npos || line.find("Error") != std::string_view::npos)
          return ": " + std::string(line.substr(0, 300));
        if (!line.empty()) last = line;
      }
      if (!last.empty()) return ": " + std::string(last.substr(0, 300));
    }
    return {};
  }

  void notify(EventKind kind, const Node* n, std::string text) {
    if (!hooks_.observe) return;
    RunStatus s;
    s.iteration = journal_.iterations;
    s.n_iterations = control_.n_iterations;
    s.nodes = journal_.n_nodes();
    s.max_nodes = control_.max_n_nodes;
    for (const auto& x : journal_.nodes) {
      if (!x.job.empty() && x.phase == Phase::coded) ++s.running;
      s.usage += x.cost.usage;
    }
    s.usd = journal_.spent_usd();
    s.selection = journal_.selection.metric;
    if (auto b = journal_.best_valid()) {
      s.best = workspace::version_name(*b);
      s.best_score = journal_.score(journal_.at(*b));
    }
    s.elapsed_s = elapsed_s();
    hooks_.observe(Event{kind, n, std::move(text)}, s);
  }

  Search search_;
  Ideator ideator_;
  Coder coder_;
  Executor executor_;
  Task task_;
  RunControl control_;
  Hooks hooks_;
  std::optional<workspace::Workspace> workspace_;
  workspace::Journal journal_;
  Clock::time_point started_{};
  bool answers_frozen_ = false;
};

}  // namespace speedrunner
