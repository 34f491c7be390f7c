// Money and tokens: a run's Budget (shared by all its agents, safe across
// threads) and the Budgeted<M> decorator that refuses a call before it would
// push spending past budget.usd or budget.tokens.
#pragma once

#include <speedrunner/llm/config.hpp>
#include <speedrunner/llm/model.hpp>

#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>

namespace speedrunner::llm {

struct BudgetLimits {
  std::optional<double> usd;            // budget.usd; unset: no money limit
  std::optional<std::int64_t> tokens;   // budget.tokens (input + output); unset: no limit
};

// What was spent: per agent, or in total.
struct Spend {
  double usd = 0.0;
  Usage usage;
  std::int64_t calls = 0;
  [[nodiscard]] std::int64_t tokens() const { return usage.input_tokens + usage.output_tokens; }
  Spend& operator+=(const Spend& o) {
    usd += o.usd;
    usage += o.usage;
    calls += o.calls;
    return *this;
  }
};

namespace detail {
inline std::string dollars(double usd) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "$%.4f", usd);
  return buf;
}
}  // namespace detail

// Calls reserve their estimate before they run and settle with the real cost
// after, so parallel agents cannot overshoot together.
class Budget {
 public:
  explicit Budget(BudgetLimits limits = {}) : limits_(limits) {}

  struct Reservation {
    double usd = 0.0;
    std::int64_t tokens = 0;
  };

  // Admits a call estimated at (usd, tokens), or says which limit it would break.
  Result<Reservation> reserve(std::string_view agent, std::string_view model, double usd, std::int64_t tokens) {
    std::lock_guard lock(mutex_);
    const double projected = total_.usd + reserved_.usd + usd;
    const std::int64_t projected_tokens = total_.tokens() + reserved_.tokens + tokens;
    std::string who = agent.empty() ? std::string("the next call") : "the next call of the " + std::string(agent);
    std::string spent = "spent " + detail::dollars(total_.usd) + " and " + std::to_string(total_.tokens()) +
                        " tokens in " + std::to_string(total_.calls) + " calls";
    const std::string fix = "the run stopped cleanly with its journal intact; to go on, raise the limit: "
                            "speedrun resume RUN_DIR budget.usd=<more> (or budget.tokens=<more>)";
    if (limits_.usd && projected > *limits_.usd) {
      Error e{"run budget reached: " + who + " to " + std::string(model) + " (about " + detail::dollars(usd) +
                  ") would bring spending to " + detail::dollars(projected) + ", over budget.usd = " +
                  detail::dollars(*limits_.usd) + " (" + spent + ")",
              fix, ExitCode::budget};
      e.kind = "budget";
      return std::unexpected(std::move(e));
    }
    if (limits_.tokens && projected_tokens > *limits_.tokens) {
      Error e{"run budget reached: " + who + " to " + std::string(model) + " (about " + std::to_string(tokens) +
                  " tokens) would bring use to " + std::to_string(projected_tokens) + " tokens, over budget.tokens = " +
                  std::to_string(*limits_.tokens) + " (" + spent + ")",
              fix, ExitCode::budget};
      e.kind = "budget";
      return std::unexpected(std::move(e));
    }
    reserved_.usd += usd;
    reserved_.tokens += tokens;
    return Reservation{usd, tokens};
  }

  // Releases a reservation and books the call's real cost (none when it failed).
  void settle(const Reservation& r, std::string_view agent, const Response* response) {
    std::lock_guard lock(mutex_);
    reserved_.usd -= r.usd;
    reserved_.tokens -= r.tokens;
    if (response == nullptr) return;
    Spend s{response->cost_usd, response->usage, 1};
    total_ += s;
    per_agent_[std::string(agent)] += s;
  }

  // A resumed run starts from what it had already spent.
  void restore(const Spend& earlier, std::string_view agent = {}) {
    std::lock_guard lock(mutex_);
    total_ += earlier;
    per_agent_[std::string(agent)] += earlier;
  }

  [[nodiscard]] Spend total() const {
    std::lock_guard lock(mutex_);
    return total_;
  }
  [[nodiscard]] std::map<std::string, Spend> per_agent() const {
    std::lock_guard lock(mutex_);
    return per_agent_;
  }
  [[nodiscard]] const BudgetLimits& limits() const { return limits_; }

 private:
  BudgetLimits limits_;
  mutable std::mutex mutex_;
  Spend total_;
  std::map<std::string, Spend> per_agent_;
  Reservation reserved_;
};

// Refuses a call whose estimated cost would exceed the run's budget, with an
// Error whose code is ExitCode::budget (the runner stops cleanly on it), and
// books every answer's real cost. The estimate is deliberately high: input at
// one token per 3 characters, output at max_tokens when set, else the largest
// answer seen so far (at least 1024 tokens).
template <class M>
class Budgeted {
  static_assert(LanguageModel<M>, "Budgeted<M>: M must be a LanguageModel (complete(const Request&) -> Result<Response>)");

 public:
  Budgeted(M model, std::shared_ptr<Budget> budget, Price price, std::string model_name,
           std::optional<std::int64_t> default_max_tokens = std::nullopt)
      : model_(std::move(model)),
        budget_(std::move(budget)),
        price_(price),
        name_(std::move(model_name)),
        default_max_tokens_(default_max_tokens),
        largest_output_(std::make_shared<std::atomic<std::int64_t>>(1024)) {}

  // Tokens and dollars this request may cost at most (as estimated).
  [[nodiscard]] std::pair<double, std::int64_t> estimate(const Request& request) const {
    std::size_t chars = request.system.size();
    for (const auto& m : request.messages) chars += m.content.size() + 8;
    Usage u;
    u.input_tokens = static_cast<std::int64_t>(chars / 3 + 16);
    u.output_tokens = request.params.max_tokens.value_or(default_max_tokens_.value_or(largest_output_->load()));
    return {cost_usd(u, price_), u.input_tokens + u.output_tokens};
  }

  Result<Response> complete(const Request& request) {
    auto [usd, tokens] = estimate(request);
    auto reservation = budget_->reserve(request.agent, name_, usd, tokens);
    if (!reservation) return std::unexpected(reservation.error());
    auto out = model_.complete(request);
    // a provider that prices nothing (replay, a local server) is billed at the config's price, if
    // any; an answer from the cache stays free
    if (out && !out->cached && out->cost_usd == 0 && (price_.input > 0 || price_.output > 0))
      out->cost_usd = cost_usd(out->usage, price_);
    budget_->settle(*reservation, request.agent, out ? &*out : nullptr);
    if (out) {
      auto seen = largest_output_->load();
      while (out->usage.output_tokens > seen && !largest_output_->compare_exchange_weak(seen, out->usage.output_tokens)) {
      }
    }
    return out;
  }

  [[nodiscard]] const std::shared_ptr<Budget>& budget() const { return budget_; }

 private:
  M model_;
  std::shared_ptr<Budget> budget_;
  Price price_;
  std::string name_;
  std::optional<std::int64_t> default_max_tokens_;
  std::shared_ptr<std::atomic<std::int64_t>> largest_output_;
};

}  // namespace speedrunner::llm
