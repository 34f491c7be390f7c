// The LanguageModel concept and the values that cross it: a request (system
// prompt, messages, parameters) in, a response (text, usage, finish reason,
// latency) out. Providers, decorators and the replay model all model it.
#pragma once

#include <speedrunner/core/error.hpp>

#include <chrono>
#include <concepts>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace speedrunner::llm {

enum class Role { system, user, assistant };

[[nodiscard]] constexpr std::string_view to_string(Role r) {
  switch (r) {
    case Role::system: return "system";
    case Role::user: return "user";
    case Role::assistant: return "assistant";
  }
  return "user";
}

struct Message {
  Role role = Role::user;
  std::string content;
  friend bool operator==(const Message&, const Message&) = default;
};

// Sampling parameters; unset fields are not sent, so a provider's own default applies.
struct Params {
  std::optional<double> temperature;
  std::optional<std::int64_t> max_tokens;        // max_completion_tokens for reasoning models
  std::optional<std::string> reasoning_effort;   // "low" | "medium" | "high"
  std::optional<std::uint64_t> seed;
  friend bool operator==(const Params&, const Params&) = default;
};

struct Request {
  std::string system;              // sent with every call
  std::vector<Message> messages;   // user/assistant turns, oldest first
  Params params;
  // Who asks ("ideator", "coder", "analyst"): per-agent totals, one log file per
  // agent, and the replay model's per-agent answer queues. Not sent to providers.
  std::string agent = {};
  // 1 for the first try; Retrying (llm/retry.hpp) numbers the retries, so a log shows them.
  int attempt = 1;
  // Where Logged (llm/logged.hpp) appends this call's JSONL line, e.g. the version
  // directory the call works on; empty: the Logged decorator's default directory.
  std::filesystem::path log_dir = {};
  friend bool operator==(const Request&, const Request&) = default;
};

struct Usage {
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::int64_t cached_tokens = 0;  // part of input_tokens served from the provider's cache
  std::int64_t cache_write_tokens = 0;     // part of input_tokens written to the cache (Anthropic)
  std::int64_t cache_write_1h_tokens = 0;  // part of cache_write_tokens kept one hour, not five minutes
  Usage& operator+=(const Usage& o) {
    input_tokens += o.input_tokens;
    output_tokens += o.output_tokens;
    cached_tokens += o.cached_tokens;
    cache_write_tokens += o.cache_write_tokens;
    cache_write_1h_tokens += o.cache_write_1h_tokens;
    return *this;
  }
  friend bool operator==(const Usage&, const Usage&) = default;
};

enum class FinishReason { stop, length, content_filter, other };

struct Response {
  std::string text;                   // the answer, reasoning/thinking removed
  Usage usage;
  FinishReason finish = FinishReason::stop;
  std::chrono::milliseconds latency{0};
  std::string model;                  // the model that answered, as the provider names it
  double cost_usd = 0.0;              // from the model's price table; 0 when unpriced
  bool cached = false;                // served by Cached (llm/cached.hpp): nothing was paid
};

// A LanguageModel answers a request or says why it could not.
template <class M>
concept LanguageModel = requires(M& model, const Request& request) {
  { model.complete(request) } -> std::same_as<Result<Response>>;
};

}  // namespace speedrunner::llm
