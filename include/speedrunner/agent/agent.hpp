// Agent<Model>: a system prompt and a model that `act`s: ask, validate the
// answer, and on a rejection ask again with the validator's reason fed
// back, within a retry policy. Tokens and cost are counted per agent.
#pragma once

#include <speedrunner/agent/prompt.hpp>
#include <speedrunner/core/error.hpp>
#include <speedrunner/llm/model.hpp>
#include <speedrunner/validate/validator.hpp>

#include <chrono>
#include <concepts>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace speedrunner::agent {

// Decides, after a rejected answer, whether to ask again: a delay (usually
// zero) or nullopt to stop. The same shape as llm::RetryPolicy (network
// retries, llm/retry.hpp), so its FixedAttempts and NoRetry work here too; act
// copies the policy, which may keep state for one act.
template <class P>
concept RetryPolicy = std::copy_constructible<P> && requires(P& policy, int attempt, const Error& rejection) {
  { policy.next_delay(attempt, rejection) } -> std::same_as<std::optional<std::chrono::milliseconds>>;
};

template <class P>
consteval bool check_retry_policy() {
  static_assert(RetryPolicy<P>,
                "a RetryPolicy needs to be copyable and have `std::optional<std::chrono::milliseconds> "
                "next_delay(int attempt, const Error& rejection)`");
  return RetryPolicy<P>;
}

// At most max_attempts answers per act (1: no retry), asked again at once.
struct ValidationRetry {
  int max_attempts = 3;
  [[nodiscard]] std::optional<std::chrono::milliseconds> next_delay(int attempt, const Error& /*rejection*/) const {
    if (attempt >= max_attempts) return std::nullopt;
    return std::chrono::milliseconds(0);
  }
};

// One answer within an act and what the validator said about it.
struct Attempt {
  std::string answer;
  std::string rejection;  // empty when accepted
  llm::FinishReason finish = llm::FinishReason::stop;
};

// The turn that carries a rejection back to the model; {reason} is the validator's text.
inline constexpr std::string_view default_feedback =
    "Your answer could not be used: {reason}\n\nPlease answer again in full, fixing this.";

// Loads the feedback wording from <prompt_dir>/agent/feedback.txt; it may use only {reason}.
[[nodiscard]] inline Result<PromptTemplate> load_feedback(const std::filesystem::path& prompt_dir) {
  return PromptTemplate::load(prompt_dir / "agent" / "feedback.txt", {"reason"});
}

namespace detail {
struct NotAValidator {};

// Names the asking agent where llm::Request has the field (the llm layer
// keeps per-agent logs and replay queues by it).
template <class Request>
void tag_with_agent(Request& request, const std::string& name) {
  if constexpr (requires { request.agent = name; }) request.agent = name;
}
template <class V>
struct validated {
  using type = NotAValidator;
};
template <class V>
  requires requires { typename std::remove_cvref_t<V>::value_type; }
struct validated<V> {
  using type = typename std::remove_cvref_t<V>::value_type;
};
}  // namespace detail

// What act returns for validator V (defined even for a non-Validator, so the
// static_assert in act, not a substitution failure, explains the mistake).
template <class V>
using validated_t = typename detail::validated<V>::type;

// Model may be a reference type (Agent<MyModel&>) to share one model among agents.
template <class Model>
class Agent {
  static_assert(llm::LanguageModel<Model>,
                "Agent<Model> needs a LanguageModel: `Result<llm::Response> complete(const llm::Request&)`");

 public:
  Agent(Model model, std::string system_prompt, llm::Params params = {})
      : model_(std::forward<Model>(model)),
        system_(std::move(system_prompt)),
        params_(std::move(params)),
        feedback_(PromptTemplate::parse(default_feedback, "agent feedback")) {}

  // Asks `instruction` as a fresh conversation.
  template <class V, class R = ValidationRetry>
  [[nodiscard]] Result<validated_t<V>> act(std::string instruction, const V& validator, R retry = {}) {
    std::vector<llm::Message> conversation;
    conversation.push_back({llm::Role::user, std::move(instruction)});
    return act(std::move(conversation), validator, retry);
  }

  // Continues `conversation` (user/assistant turns, ending with a user turn).
  template <class V, class R = ValidationRetry>
  [[nodiscard]] Result<validated_t<V>> act(std::vector<llm::Message> conversation, const V& validator,
                                           R retry = {}) {
    static_assert(validate::check_validator<V>());
    static_assert(check_retry_policy<R>());
    if constexpr (validate::Validator<V> && RetryPolicy<R>) return ask(std::move(conversation), validator, retry);
    else return fail("unreachable");
  }

  // Replaces the feedback wording; it must use only {reason}.
  [[nodiscard]] Result<void> set_feedback(PromptTemplate feedback) {
    if (auto ok = feedback.check_provided({"reason"}); !ok) return ok;
    feedback_ = std::move(feedback);
    return {};
  }

  // Who is asking ("ideator", "analyst"), for logs and per-agent totals.
  void set_name(std::string name) { name_ = std::move(name); }
  [[nodiscard]] const std::string& name() const { return name_; }

  [[nodiscard]] const llm::Usage& usage() const { return usage_; }
  [[nodiscard]] double cost_usd() const { return cost_usd_; }
  [[nodiscard]] int calls() const { return calls_; }
  [[nodiscard]] const std::vector<Attempt>& last_attempts() const { return last_attempts_; }
  [[nodiscard]] const std::string& system_prompt() const { return system_; }
  [[nodiscard]] const llm::Params& params() const { return params_; }
  [[nodiscard]] std::remove_reference_t<Model>& model() { return model_; }

 private:
  template <class V, class R>
  Result<validated_t<V>> ask(std::vector<llm::Message> conversation, const V& validator, R& retry) {
    last_attempts_.clear();
    llm::Request request;
    request.system = system_;
    request.messages = std::move(conversation);
    request.params = params_;
    detail::tag_with_agent(request, name_);
    for (int attempt = 1;; ++attempt) {
      auto response = model_.complete(request);
      if (!response)
        return std::unexpected(std::move(response.error())
                                   .context("the model failed on attempt " + std::to_string(attempt)));
      ++calls_;
      usage_ += response->usage;
      cost_usd_ += response->cost_usd;
      auto value = validator(std::string_view(response->text));
      if (value) {
        last_attempts_.push_back({std::move(response->text), {}, response->finish});
        return std::move(*value);
      }
      std::string reason = value.error().what.empty() ? "the answer was rejected" : value.error().what;
      if (response->finish == llm::FinishReason::length)
        reason += " (the answer stopped at the output token limit; answer more briefly)";
      last_attempts_.push_back({response->text, reason, response->finish});
      auto delay = retry.next_delay(attempt, value.error());
      if (!delay) break;
      if (delay->count() > 0) std::this_thread::sleep_for(*delay);
      request.messages.push_back({llm::Role::assistant, std::move(response->text)});
      request.messages.push_back({llm::Role::user, *feedback_.render({{"reason", reason}})});
    }
    return fail(exhausted_message(), "check the prompt and the validator, or allow more attempts (max_attempts)",
                ExitCode::failure);
  }

  [[nodiscard]] std::string exhausted_message() const {
    std::string out = "the model gave no acceptable answer in " + std::to_string(last_attempts_.size()) +
                      (last_attempts_.size() == 1 ? " attempt:" : " attempts:");
    for (std::size_t i = 0; i < last_attempts_.size(); ++i) {
      out += "\n  attempt " + std::to_string(i + 1) + ": ";
      for (char c : last_attempts_[i].rejection) out += c == '\n' ? std::string("\n    ") : std::string(1, c);
    }
    return out;
  }

  Model model_;
  std::string name_ = "agent";
  std::string system_;
  llm::Params params_;
  PromptTemplate feedback_;
  llm::Usage usage_;
  double cost_usd_ = 0.0;
  int calls_ = 0;
  std::vector<Attempt> last_attempts_;
};

}  // namespace speedrunner::agent
