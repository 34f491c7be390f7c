// Picking a model at run time: AnyModel (a type-erased LanguageModel),
// make_model (provider chosen by the config) and make_run_model (the provider
// wrapped in the run's decorators: cache, budget, retry, log).
// Heavy to compile (every provider): include it only where models are made.
#pragma once

#include <speedrunner/llm/anthropic.hpp>
#include <speedrunner/llm/budget.hpp>
#include <speedrunner/llm/cached.hpp>
#include <speedrunner/llm/gemini.hpp>
#include <speedrunner/llm/logged.hpp>
#include <speedrunner/llm/openai.hpp>
#include <speedrunner/llm/replay.hpp>
#include <speedrunner/llm/retry.hpp>

#include <cstdlib>
#include <memory>

namespace speedrunner::llm {

// Holds any LanguageModel. Copies share the model (and so its state, such as a
// replay cursor); calls may come from several threads when the model allows it.
class AnyModel {
 public:
  template <class M>
    requires(LanguageModel<M> && !std::same_as<std::remove_cvref_t<M>, AnyModel>)
  explicit AnyModel(M model, std::string name = {})
      : self_(std::make_shared<Model<M>>(std::move(model))), name_(std::move(name)) {}

  Result<Response> complete(const Request& request) { return self_->complete(request); }

  // The model id it was made for ("o3-mini"), for messages and cache keys.
  [[nodiscard]] const std::string& name() const { return name_; }

 private:
  struct Interface {
    virtual ~Interface() = default;
    virtual Result<Response> complete(const Request&) = 0;
  };
  template <class M>
  struct Model final : Interface {
    explicit Model(M m) : model(std::move(m)) {}
    Result<Response> complete(const Request& r) override { return model.complete(r); }
    M model;
  };
  std::shared_ptr<Interface> self_;
  std::string name_;
};

static_assert(LanguageModel<AnyModel>);

// The API key for a config: ModelConfig::api_key when the runner resolved it
// from secrets, else the variable api_key_env names; none when that is empty.
[[nodiscard]] inline Result<std::string> resolve_api_key(const ModelConfig& config) {
  if (!config.api_key.empty() || config.api_key_env.empty()) return config.api_key;
  const char* v = std::getenv(config.api_key_env.c_str());
  if (v == nullptr || *v == '\0')
    return fail(config.api_key_env + " is not set (model " +
                    (config.label.empty() ? config.name : config.label) + " needs it)",
                "export " + config.api_key_env + "=<your key>, or put it in config/secrets/default.json");
  return std::string(v);
}

// The provider client the config names, unwrapped.
[[nodiscard]] inline Result<AnyModel> make_model(const ModelConfig& config) {
  if (config.provider == Provider::replay) {
    auto m = ReplayModel::load(config.transcript, config.transcript_may_be_empty);
    if (!m) return std::unexpected(m.error());
    return AnyModel(std::move(*m), config.name);
  }
  auto key = resolve_api_key(config);
  if (!key) return std::unexpected(key.error());
  switch (config.provider) {
    case Provider::openai:
    case Provider::azure: return AnyModel(OpenAIChat(config, std::move(*key)), config.name);
    case Provider::anthropic: return AnyModel(AnthropicMessages(config, std::move(*key)), config.name);
    case Provider::gemini: return AnyModel(GeminiGenerate(config, std::move(*key)), config.name);
    case Provider::replay: break;
  }
  return fail("model.provider: unsupported provider " + std::string(to_string(config.provider)));
}

// The run's services around a model.
struct RunModelOptions {
  std::shared_ptr<Budget> budget;          // null: no budget checks
  CacheMode cache = CacheMode::off;        // llm.cache
  std::filesystem::path cache_dir;         // where cache entries live (e.g. RUN_DIR/llm_cache)
  std::filesystem::path log_dir;           // default log directory when a request names none
  std::string role;                        // the role a role's own model serves ("coder"); empty: the run's model
};

// Cached< Budgeted< Retrying< Logged< provider >>>>: a cache hit costs nothing and
// skips everything inside; the budget is checked once per question; each retry
// is logged with its attempt number. The replay provider is not retried.
[[nodiscard]] inline Result<AnyModel> make_run_model(const ModelConfig& config, const RunModelOptions& options) {
  auto base = make_model(config);
  if (!base) return std::unexpected(base.error());
  AnyModel logged(Logged<AnyModel>(std::move(*base), options.log_dir, config.name, options.role), config.name);
  auto policy = ExponentialBackoff::from(config.retry);
  if (config.provider == Provider::replay) policy.max_attempts = 1;
  AnyModel retrying(Retrying<AnyModel>(std::move(logged), policy), config.name);
  AnyModel budgeted = options.budget
                          ? AnyModel(Budgeted<AnyModel>(std::move(retrying), options.budget, config.price, config.name,
                                                        config.params.max_tokens),
                                     config.name)
                          : std::move(retrying);
  if (options.cache == CacheMode::off) return budgeted;
  if (options.cache_dir.empty())
    return fail("llm.cache=" + std::string(options.cache == CacheMode::record ? "record" : "replay") +
                    " needs a cache directory",
                "set llm.cache_dir, or llm.cache=off");
  return AnyModel(Cached<AnyModel>(std::move(budgeted), options.cache, options.cache_dir, config.name), config.name);
}

}  // namespace speedrunner::llm
