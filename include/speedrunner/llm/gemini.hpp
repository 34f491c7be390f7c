// Google Gemini generateContent / streamGenerateContent?alt=sse, calling exactly
// the model the config names (no silent fallback to another model).
#pragma once

#include <speedrunner/llm/detail/exchange.hpp>

namespace speedrunner::llm {

namespace detail {

inline FinishReason gemini_finish(std::string_view f) {
  if (f == "STOP") return FinishReason::stop;
  if (f == "MAX_TOKENS") return FinishReason::length;
  if (f == "SAFETY" || f == "RECITATION" || f == "BLOCKLIST" || f == "PROHIBITED_CONTENT" || f == "SPII")
    return FinishReason::content_filter;
  return FinishReason::other;
}

// Thinking tokens are billed as output, so they count as output here.
inline void gemini_usage(const json::value& u, Usage& out) {
  if (!u.is_object()) return;
  out.input_tokens = int_or(at_path(u, {"promptTokenCount"}));
  out.cached_tokens = int_or(at_path(u, {"cachedContentTokenCount"}));
  out.output_tokens = int_or(at_path(u, {"candidatesTokenCount"})) + int_or(at_path(u, {"thoughtsTokenCount"}));
}

struct GeminiDecoder {
  const CallSite& site;
  Response response;
  bool finished = false;

  // One GenerateContentResponse (a whole body or one stream chunk).
  Result<void> absorb(const json::value& v) {
    if (const auto* err = at_path(v, {"error"}); err != nullptr && err->is_object()) {
      std::string body = json::serialize(v);
      int code = static_cast<int>(int_or(at_path(v, {"error", "code"}), 500));
      return std::unexpected(status_error(site, code, {}, body));
    }
    if (auto block = str(at_path(v, {"promptFeedback", "blockReason"})); !block.empty()) {
      Error e{"Gemini refused the prompt for " + site.config->name + " (blockReason " + block + ")",
              "rephrase the task or knowledge that triggers the filter", ExitCode::failure};
      e.kind = "content_filter";
      return std::unexpected(std::move(e));
    }
    if (auto version = str(at_path(v, {"modelVersion"})); !version.empty()) response.model = version;
    if (const auto* u = at_path(v, {"usageMetadata"}); u != nullptr) gemini_usage(*u, response.usage);
    const auto* candidates = at_path(v, {"candidates"});
    if (candidates == nullptr || !candidates->is_array() || candidates->get_array().empty()) return {};
    const auto& c = candidates->get_array()[0];
    if (const auto* parts = at_path(c, {"content", "parts"}); parts != nullptr && parts->is_array())
      for (const auto& part : parts->get_array()) {
        const auto* thought = at_path(part, {"thought"});
        if (thought != nullptr && thought->is_bool() && thought->get_bool()) continue;  // thought summaries
        response.text += str(at_path(part, {"text"}));
      }
    if (auto f = str(at_path(c, {"finishReason"})); !f.empty()) {
      response.finish = gemini_finish(f);
      finished = true;
    }
    return {};
  }

  Result<void> on_event(const SseEvent& e) {
    auto v = parse_reply(site, e.data, "a stream chunk");
    if (!v) return std::unexpected(v.error());
    return absorb(*v);
  }

  Result<Response> finish_stream() {
    if (!finished)
      return std::unexpected(transient("the Gemini stream for " + site.config->name +
                                           " ended before a finishReason (" + std::to_string(response.text.size()) +
                                           " characters received)",
                                       "a network or server hiccup; it is retried", "reset"));
    return response;
  }

  Result<Response> parse_whole(std::string_view body) {
    auto v = parse_reply(site, body, "the response body");
    if (!v) return std::unexpected(v.error());
    if (!v->is_object() || (!v->get_object().contains("candidates") && !v->get_object().contains("promptFeedback") &&
                            !v->get_object().contains("error")))
      return std::unexpected(malformed(site, "no candidates in " + std::string(body.substr(0, 200))));
    if (auto r = absorb(*v); !r) return std::unexpected(r.error());
    return response;
  }
};

// thinkingBudget per reasoning_effort (Gemini 2.5 takes a token count).
inline std::int64_t gemini_thinking_budget(std::string_view effort) {
  if (effort == "minimal") return 128;
  if (effort == "low") return 1024;
  if (effort == "high") return 24576;
  return 8192;
}

}  // namespace detail

class GeminiGenerate {
 public:
  GeminiGenerate(ModelConfig config, std::string api_key)
      : config_(std::make_shared<const ModelConfig>(std::move(config))), key_(std::move(api_key)) {}

  [[nodiscard]] std::string body(const Request& request) const {
    namespace json = boost::json;
    const ModelConfig& cfg = *config_;
    Params p = detail::merged_params(cfg.params, request.params);
    json::object b;
    std::string system = request.system;
    json::array contents;
    for (const auto& m : request.messages) {
      if (m.role == Role::system) {
        system += (system.empty() ? "" : "\n\n") + m.content;
        continue;
      }
      contents.push_back(json::object{{"role", m.role == Role::assistant ? "model" : "user"},
                                      {"parts", json::array{json::object{{"text", m.content}}}}});
    }
    if (!system.empty()) b["systemInstruction"] = json::object{{"parts", json::array{json::object{{"text", system}}}}};
    b["contents"] = std::move(contents);
    json::object gen;
    if (p.temperature) gen["temperature"] = *p.temperature;
    if (p.max_tokens) gen["maxOutputTokens"] = *p.max_tokens;
    if (p.seed) gen["seed"] = *p.seed;
    if (p.reasoning_effort)
      gen["thinkingConfig"] = json::object{{"thinkingBudget", detail::gemini_thinking_budget(*p.reasoning_effort)}};
    if (!gen.empty()) b["generationConfig"] = std::move(gen);
    return json::serialize(b);
  }

  // The path holds the configured name verbatim: /models/{name}:generateContent.
  [[nodiscard]] std::string path() const {
    return "/models/" + config_->name + (config_->stream ? ":streamGenerateContent?alt=sse" : ":generateContent");
  }

  Result<Response> complete(const Request& request) {
    const ModelConfig& cfg = *config_;
    auto site = detail::make_site(cfg, "Gemini", key_);
    if (!site) return std::unexpected(site.error());
    httplib::Headers headers;
    if (!key_.empty()) headers.emplace("x-goog-api-key", key_);
    detail::GeminiDecoder decoder{*site, {}};
    return detail::exchange(*site, path(), std::move(headers), body(request), cfg.stream, decoder);
  }

  [[nodiscard]] const ModelConfig& config() const { return *config_; }

 private:
  std::shared_ptr<const ModelConfig> config_;
  std::string key_;
};

static_assert(LanguageModel<GeminiGenerate>);

}  // namespace speedrunner::llm
