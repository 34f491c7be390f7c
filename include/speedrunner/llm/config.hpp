// A model's configuration (config/model/<name>.json): provider, exact model id,
// endpoint, key variable, parameters, prices, timeouts and retry settings, bound
// from JSON with errors that name the key path.
#pragma once

#include <speedrunner/llm/detail/json_read.hpp>
#include <speedrunner/llm/model.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace speedrunner::llm {

enum class Provider { openai, azure, anthropic, gemini, replay };

[[nodiscard]] constexpr std::string_view to_string(Provider p) {
  switch (p) {
    case Provider::openai: return "openai";
    case Provider::azure: return "azure";
    case Provider::anthropic: return "anthropic";
    case Provider::gemini: return "gemini";
    case Provider::replay: return "replay";
  }
  return "openai";
}

// How Chat Completions receives the system prompt: "system" for most models,
// "developer" for o1/o3/o4, "user" (prepended to the first user turn) for
// models that accept neither, such as o1-preview.
enum class SystemRole { system, developer, user };

// USD per million tokens. `cached` is the price of input tokens the provider
// served from its prompt cache; absent, they cost as much as other input.
// `cache_write` and `cache_write_1h` price input written to the cache for five
// minutes and for an hour (Anthropic); absent, 1.25x and 2x the input price,
// Anthropic's multipliers.
struct Price {
  double input = 0.0;
  double output = 0.0;
  std::optional<double> cached;
  std::optional<double> cache_write;
  std::optional<double> cache_write_1h;
};

struct Timeouts {
  double connect_s = 10.0;   // TCP + TLS connect
  double read_s = 120.0;     // longest silence while waiting for bytes
  double total_s = 900.0;    // one attempt, first byte sent to last byte read
};

// Parameters of the default retry policy (llm/retry.hpp).
struct RetrySettings {
  int max_attempts = 6;              // first try included
  double base_delay_s = 1.0;         // backoff ceiling of the first retry; doubles after
  double max_delay_s = 60.0;         // cap of the backoff ceiling
  double max_retry_after_s = 300.0;  // a longer Retry-After gives up instead of waiting
};

struct ModelConfig {
  Provider provider = Provider::openai;
  std::string name;          // exact provider model id; Azure: the deployment name
  std::string base_url;      // empty: the provider's public endpoint (default_base_url)
  std::string api_key_env;   // variable holding the key; empty: no key sent (local servers)
  std::string api_version;   // Azure: api-version (required); Anthropic: anthropic-version
  bool reasoning = false;    // o-series style: max_completion_tokens, reasoning_effort, no temperature
  Params params;             // defaults for every call; a request's own set fields win
  Price price;
  bool stream = true;        // server-sent events; false: one JSON body
  Timeouts timeouts;
  RetrySettings retry;
  SystemRole system_role = SystemRole::system;
  bool strip_think = false;  // remove <think>...</think> (raw-served R1 and distills)
  std::string transcript;    // replay: the JSONL transcript (llm/replay.hpp)
  std::string ca_cert_path;  // extra CA bundle for a self-hosted HTTPS endpoint
  // Tokens the model reads and writes in one call (prompt + answer); 0: unknown,
  // and the coder does not check its prompts against it.
  std::int64_t context_window = 0;
  // The key itself, when the runner resolved it from config/secrets; empty: read
  // api_key_env at make_model time. Never written to any file or message.
  std::string api_key;
  std::string label;         // the config's name ("o3_mini"), for messages
  bool transcript_may_be_empty = false;  // replay: a resumed run whose answers are all used
};

[[nodiscard]] inline std::string default_base_url(Provider p) {
  switch (p) {
    case Provider::openai: return "https://api.openai.com/v1";
    case Provider::anthropic: return "https://api.anthropic.com";
    case Provider::gemini: return "https://generativelanguage.googleapis.com/v1beta";
    case Provider::azure:
    case Provider::replay: return {};
  }
  return {};
}

// Cost of one call: cached input at the cached price, cache writes at theirs,
// the rest of the input and all output (reasoning tokens included, as
// providers bill them) at list price.
[[nodiscard]] inline double cost_usd(const Usage& u, const Price& p) {
  const auto d = [](std::int64_t n) { return static_cast<double>(n); };
  const std::int64_t writes_5m = u.cache_write_tokens - u.cache_write_1h_tokens;
  const std::int64_t fresh = u.input_tokens - u.cached_tokens - u.cache_write_tokens;
  return (d(fresh) * p.input + d(u.cached_tokens) * p.cached.value_or(p.input) +
          d(writes_5m) * p.cache_write.value_or(1.25 * p.input) +
          d(u.cache_write_1h_tokens) * p.cache_write_1h.value_or(2.0 * p.input) + d(u.output_tokens) * p.output) /
         1e6;
}

namespace detail {

template <class Enum, std::size_t N>
Result<void> read_enum(const json::object& o, std::string_view path, std::string_view key, Enum& out,
                       const std::pair<std::string_view, Enum> (&choices)[N]) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return {};
  std::string s;
  if (auto r = read(*v, join_path(path, key), s); !r) return r;
  std::string list;
  for (const auto& [name, e] : choices) {
    if (name == s) {
      out = e;
      return {};
    }
    list += (list.empty() ? "" : ", ") + std::string(name);
  }
  return fail(join_path(path, key) + ": unknown value \"" + s + "\"", "use one of: " + list);
}

inline Result<void> positive(std::string_view path, double v) {
  if (v > 0) return {};
  return fail(std::string(path) + ": expected a positive number, got " + number(v));
}

}  // namespace detail

// Binds one model config object; `path` prefixes key paths in errors ("model").
// Kept to this one function so it can move onto the config area's typed binder.
[[nodiscard]] inline Result<ModelConfig> model_config_from_json(const boost::json::value& value,
                                                               std::string_view path = "model") {
  using namespace detail;
  if (!value.is_object()) return type_error(path, "an object", value);
  const auto& o = value.get_object();
  Result<void> r = only_known_keys(
      o, path, {"provider", "name", "base_url", "api_key_env", "api_key", "api_version", "reasoning", "params",
                "price", "stream", "timeouts", "retry", "system_role", "strip_think", "transcript", "ca_cert_path",
                 "context_window"});
  ModelConfig c;
  static constexpr std::pair<std::string_view, Provider> providers[] = {
      {"openai", Provider::openai}, {"azure", Provider::azure}, {"anthropic", Provider::anthropic},
      {"gemini", Provider::gemini}, {"replay", Provider::replay}};
  static constexpr std::pair<std::string_view, SystemRole> roles[] = {
      {"system", SystemRole::system}, {"developer", SystemRole::developer}, {"user", SystemRole::user}};
  if (r && !o.contains("provider"))
    r = fail(join_path(path, "provider") + ": missing", "set \"provider\" to openai, azure, anthropic, gemini or replay");
  if (r) r = read_enum(o, path, "provider", c.provider, providers);
  if (r) r = read_field(o, path, "name", c.name);
  if (r) r = read_field(o, path, "base_url", c.base_url);
  if (r) r = read_field(o, path, "api_key_env", c.api_key_env);
  if (r) r = read_field(o, path, "api_key", c.api_key);
  if (r) r = read_field(o, path, "api_version", c.api_version);
  if (r) r = read_field(o, path, "reasoning", c.reasoning);
  if (r) r = read_field(o, path, "stream", c.stream);
  if (r) r = read_enum(o, path, "system_role", c.system_role, roles);
  if (r) r = read_field(o, path, "strip_think", c.strip_think);
  if (r) r = read_field(o, path, "context_window", c.context_window);
  if (r && c.context_window < 0)
    r = fail(join_path(path, "context_window") + ": must not be negative",
             "give the model's context window in tokens (0: unknown, not checked)");
  if (r) r = read_field(o, path, "transcript", c.transcript);
  if (r) r = read_field(o, path, "ca_cert_path", c.ca_cert_path);
  if (!r) return std::unexpected(r.error());

  auto section = [&](std::string_view key, std::initializer_list<std::string_view> known,
                     auto&& bind) -> Result<void> {
    const json::value* v = o.if_contains(key);
    if (v == nullptr) return {};
    std::string p = join_path(path, key);
    if (!v->is_object()) return type_error(p, "an object", *v);
    if (auto k = only_known_keys(v->get_object(), p, known); !k) return k;
    return bind(v->get_object(), p);
  };
  r = section("params", {"temperature", "max_tokens", "reasoning_effort", "seed"},
              [&](const json::object& s, const std::string& p) -> Result<void> {
                Result<void> q = read_field(s, p, "temperature", c.params.temperature);
                if (q) q = read_field(s, p, "max_tokens", c.params.max_tokens);
                if (q) q = read_field(s, p, "reasoning_effort", c.params.reasoning_effort);
                if (q) q = read_field(s, p, "seed", c.params.seed);
                if (!q) return q;
                if (c.params.temperature && (*c.params.temperature < 0 || *c.params.temperature > 2))
                  return fail(p + ".temperature: expected a number in [0, 2], got " +
                              number(*c.params.temperature));
                if (c.params.max_tokens && *c.params.max_tokens <= 0)
                  return fail(p + ".max_tokens: expected a positive integer, got " +
                              std::to_string(*c.params.max_tokens));
                if (const auto& e = c.params.reasoning_effort;
                    e && *e != "minimal" && *e != "low" && *e != "medium" && *e != "high")
                  return fail(p + ".reasoning_effort: unknown value \"" + *e + "\"",
                              "use one of: minimal, low, medium, high");
                return {};
              });
  if (r)
    r = section("price", {"input", "output", "cached", "cache_write", "cache_write_1h"},
                [&](const json::object& s, const std::string& p) -> Result<void> {
      Result<void> q = read_field(s, p, "input", c.price.input);
      if (q) q = read_field(s, p, "output", c.price.output);
      if (q) q = read_field(s, p, "cached", c.price.cached);
      if (q) q = read_field(s, p, "cache_write", c.price.cache_write);
      if (q) q = read_field(s, p, "cache_write_1h", c.price.cache_write_1h);
      if (q && (c.price.input < 0 || c.price.output < 0 || c.price.cached.value_or(0) < 0 ||
                c.price.cache_write.value_or(0) < 0 || c.price.cache_write_1h.value_or(0) < 0))
        q = fail(p + ": prices must not be negative", "give USD per million tokens");
      return q;
    });
  if (r)
    r = section("timeouts", {"connect_s", "read_s", "total_s"}, [&](const json::object& s, const std::string& p) -> Result<void> {
      Result<void> q = read_field(s, p, "connect_s", c.timeouts.connect_s);
      if (q) q = read_field(s, p, "read_s", c.timeouts.read_s);
      if (q) q = read_field(s, p, "total_s", c.timeouts.total_s);
      if (q) q = positive(p + ".connect_s", c.timeouts.connect_s);
      if (q) q = positive(p + ".read_s", c.timeouts.read_s);
      if (q) q = positive(p + ".total_s", c.timeouts.total_s);
      return q;
    });
  if (r)
    r = section("retry", {"max_attempts", "base_delay_s", "max_delay_s", "max_retry_after_s"},
                [&](const json::object& s, const std::string& p) -> Result<void> {
                  std::int64_t attempts = c.retry.max_attempts;
                  Result<void> q = read_field(s, p, "max_attempts", attempts);
                  if (q && (attempts < 1 || attempts > 100))
                    q = fail(p + ".max_attempts: expected an integer in [1, 100], got " + std::to_string(attempts));
                  c.retry.max_attempts = static_cast<int>(attempts);
                  if (q) q = read_field(s, p, "base_delay_s", c.retry.base_delay_s);
                  if (q) q = read_field(s, p, "max_delay_s", c.retry.max_delay_s);
                  if (q) q = read_field(s, p, "max_retry_after_s", c.retry.max_retry_after_s);
                  if (q && (c.retry.base_delay_s < 0 || c.retry.max_delay_s < 0 || c.retry.max_retry_after_s < 0))
                    q = fail(p + ": delays must not be negative");
                  return q;
                });
  if (!r) return std::unexpected(r.error());

  // What each provider cannot do without.
  if (c.provider == Provider::replay) {
    if (c.transcript.empty())
      return fail(join_path(path, "transcript") + ": missing for the replay provider",
                  "set \"transcript\" to a JSONL file, e.g. data/demo/collatz_transcript.jsonl");
    if (c.name.empty()) c.name = "replay";
  } else {
    if (c.name.empty())
      return fail(join_path(path, "name") + ": missing", "set \"name\" to the provider's exact model id");
    if (c.provider == Provider::azure && c.base_url.empty())
      return fail(join_path(path, "base_url") + ": missing for an Azure deployment",
                  "set it to https://<resource>.openai.azure.com");
    if (c.provider == Provider::azure && c.api_version.empty())
      return fail(join_path(path, "api_version") + ": missing for an Azure deployment",
                  "set it to the api-version your resource supports, e.g. 2024-10-21");
    if (c.base_url.empty()) c.base_url = default_base_url(c.provider);
    if (!c.base_url.starts_with("http://") && !c.base_url.starts_with("https://"))
      return fail(join_path(path, "base_url") + ": \"" + c.base_url + "\" is not an http:// or https:// URL");
  }
  return c;
}

// Reads config/model/<label>.json; the label is the file's stem.
[[nodiscard]] inline Result<ModelConfig> load_model_config(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail("model config " + file.string() + " cannot be read", "check the path (config/model/<name>.json)");
  std::stringstream ss;
  ss << in.rdbuf();
  auto v = detail::parse_json(ss.str(), file.string(), /*lenient=*/true);
  if (!v) return std::unexpected(v.error());
  auto c = model_config_from_json(*v, "model");
  if (!c) return std::unexpected(std::move(c.error()).context(file.string()));
  c->label = file.stem().string();
  return c;
}

}  // namespace speedrunner::llm
