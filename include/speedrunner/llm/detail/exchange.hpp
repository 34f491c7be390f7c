// The part every provider shares: send one request, decode the answer as a
// stream of server-sent events or as one JSON body, then fill latency, cost and
// the think-stripped text.
#pragma once

#include <speedrunner/llm/detail/http.hpp>
#include <speedrunner/llm/think.hpp>

namespace speedrunner::llm::detail {

inline Error redacted(Error e, const std::string& secret) {
  e.what = redact(std::move(e.what), secret);
  e.fix = redact(std::move(e.fix), secret);
  return e;
}

inline Error malformed(const CallSite& site, std::string what) {
  Error e{site.provider + " sent an answer for " + site.config->name + " that cannot be read: " + std::move(what),
          "check that \"base_url\" in " + site.config_file() + " points at a " + site.provider + "-compatible API",
          ExitCode::failure};
  e.kind = "malformed";
  return e;
}

// A request's set parameters over the config's defaults.
inline Params merged_params(const Params& defaults, const Params& request) {
  Params p = defaults;
  if (request.temperature) p.temperature = request.temperature;
  if (request.max_tokens) p.max_tokens = request.max_tokens;
  if (request.reasoning_effort) p.reasoning_effort = request.reasoning_effort;
  if (request.seed) p.seed = request.seed;
  return p;
}

// Decoder: Result<void> on_event(const SseEvent&); Result<Response> finish_stream();
//          Result<Response> parse_whole(std::string_view body).
template <class Decoder>
Result<Response> exchange(const CallSite& site, const std::string& path, httplib::Headers headers,
                          std::string body, bool stream, Decoder& decoder) {
  const auto start = std::chrono::steady_clock::now();
  SseParser parser;
  std::optional<Error> bad;
  std::string raw;  // the whole body (non-streamed), or the start of a stream for diagnostics
  std::size_t events = 0;
  auto sent = post(site, path, std::move(headers), std::move(body), [&](std::string_view chunk) {
    if (!stream || raw.size() < 4096) raw.append(chunk);
    if (!stream) return true;
    return parser.feed(chunk, [&](const SseEvent& e) {
      ++events;
      auto r = decoder.on_event(e);
      if (!r) bad = std::move(r.error());
      return r.has_value();
    });
  });
  if (bad) return std::unexpected(redacted(std::move(*bad), site.secret));
  if (!sent) return std::unexpected(std::move(sent.error()));
  Result<Response> out;
  // A server that ignores "stream": true answers with one JSON body; read it as such.
  if (stream && events == 0 && raw.find_first_not_of(" \r\n\t") != std::string::npos &&
      raw[raw.find_first_not_of(" \r\n\t")] == '{')
    out = decoder.parse_whole(raw);
  else
    out = stream ? decoder.finish_stream() : decoder.parse_whole(raw);
  if (!out) return std::unexpected(redacted(std::move(out.error()), site.secret));
  const ModelConfig& cfg = *site.config;
  if (cfg.strip_think) out->text = strip_think(out->text);
  out->latency = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  if (out->model.empty()) out->model = cfg.name;
  out->cost_usd = cost_usd(out->usage, cfg.price);
  if (out->text.empty() && out->finish == FinishReason::length) {
    Error e{cfg.name + " used all its output tokens (" + std::to_string(out->usage.output_tokens) +
                ") before writing an answer (finish reason: length)",
            "raise params.max_tokens in " + site.config_file() + " (reasoning models spend tokens thinking first)",
            ExitCode::failure};
    e.kind = "length";
    return std::unexpected(std::move(e));
  }
  if (out->text.empty() && out->finish == FinishReason::content_filter) {
    Error e{cfg.name + " declined to answer: " + site.provider + " stopped it on content policy (finish reason: "
                "refusal or content filter)",
            "rephrase the task, hypothesis or knowledge it was sent, or choose another model in " + site.config_file(),
            ExitCode::failure};
    e.kind = "refusal";
    return std::unexpected(std::move(e));
  }
  return out;
}

// Parses one JSON document of a stream or a body.
inline Result<json::value> parse_reply(const CallSite& site, std::string_view text, std::string_view what) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) {
    std::string head(text.substr(0, 120));
    return std::unexpected(malformed(site, std::string(what) + " is not JSON (" + ec.message() + "): " + head));
  }
  return v;
}

}  // namespace speedrunner::llm::detail
