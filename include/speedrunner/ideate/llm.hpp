// The LLM ideator (`base` in configs): asks a model for the next hypothesis
// with a draft, improve or debug prompt showing the task, the code, the
// history of the search and the ideas already tried; the answer is a
// validated JSON object {summary, hypothesis}.
#pragma once

#include <speedrunner/agent/agent.hpp>
#include <speedrunner/agent/prompt.hpp>
#include <speedrunner/core/error.hpp>
#include <speedrunner/ideate/ideator.hpp>
#include <speedrunner/llm/model.hpp>
#include <speedrunner/validate/detail/text.hpp>
#include <speedrunner/validate/json_as.hpp>
#include <speedrunner/validate/validator.hpp>

#include <array>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace speedrunner::ideate {

// The answer the model gives.
struct IdeaAnswer {
  BOOST_HANA_DEFINE_STRUCT(IdeaAnswer, (std::string, summary), (std::string, hypothesis));
};

struct LlmSettings {
  std::filesystem::path prompt_dir = "config/prompts";  // holds ideator/ and agent/feedback.txt
  llm::Params params;
  int max_attempts = 3;  // answers per proposal, rejected ones included
};

// Every placeholder an ideator prompt may use.
inline constexpr std::array<std::string_view, 6> idea_placeholders = {
    "task_description", "code", "parent_outcome", "tried", "history", "knowledge"};

// Values for the ideator prompts; empty parts say so rather than vanish.
[[nodiscard]] inline agent::PromptValues idea_prompt_values(const IdeaRequest& r) {
  auto or_note = [](const std::string& s, std::string_view note) { return s.empty() ? std::string(note) : s; };
  std::string tried;
  for (const auto& t : r.tried) tried += "- " + t + "\n";
  std::string history;
  for (const auto& n : r.history) {
    history += "- " + n.id + (n.relation == Relation::ancestor ? " (ancestor)" : " (sibling: another change to this code)");
    history += ": " + (n.hypothesis.empty() ? std::string("the starting code") : n.hypothesis);
    history += " -> " + (n.outcome.empty() ? std::string("no result") : n.outcome);
    if (n.buggy) history += " [failed]";
    history += "\n";
  }
  return {{"task_description", or_note(r.task_description, "(no description given)")},
          {"code", or_note(r.code, "(no code yet)")},
          {"parent_outcome", or_note(r.parent_outcome, "(not run yet)")},
          {"tried", or_note(tried, "(none yet)")},
          {"history", or_note(history, "(no earlier versions)")},
          {"knowledge", or_note(r.knowledge, "(no hints given)")}};
}

// Accepts an IdeaAnswer with a one-line summary and a hypothesis, and
// refuses an idea already tried from this node.
struct IdeaCheck {
  std::vector<std::string> tried;

  using value_type = IdeaAnswer;

  [[nodiscard]] Result<IdeaAnswer> operator()(std::string_view answer) const {
    auto idea = validate::JsonAs<IdeaAnswer>{}(answer);
    if (!idea) return idea;
    std::string summary;
    for (char c : validate::detail::trim(idea->summary)) summary += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
    idea->summary = summary;
    if (summary.empty()) return validate::reject("the \"summary\" is empty; name the idea in one line");
    if (summary.size() > 200)
      return validate::reject("the \"summary\" has " + std::to_string(summary.size()) +
                              " characters; keep it to one line under 200 and put details in \"hypothesis\"");
    if (validate::detail::trim(idea->hypothesis).empty())
      return validate::reject("the \"hypothesis\" is empty; say what to change, where, and why");
    for (const auto& t : tried)
      if (validate::detail::lower(validate::detail::trim(t)) == validate::detail::lower(summary))
        return validate::reject("the idea \"" + summary + "\" was already tried from this code; propose a different one");
    return idea;
  }
};

template <class Model>
class Llm {
 public:
  static constexpr std::string_view config_name = "base";

  // Loads and checks the prompts: a placeholder the ideator cannot fill is an
  // error now, naming the file, not a surprise mid-run.
  [[nodiscard]] static Result<Llm> create(Model model, const LlmSettings& settings) {
    auto dir = settings.prompt_dir / "ideator";
    auto system = agent::PromptTemplate::load(dir / "system.txt", {});
    if (!system) return std::unexpected(std::move(system.error()));
    auto draft = agent::PromptTemplate::load(dir / "draft.txt", idea_placeholders);
    if (!draft) return std::unexpected(std::move(draft.error()));
    auto improve = agent::PromptTemplate::load(dir / "improve.txt", idea_placeholders);
    if (!improve) return std::unexpected(std::move(improve.error()));
    auto debug = agent::PromptTemplate::load(dir / "debug.txt", idea_placeholders);
    if (!debug) return std::unexpected(std::move(debug.error()));
    auto feedback = agent::load_feedback(settings.prompt_dir);
    if (!feedback) return std::unexpected(std::move(feedback.error()));
    agent::Agent<Model> a(std::forward<Model>(model), *system->render({}), settings.params);
    if (auto ok = a.set_feedback(std::move(*feedback)); !ok) return std::unexpected(std::move(ok.error()));
    a.set_name("ideator");
    return Llm(std::move(a), std::move(*draft), std::move(*improve), std::move(*debug), settings.max_attempts);
  }

  [[nodiscard]] Result<IdeaOutcome> propose(const IdeaRequest& request) {
    const auto& prompt = request.stage == Stage::draft ? draft_ : request.stage == Stage::improve ? improve_ : debug_;
    auto instruction = prompt.render(idea_prompt_values(request));
    if (!instruction) return std::unexpected(std::move(instruction.error()));
    llm::Usage before = agent_.usage();
    double cost_before = agent_.cost_usd();
    auto idea = agent_.act(std::move(*instruction), IdeaCheck{request.tried},
                           agent::ValidationRetry{max_attempts_});
    if (!idea) return std::unexpected(std::move(idea.error()).context("ideator"));
    IdeaOutcome out;
    out.hypothesis = {std::move(idea->summary), std::move(idea->hypothesis)};
    out.usage = agent_.usage();
    out.usage.input_tokens -= before.input_tokens;
    out.usage.output_tokens -= before.output_tokens;
    out.usage.cached_tokens -= before.cached_tokens;
    out.cost_usd = agent_.cost_usd() - cost_before;
    return out;
  }

  [[nodiscard]] agent::Agent<Model>& agent() { return agent_; }

 private:
  Llm(agent::Agent<Model> a, agent::PromptTemplate draft, agent::PromptTemplate improve,
      agent::PromptTemplate debug, int max_attempts)
      : agent_(std::move(a)),
        draft_(std::move(draft)),
        improve_(std::move(improve)),
        debug_(std::move(debug)),
        max_attempts_(max_attempts) {}

  agent::Agent<Model> agent_;
  agent::PromptTemplate draft_, improve_, debug_;
  int max_attempts_;
};

}  // namespace speedrunner::ideate
