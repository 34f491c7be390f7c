// Analysis of a finished run by a model: a summary of its log (was the goal
// met, which errors matter) and, only as a fallback when the task's metric
// contract finds nothing, metrics read from the log into the task's types.
#pragma once

#include <speedrunner/agent/agent.hpp>
#include <speedrunner/agent/prompt.hpp>
#include <speedrunner/core/error.hpp>
#include <speedrunner/llm/model.hpp>
#include <speedrunner/validate/json.hpp>
#include <speedrunner/validate/json_as.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace speedrunner::agent {

// What the model says about a run.
struct RunSummary {
  BOOST_HANA_DEFINE_STRUCT(RunSummary, (bool, goal_met), (std::string, summary), (std::vector<std::string>, errors));
};

struct RunReport {
  std::string task_description;
  std::string goal;       // "val_loss <= 3.28; lower train_time is better"
  std::string log;        // the run's output; long logs are cut to their head and tail
  int exit_status = 0;
  bool timed_out = false;
};

enum class MetricType { integer, number, string };
using MetricValue = std::variant<std::int64_t, double, std::string>;
using MetricTypes = std::map<std::string, MetricType, std::less<>>;
using Metrics = std::map<std::string, MetricValue, std::less<>>;

struct AnalystSettings {
  std::filesystem::path prompt_dir = "config/prompts";  // holds analysis/ and agent/feedback.txt
  llm::Params params;
  int max_attempts = 3;
  std::size_t max_log_chars = 24000;     // head and tail kept beyond this
  bool values_must_appear_in_log = true; // refuse a metric value the log does not print
};

// The first and last parts of a long log with a note of what was cut.
[[nodiscard]] inline std::string head_and_tail(std::string_view log, std::size_t max_chars) {
  if (log.size() <= max_chars) return std::string(log);
  std::size_t head = max_chars / 3, tail = max_chars - head;
  return std::string(log.substr(0, head)) + "\n[... " + std::to_string(log.size() - head - tail) +
         " characters cut ...]\n" + std::string(log.substr(log.size() - tail));
}

namespace detail {
// Every number printed in the text ("val_loss:3.2801", "151.77ms", "1e-3").
[[nodiscard]] inline std::vector<double> numbers_in(std::string_view text) {
  std::vector<double> out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    bool digit = text[i] >= '0' && text[i] <= '9';
    bool starts = digit && (i == 0 || !((text[i - 1] >= '0' && text[i - 1] <= '9') || text[i - 1] == '.'));
    if (!starts) continue;
    std::size_t from = (i > 0 && text[i - 1] == '-') ? i - 1 : i;
    double v = 0;
    auto [end, ec] = std::from_chars(text.data() + from, text.data() + text.size(), v);
    if (ec == std::errc{}) {
      out.push_back(v);
      i = std::size_t(end - text.data()) - 1;
    }
  }
  return out;
}

[[nodiscard]] inline bool printed(double v, const std::vector<double>& numbers) {
  for (double n : numbers)
    if (std::abs(n - v) <= 1e-9 * std::max(1.0, std::abs(v))) return true;
  return false;
}
}  // namespace detail

// Validates the model's metrics against the task's types (null: not in the
// log) and, optionally, against the numbers and text the log really prints.
struct MetricsCheck {
  MetricTypes types;
  std::string_view log;
  bool must_appear = true;

  using value_type = Metrics;

  [[nodiscard]] validate::JsonFields fields() const {
    validate::JsonFields f;
    for (const auto& [name, type] : types) {
      auto ft = type == MetricType::integer  ? validate::FieldType::integer
                : type == MetricType::number ? validate::FieldType::number
                                             : validate::FieldType::string;
      f.fields.push_back({name, ft, true, true});
    }
    return f;
  }

  [[nodiscard]] Result<Metrics> operator()(std::string_view answer) const {
    auto object = fields()(answer);
    if (!object) return std::unexpected(std::move(object.error()));
    Metrics out;
    std::vector<std::string> unseen;
    std::vector<double> numbers = must_appear ? detail::numbers_in(log) : std::vector<double>{};
    for (const auto& [name, type] : types) {
      const auto& v = object->at(name);
      if (v.is_null()) continue;
      if (type == MetricType::string) {
        std::string s(v.get_string());
        if (must_appear && log.find(s) == std::string_view::npos) unseen.push_back(name + " = \"" + s + "\"");
        out.emplace(name, std::move(s));
      } else {
        double d = type == MetricType::integer ? double(v.get_int64()) : v.get_double();
        if (must_appear && !detail::printed(d, numbers)) unseen.push_back(name + " = " + validate::number_text(v));
        if (type == MetricType::integer) out.emplace(name, v.get_int64());
        else out.emplace(name, d);
      }
    }
    if (!unseen.empty())
      return validate::reject("these values do not appear in the log: " + validate::detail::join(unseen, ", ") +
                              "; copy each value exactly as the log prints it, or use null when it is not there");
    return out;
  }
};

template <class Model>
class Analyst {
 public:
  [[nodiscard]] static Result<Analyst> create(Model model, const AnalystSettings& settings) {
    auto dir = settings.prompt_dir / "analysis";
    auto system = PromptTemplate::load(dir / "system.txt", {});
    if (!system) return std::unexpected(std::move(system.error()));
    auto summary = PromptTemplate::load(dir / "summary.txt", {"task_description", "goal", "log", "exit_status"});
    if (!summary) return std::unexpected(std::move(summary.error()));
    auto metrics = PromptTemplate::load(dir / "metrics.txt", {"log", "metrics", "example"});
    if (!metrics) return std::unexpected(std::move(metrics.error()));
    auto feedback = load_feedback(settings.prompt_dir);
    if (!feedback) return std::unexpected(std::move(feedback.error()));
    Agent<Model> a(std::forward<Model>(model), *system->render({}), settings.params);
    if (auto ok = a.set_feedback(std::move(*feedback)); !ok) return std::unexpected(std::move(ok.error()));
    a.set_name("analyst");
    return Analyst(std::move(a), std::move(*summary), std::move(*metrics), settings);
  }

  // The model's reading of a finished run.
  [[nodiscard]] Result<RunSummary> summarize(const RunReport& run) {
    std::string status = run.timed_out ? "killed after the time limit" : std::to_string(run.exit_status);
    auto prompt = summary_.render({{"task_description", run.task_description},
                                   {"goal", run.goal.empty() ? std::string("(no goal stated)") : run.goal},
                                   {"log", log_for_prompt(run.log)},
                                   {"exit_status", status}});
    if (!prompt) return std::unexpected(std::move(prompt.error()));
    auto check = validate::and_then(validate::JsonAs<RunSummary>{}, [](RunSummary s) -> Result<RunSummary> {
      if (validate::detail::trim(s.summary).empty())
        return validate::reject("the \"summary\" is empty; say in a sentence or two how the run went");
      return s;
    });
    auto s = agent_.act(std::move(*prompt), check, ValidationRetry{settings_.max_attempts});
    if (!s) return std::unexpected(std::move(s.error()).context("run analysis"));
    return s;
  }

  // Metrics read by the model from a log; metrics the log does not show are
  // left out of the result.
  [[nodiscard]] Result<Metrics> read_metrics(std::string_view log, const MetricTypes& types) {
    if (types.empty()) return fail("read_metrics: the task names no metrics", "add metric types to the task config");
    std::string listing;
    for (const auto& [name, type] : types)
      listing += "- " + name + ": " +
                 (type == MetricType::integer ? "an integer" : type == MetricType::number ? "a number" : "a string") +
                 "\n";
    MetricsCheck check{types, log, settings_.values_must_appear_in_log};
    auto prompt = metrics_.render({{"log", log_for_prompt(log)}, {"metrics", listing}, {"example", check.fields().example()}});
    if (!prompt) return std::unexpected(std::move(prompt.error()));
    auto m = agent_.act(std::move(*prompt), check, ValidationRetry{settings_.max_attempts});
    if (!m) return std::unexpected(std::move(m.error()).context("reading metrics from the log"));
    return m;
  }

  [[nodiscard]] Agent<Model>& agent() { return agent_; }

 private:
  Analyst(Agent<Model> a, PromptTemplate summary, PromptTemplate metrics, AnalystSettings settings)
      : agent_(std::move(a)), summary_(std::move(summary)), metrics_(std::move(metrics)), settings_(std::move(settings)) {}

  [[nodiscard]] std::string log_for_prompt(std::string_view log) const {
    return log.empty() ? std::string("(the run printed nothing)") : head_and_tail(log, settings_.max_log_chars);
  }

  Agent<Model> agent_;
  PromptTemplate summary_, metrics_;
  AnalystSettings settings_;
};

}  // namespace speedrunner::agent
