// OpenAI Chat Completions: the OpenAI API, Azure OpenAI deployments, and any
// OpenAI-compatible server (vLLM, llama.cpp's llama-server, Ollama, DeepSeek,
// OpenRouter), streamed or not.
#pragma once

#include <speedrunner/llm/detail/exchange.hpp>

namespace speedrunner::llm {

namespace detail {

inline FinishReason openai_finish(std::string_view f) {
  if (f == "stop" || f == "tool_calls" || f == "function_call") return FinishReason::stop;
  if (f == "length") return FinishReason::length;
  if (f == "content_filter") return FinishReason::content_filter;
  return FinishReason::other;
}

// Reasoning tokens are part of completion_tokens at OpenAI; some compatible
// servers count them apart (total = prompt + completion + reasoning), and then
// they are added, since they are billed as output.
inline void openai_usage(const json::value& u, Usage& out) {
  if (!u.is_object()) return;
  const std::int64_t prompt = int_or(at_path(u, {"prompt_tokens"}));
  const std::int64_t completion = int_or(at_path(u, {"completion_tokens"}));
  const std::int64_t reasoning = int_or(at_path(u, {"completion_tokens_details", "reasoning_tokens"}),
                                        int_or(at_path(u, {"reasoning_tokens"})));
  const json::value* total = at_path(u, {"total_tokens"});
  const bool apart = reasoning > 0 && ((total != nullptr && int_or(total) == prompt + completion + reasoning) ||
                                       reasoning > completion);
  out.input_tokens = prompt;
  out.output_tokens = completion + (apart ? reasoning : 0);
  // OpenAI reports cache hits under prompt_tokens_details; DeepSeek as prompt_cache_hit_tokens.
  out.cached_tokens = int_or(at_path(u, {"prompt_tokens_details", "cached_tokens"}),
                             int_or(at_path(u, {"prompt_cache_hit_tokens"})));
}

// The model declined (a `refusal` instead of content): an answer to report, not to retry.
inline Error refusal_error(const CallSite& site, const std::string& text) {
  Error e{site.config->name + " refused the request: \"" + text + "\"",
          "the model declined on policy grounds; rephrase the task, hypothesis or knowledge it was sent, or "
          "choose another model in " + site.config_file(),
          ExitCode::failure};
  e.kind = "refusal";
  return e;
}

struct OpenAIDecoder {
  const CallSite& site;
  Response response;
  bool finished = false;  // a finish_reason or [DONE] arrived
  std::string refusal;    // delta.refusal pieces

  Result<void> on_event(const SseEvent& e) {
    if (e.data == "[DONE]") {
      finished = true;
      return {};
    }
    auto v = parse_reply(site, e.data, "a stream chunk");
    if (!v) return std::unexpected(v.error());
    if (const auto* err = at_path(*v, {"error"}); err != nullptr && !err->is_null())
      return std::unexpected(stream_error(*v));
    if (response.model.empty()) response.model = str(at_path(*v, {"model"}));
    if (const auto* u = at_path(*v, {"usage"}); u != nullptr) openai_usage(*u, response.usage);
    if (const auto* choices = at_path(*v, {"choices"}); choices != nullptr && choices->is_array()) {
      for (const auto& c : choices->get_array()) {
        if (int_or(at_path(c, {"index"})) != 0) continue;
        if (const auto* t = at_path(c, {"delta", "content"}); t != nullptr && t->is_string())
          response.text.append(t->get_string().c_str(), t->get_string().size());
        refusal += str(at_path(c, {"delta", "refusal"}));
        if (const auto* f = at_path(c, {"finish_reason"}); f != nullptr && f->is_string()) {
          response.finish = openai_finish(str(f));
          finished = true;
        }
      }
    }
    return {};
  }

  Error stream_error(const json::value& v) const {
    std::string body = json::serialize(v);
    std::string code;
    std::string msg = error_text(body, &code);
    if (mentions_context_length(msg, code)) return status_error(site, 400, {}, body);
    // A request error (a 4xx code, or an invalid_request_error) fails the same way every time.
    std::int64_t status = int_or(at_path(v, {"error", "code"}), int_or(at_path(v, {"error", "status"}),
                                                                       int_or(at_path(v, {"code"}))));
    if (status < 400 && str(at_path(v, {"error", "type"})) == "invalid_request_error") status = 400;
    if (status >= 400 && status < 500) return status_error(site, static_cast<int>(status), {}, body);
    // An error inside a 200 stream is the server failing mid-answer: worth another try.
    return transient(site.provider + " reported an error mid-stream for " + site.config->name + ": " + msg,
                     "a server hiccup; it is retried", "stream_error");
  }

  Result<Response> finish_stream() {
    if (!finished)
      return std::unexpected(transient("the " + site.provider + " stream for " + site.config->name +
                                           " ended before its last chunk (" + std::to_string(response.text.size()) +
                                           " characters received)",
                                       "a network or server hiccup; it is retried", "reset"));
    if (!refusal.empty()) return std::unexpected(refusal_error(site, refusal));
    return response;
  }

  Result<Response> parse_whole(std::string_view body) {
    auto v = parse_reply(site, body, "the response body");
    if (!v) return std::unexpected(v.error());
    const auto* choice = at_path(*v, {"choices"});
    if (choice == nullptr || !choice->is_array() || choice->get_array().empty())
      return std::unexpected(malformed(site, "no choices in " + std::string(body.substr(0, 200))));
    const auto& c = choice->get_array()[0];
    const auto* content = at_path(c, {"message", "content"});
    Response r;
    if (content != nullptr && content->is_string()) r.text = str(content);
    if (auto said = str(at_path(c, {"message", "refusal"})); !said.empty())
      return std::unexpected(refusal_error(site, said));
    r.finish = openai_finish(str(at_path(c, {"finish_reason"})));
    r.model = str(at_path(*v, {"model"}));
    if (const auto* u = at_path(*v, {"usage"}); u != nullptr) openai_usage(*u, r.usage);
    return r;
  }
};

}  // namespace detail

// Chat Completions client. `ModelConfig::provider` picks the flavour: openai
// (Authorization: Bearer, POST {base_url}/chat/completions) or azure (api-key,
// POST {base_url}/openai/deployments/{name}/chat/completions?api-version=...).
// Reasoning models (`reasoning: true`) get max_completion_tokens and
// reasoning_effort and never a temperature, which they refuse.
class OpenAIChat {
 public:
  OpenAIChat(ModelConfig config, std::string api_key)
      : config_(std::make_shared<const ModelConfig>(std::move(config))), key_(std::move(api_key)) {}

  // The JSON body this client sends for a request (also what tests check).
  [[nodiscard]] std::string body(const Request& request) const {
    namespace json = boost::json;
    const ModelConfig& cfg = *config_;
    Params p = detail::merged_params(cfg.params, request.params);
    json::object b;
    b["model"] = cfg.name;
    json::array messages;
    std::string pending_system = request.system;
    if (!request.system.empty() && cfg.system_role != SystemRole::user)
      messages.push_back(json::object{{"role", cfg.system_role == SystemRole::developer ? "developer" : "system"},
                                      {"content", request.system}});
    for (const auto& m : request.messages) {
      std::string content = m.content;
      if (cfg.system_role == SystemRole::user && !pending_system.empty() && m.role == Role::user) {
        content = pending_system + "\n\n" + content;
        pending_system.clear();
      }
      messages.push_back(json::object{{"role", to_string(m.role)}, {"content", content}});
    }
    if (!pending_system.empty() && cfg.system_role == SystemRole::user)
      messages.push_back(json::object{{"role", "user"}, {"content", pending_system}});
    b["messages"] = std::move(messages);
    if (cfg.reasoning) {
      if (p.max_tokens) b["max_completion_tokens"] = *p.max_tokens;
      if (p.reasoning_effort) b["reasoning_effort"] = *p.reasoning_effort;
    } else {
      if (p.max_tokens) b["max_tokens"] = *p.max_tokens;
      if (p.temperature) b["temperature"] = *p.temperature;
    }
    if (p.seed) b["seed"] = *p.seed;
    if (cfg.stream) {
      b["stream"] = true;
      b["stream_options"] = json::object{{"include_usage", true}};
    }
    return json::serialize(b);
  }

  Result<Response> complete(const Request& request) {
    const ModelConfig& cfg = *config_;
    bool azure = cfg.provider == Provider::azure;
    auto site = detail::make_site(cfg, azure ? "Azure OpenAI" : "OpenAI", key_);
    if (!site) return std::unexpected(site.error());
    httplib::Headers headers;
    if (!key_.empty()) {
      if (azure) headers.emplace("api-key", key_);
      else headers.emplace("Authorization", "Bearer " + key_);
    }
    std::string path = azure ? "/openai/deployments/" + cfg.name + "/chat/completions?api-version=" + cfg.api_version
                             : "/chat/completions";
    detail::OpenAIDecoder decoder{*site, {}, false, {}};
    return detail::exchange(*site, path, std::move(headers), body(request), cfg.stream, decoder);
  }

  [[nodiscard]] const ModelConfig& config() const { return *config_; }

 private:
  std::shared_ptr<const ModelConfig> config_;  // shared: CallSite points into it
  std::string key_;
};

static_assert(LanguageModel<OpenAIChat>);

}  // namespace speedrunner::llm
