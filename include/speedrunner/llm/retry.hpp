// Retry as a policy: the RetryPolicy concept, the default exponential backoff
// with full jitter that honours Retry-After, and the Retrying<M, Policy>
// decorator that wraps any LanguageModel with it.
#pragma once

#include <speedrunner/llm/config.hpp>
#include <speedrunner/llm/model.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>
#include <random>
#include <thread>

namespace speedrunner::llm {

// A RetryPolicy decides, after attempt `attempt` (1-based) failed with `error`,
// whether to try again and after how long: a delay, or nullopt to give up.
// Callers copy the policy for each operation, so it may keep per-operation state.
// Error::retryable and Error::retry_after (core/error.hpp) carry the failure's
// hints; a policy is free to ignore them (a validation loop may retry any error).
template <class P>
concept RetryPolicy = std::copy_constructible<P> && requires(P& policy, int attempt, const Error& error) {
  { policy.next_delay(attempt, error) } -> std::same_as<std::optional<std::chrono::milliseconds>>;
};

// The default: retries only errors marked retryable (timeouts, resets, 408, 409,
// 429, 5xx), never 400/401/403/404; waits what Retry-After asks (giving up when
// that exceeds max_retry_after), else a uniform draw from [0, min(cap, base*2^(n-1))]
// ("full jitter", so parallel agents do not retry in lockstep).
struct ExponentialBackoff {
  int max_attempts = 6;
  std::chrono::milliseconds base{1000};
  std::chrono::milliseconds cap{60000};
  std::chrono::milliseconds max_retry_after{300000};
  std::uint64_t seed = 0;  // 0: a random seed per copy
  std::optional<std::mt19937_64> rng = std::nullopt;  // per-copy state, seeded on first use

  static ExponentialBackoff from(const RetrySettings& s) {
    auto ms = [](double seconds) { return std::chrono::milliseconds(static_cast<long long>(seconds * 1000.0)); };
    return {s.max_attempts, ms(s.base_delay_s), ms(s.max_delay_s), ms(s.max_retry_after_s), 0, std::nullopt};
  }

  std::optional<std::chrono::milliseconds> next_delay(int attempt, const Error& error) {
    if (!error.retryable || attempt >= max_attempts) return std::nullopt;
    if (error.retry_after) {
      if (*error.retry_after > max_retry_after) return std::nullopt;
      return *error.retry_after;
    }
    if (!rng) rng.emplace(seed != 0 ? seed : std::random_device{}());
    const int doublings = std::min(attempt - 1, 30);
    const auto ceiling = std::min<long long>(cap.count(), base.count() << doublings);
    std::uniform_int_distribution<long long> draw(0, std::max<long long>(ceiling, 0));
    return std::chrono::milliseconds(draw(*rng));
  }
};

// Never retries.
struct NoRetry {
  std::optional<std::chrono::milliseconds> next_delay(int, const Error&) { return std::nullopt; }
};

// Up to max_attempts tries of any error, retryable or not, without waiting: for
// loops whose failures are answers to correct (an agent's validation retries).
struct FixedAttempts {
  int max_attempts = 3;
  std::optional<std::chrono::milliseconds> next_delay(int attempt, const Error&) {
    if (attempt >= max_attempts) return std::nullopt;
    return std::chrono::milliseconds(0);
  }
};

static_assert(RetryPolicy<ExponentialBackoff> && RetryPolicy<NoRetry> && RetryPolicy<FixedAttempts>);

// Wraps a model so that failed calls are tried again as Policy says. Each try is
// sent with Request::attempt numbered, so a Logged model inside shows the tries.
template <class M, class Policy = ExponentialBackoff>
class Retrying {
  static_assert(LanguageModel<M>,
                "Retrying<M, Policy>: M must be a LanguageModel (a member complete(const Request&) -> Result<Response>)");
  static_assert(RetryPolicy<Policy>,
                "Retrying<M, Policy>: Policy needs a member next_delay(int attempt, const Error&) -> "
                "std::optional<std::chrono::milliseconds>, and must be copyable");

 public:
  using Sleep = std::function<void(std::chrono::milliseconds)>;

  explicit Retrying(M model, Policy policy = {}, Sleep sleep = {})
      : model_(std::move(model)), policy_(std::move(policy)), sleep_(std::move(sleep)) {}

  Result<Response> complete(const Request& request) {
    Policy policy = policy_;
    Request r = request;
    for (int attempt = 1;; ++attempt) {
      r.attempt = attempt;
      auto out = model_.complete(r);
      if (out) return out;
      auto delay = policy.next_delay(attempt, out.error());
      if (!delay) {
        if (attempt > 1) out.error().what += " (gave up after " + std::to_string(attempt) + " attempts)";
        return out;
      }
      if (sleep_) sleep_(*delay);
      else std::this_thread::sleep_for(*delay);
    }
  }

  [[nodiscard]] M& inner() { return model_; }

 private:
  M model_;
  Policy policy_;
  Sleep sleep_;
};

}  // namespace speedrunner::llm
