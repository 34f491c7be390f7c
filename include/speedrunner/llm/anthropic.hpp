// Anthropic Messages API (POST {base_url}/v1/messages): x-api-key and
// anthropic-version headers, a top-level system prompt, a required max_tokens,
// extended thinking for reasoning configs; thinking blocks never reach the answer.
#pragma once

#include <speedrunner/llm/detail/exchange.hpp>

namespace speedrunner::llm {

namespace detail {

inline FinishReason anthropic_finish(std::string_view f) {
  if (f == "end_turn" || f == "stop_sequence" || f == "tool_use") return FinishReason::stop;
  if (f == "max_tokens") return FinishReason::length;
  if (f == "refusal") return FinishReason::content_filter;
  return FinishReason::other;
}

// input_tokens counts only uncached input; cache reads and writes come apart,
// and cache_creation splits the writes into five-minute and one-hour ones.
inline void anthropic_usage(const json::value& u, Usage& out) {
  if (!u.is_object()) return;
  if (u.get_object().contains("input_tokens") || u.get_object().contains("cache_read_input_tokens")) {
    std::int64_t read = int_or(at_path(u, {"cache_read_input_tokens"}));
    std::int64_t written = int_or(at_path(u, {"cache_creation_input_tokens"}));
    out.input_tokens = int_or(at_path(u, {"input_tokens"})) + written + read;
    out.cached_tokens = read;
    out.cache_write_tokens = written;
    out.cache_write_1h_tokens = std::min(written, int_or(at_path(u, {"cache_creation", "ephemeral_1h_input_tokens"})));
  }
  if (const auto* o = at_path(u, {"output_tokens"}); o != nullptr) out.output_tokens = int_or(o);
}

struct AnthropicDecoder {
  const CallSite& site;
  Response response;
  bool finished = false;

  static bool overloaded(std::string_view type) { return type == "overloaded_error" || type == "api_error"; }

  Result<void> on_event(const SseEvent& e) {
    if (e.event == "ping") return {};
    auto v = parse_reply(site, e.data, "a stream event");
    if (!v) return std::unexpected(v.error());
    std::string type = e.event.empty() ? str(at_path(*v, {"type"})) : e.event;
    if (type == "message_start") {
      response.model = str(at_path(*v, {"message", "model"}));
      if (const auto* u = at_path(*v, {"message", "usage"}); u != nullptr) anthropic_usage(*u, response.usage);
    } else if (type == "content_block_delta") {
      // text_delta is the answer; thinking_delta and signature_delta are not.
      if (str(at_path(*v, {"delta", "type"})) == "text_delta") response.text += str(at_path(*v, {"delta", "text"}));
    } else if (type == "message_delta") {
      if (const auto* s = at_path(*v, {"delta", "stop_reason"}); s != nullptr && s->is_string())
        response.finish = anthropic_finish(str(s));
      if (const auto* u = at_path(*v, {"usage"}); u != nullptr) anthropic_usage(*u, response.usage);
    } else if (type == "message_stop") {
      finished = true;
    } else if (type == "error") {
      std::string etype = str(at_path(*v, {"error", "type"}));
      std::string msg = str(at_path(*v, {"error", "message"}));
      if (mentions_context_length(msg, etype)) return std::unexpected(status_error(site, 400, {}, e.data));
      if (overloaded(etype))
        return std::unexpected(transient("Anthropic reported " + etype + " mid-stream for " + site.config->name + ": " + msg,
                                         "the provider is overloaded; it is retried", "stream_error"));
      Error err{"Anthropic reported " + etype + " mid-stream for " + site.config->name + ": " + msg,
                "check \"params\" in " + site.config_file(), ExitCode::failure};
      err.kind = "stream_error";
      return std::unexpected(std::move(err));
    }
    return {};
  }

  Result<Response> finish_stream() {
    if (!finished)
      return std::unexpected(transient("the Anthropic stream for " + site.config->name +
                                           " ended before message_stop (" + std::to_string(response.text.size()) +
                                           " characters received)",
                                       "a network or server hiccup; it is retried", "reset"));
    return response;
  }

  Result<Response> parse_whole(std::string_view body) {
    auto v = parse_reply(site, body, "the response body");
    if (!v) return std::unexpected(v.error());
    const auto* content = at_path(*v, {"content"});
    if (content == nullptr || !content->is_array())
      return std::unexpected(malformed(site, "no content in " + std::string(body.substr(0, 200))));
    Response r;
    for (const auto& block : content->get_array())
      if (str(at_path(block, {"type"})) == "text") r.text += str(at_path(block, {"text"}));
    r.finish = anthropic_finish(str(at_path(*v, {"stop_reason"})));
    r.model = str(at_path(*v, {"model"}));
    if (const auto* u = at_path(*v, {"usage"}); u != nullptr) anthropic_usage(*u, r.usage);
    return r;
  }
};

// Thinking budget per reasoning_effort (Anthropic takes a token count; 1024 is its minimum).
inline std::int64_t thinking_budget(std::string_view effort) {
  if (effort == "minimal") return 1024;
  if (effort == "low") return 2048;
  if (effort == "high") return 16384;
  return 8192;
}

}  // namespace detail

class AnthropicMessages {
 public:
  static constexpr std::int64_t default_max_tokens = 8192;   // the API requires max_tokens
  static constexpr std::string_view default_version = "2023-06-01";

  AnthropicMessages(ModelConfig config, std::string api_key)
      : config_(std::make_shared<const ModelConfig>(std::move(config))), key_(std::move(api_key)) {}

  [[nodiscard]] Result<std::string> body(const Request& request) const {
    namespace json = boost::json;
    const ModelConfig& cfg = *config_;
    Params p = detail::merged_params(cfg.params, request.params);
    json::object b;
    b["model"] = cfg.name;
    std::string system = request.system;
    json::array messages;
    for (const auto& m : request.messages) {
      if (m.role == Role::system) {  // the Messages API has no system turns
        system += (system.empty() ? "" : "\n\n") + m.content;
        continue;
      }
      messages.push_back(json::object{{"role", to_string(m.role)}, {"content", m.content}});
    }
    if (!system.empty()) b["system"] = system;
    b["messages"] = std::move(messages);
    bool thinking = cfg.reasoning;
    std::int64_t budget = detail::thinking_budget(p.reasoning_effort.value_or("medium"));
    std::int64_t max_tokens = p.max_tokens.value_or(thinking ? budget + default_max_tokens : default_max_tokens);
    if (thinking && max_tokens <= budget)
      return fail("params.max_tokens = " + std::to_string(max_tokens) + " of " + cfg.name +
                      " leaves nothing after the thinking budget of " + std::to_string(budget) + " tokens",
                  "raise params.max_tokens above " + std::to_string(budget) + " or lower params.reasoning_effort");
    b["max_tokens"] = max_tokens;
    if (thinking) b["thinking"] = json::object{{"type", "enabled"}, {"budget_tokens", budget}};
    else if (p.temperature) b["temperature"] = std::min(*p.temperature, 1.0);  // Anthropic's range is [0, 1]
    if (cfg.stream) b["stream"] = true;
    return json::serialize(b);
  }

  Result<Response> complete(const Request& request) {
    const ModelConfig& cfg = *config_;
    auto site = detail::make_site(cfg, "Anthropic", key_);
    if (!site) return std::unexpected(site.error());
    auto text = body(request);
    if (!text) return std::unexpected(text.error());
    httplib::Headers headers;
    if (!key_.empty()) headers.emplace("x-api-key", key_);
    headers.emplace("anthropic-version", cfg.api_version.empty() ? std::string(default_version) : cfg.api_version);
    detail::AnthropicDecoder decoder{*site, {}};
    return detail::exchange(*site, "/v1/messages", std::move(headers), std::move(*text), cfg.stream, decoder);
  }

  [[nodiscard]] const ModelConfig& config() const { return *config_; }

 private:
  std::shared_ptr<const ModelConfig> config_;
  std::string key_;
};

static_assert(LanguageModel<AnthropicMessages>);

}  // namespace speedrunner::llm
