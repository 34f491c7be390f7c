// One HTTP(S) POST to a provider over cpp-httplib: timeouts, streamed bodies,
// and every failure turned into an Error that names the provider, the model and
// the fix, classified for retrying, with the API key redacted from all text.
#pragma once

#include <speedrunner/llm/config.hpp>
#include <speedrunner/llm/sse.hpp>

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <ctime>
#include <functional>

namespace speedrunner::llm::detail {

// Who a call talks to, for messages.
struct CallSite {
  std::string provider;  // "OpenAI", "Azure OpenAI", "Anthropic", "Gemini"
  std::string origin;    // scheme://host[:port]
  std::string prefix;    // path prefix of base_url ("/v1"), no trailing slash
  std::string secret;    // the API key: redacted from every text we return
  const ModelConfig* config = nullptr;

  [[nodiscard]] std::string config_file() const {
    return "config/model/" + (config->label.empty() ? std::string("<name>") : config->label) + ".json";
  }
};

// "https://host:443/v1/" -> origin "https://host:443", prefix "/v1".
inline Result<CallSite> make_site(const ModelConfig& cfg, std::string provider, std::string secret) {
  CallSite s;
  s.provider = std::move(provider);
  s.secret = std::move(secret);
  s.config = &cfg;
  std::string_view url = cfg.base_url;
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos)
    return fail("model.base_url: \"" + cfg.base_url + "\" is not an http:// or https:// URL");
  auto path_start = url.find('/', scheme_end + 3);
  s.origin = std::string(url.substr(0, path_start));
  if (path_start != std::string_view::npos) s.prefix = std::string(url.substr(path_start));
  while (!s.prefix.empty() && s.prefix.back() == '/') s.prefix.pop_back();
  if (s.origin.size() <= scheme_end + 3) return fail("model.base_url: \"" + cfg.base_url + "\" names no host");
  return s;
}

inline std::string redact(std::string text, const std::string& secret) {
  if (secret.size() < 4) return text;  // nothing meaningful to hide; avoids masking common words
  for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos + 3))
    text.replace(pos, secret.size(), "***");
  return text;
}

inline std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Retry-After as seconds ("2", "0.5") or an HTTP date; retry-after-ms (OpenAI) wins.
inline std::optional<std::chrono::milliseconds> parse_retry_after(const httplib::Headers& headers) {
  using std::chrono::milliseconds;
  if (auto it = headers.find("retry-after-ms"); it != headers.end()) {
    char* end = nullptr;
    double ms = std::strtod(it->second.c_str(), &end);
    if (end != it->second.c_str() && ms >= 0) return milliseconds(static_cast<long long>(std::llround(ms)));
  }
  auto it = headers.find("retry-after");
  if (it == headers.end()) return std::nullopt;
  const std::string& v = it->second;
  char* end = nullptr;
  double s = std::strtod(v.c_str(), &end);
  if (end != v.c_str() && *end == '\0' && s >= 0) return milliseconds(static_cast<long long>(std::llround(s * 1000)));
  std::tm tm{};
  if (::strptime(v.c_str(), "%a, %d %b %Y %H:%M:%S", &tm) != nullptr) {
    auto when = std::chrono::system_clock::from_time_t(::timegm(&tm));
    auto wait = std::chrono::duration_cast<milliseconds>(when - std::chrono::system_clock::now());
    return std::max(wait, milliseconds(0));
  }
  return std::nullopt;
}

// The human part of a provider's error body: error.message, message, or the text.
inline std::string error_text(std::string_view body, std::string* code_out = nullptr) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  std::string msg, code;
  if (!ec) {
    const json::value* err = at_path(v, {"error"});
    if (err != nullptr && err->is_string()) msg = str(err);
    msg = msg.empty() ? str(at_path(v, {"error", "message"})) : msg;
    if (msg.empty()) msg = str(at_path(v, {"message"}));
    if (msg.empty()) msg = str(at_path(v, {"detail"}));
    for (auto key : {"code", "type", "status"}) {
      code = str(at_path(v, {"error", key}));
      if (!code.empty()) break;
    }
  }
  if (msg.empty()) {
    msg = std::string(body.substr(0, 300));
    std::replace(msg.begin(), msg.end(), '\n', ' ');
    if (body.size() > 300) msg += "...";
  }
  if (code_out != nullptr) *code_out = code;
  return msg;
}

inline bool mentions_context_length(std::string_view message, std::string_view code) {
  std::string m = lower(message);
  for (auto needle : {"context length", "context_length", "context window", "maximum context", "prompt is too long",
                      "too many tokens", "maximum number of tokens", "input token count", "reduce the length"})
    if (m.find(needle) != std::string::npos) return true;
  return code == "context_length_exceeded" || code == "string_above_max_length";
}

// Google's error details (google.rpc.*): the ErrorInfo reason ("API_KEY_INVALID")
// and the RetryInfo delay ("43s"), which a 429 carries instead of Retry-After.
struct RpcDetails {
  std::string reason;
  std::optional<std::chrono::milliseconds> retry_delay;
};
inline RpcDetails rpc_details(std::string_view body) {
  RpcDetails out;
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  const json::value* details = ec ? nullptr : at_path(v, {"error", "details"});
  if (details == nullptr || !details->is_array()) return out;
  for (const auto& d : details->get_array()) {
    const std::string type = str(at_path(d, {"@type"}));
    if (type.ends_with("google.rpc.ErrorInfo")) out.reason = str(at_path(d, {"reason"}));
    if (type.ends_with("google.rpc.RetryInfo")) {
      const std::string delay = str(at_path(d, {"retryDelay"}));
      char* end = nullptr;
      const double s = std::strtod(delay.c_str(), &end);
      if (end != delay.c_str() && std::string_view(end) == "s" && s >= 0)
        out.retry_delay = std::chrono::milliseconds(static_cast<long long>(std::llround(s * 1000)));
    }
  }
  return out;
}

// A 429 that waiting cannot cure: no credit left, or one request larger than
// the per-minute limit. The fix, or empty for an ordinary rate limit.
inline std::string hopeless_429_fix(const CallSite& site, std::string_view msg, std::string_view code) {
  const std::string m = lower(msg);
  const std::string& key = site.config->api_key_env;
  // Only the code: Gemini words its per-minute 429 ("exceeded your current quota") like
  // OpenAI's empty-account one, and that one passes with time.
  if (code == "insufficient_quota")
    return "the account behind " + (key.empty() ? std::string("the API key") : key) +
           " has no quota or credit left: add credit or raise the quota in the provider's billing settings, or "
           "use another key";
  if (m.find("request too large") != std::string::npos || m.find("must be reduced") != std::string::npos)
    return "one request is larger than the account's tokens-per-minute limit: lower params.max_tokens in " +
           site.config_file() + ", send a shorter prompt (fewer knowledge files, shorter logs), or raise the "
           "account's rate-limit tier";
  return {};
}

// An HTTP status other than 2xx, as an Error for the user and the retry policy.
inline Error status_error(const CallSite& site, int status, const httplib::Headers& headers, std::string_view body) {
  const ModelConfig& cfg = *site.config;
  std::string code;
  // redacted before error_text cuts it: a key straddling the cut would survive in part
  const std::string clean = redact(std::string(body), site.secret);
  std::string msg = redact(error_text(clean, &code), site.secret);
  const RpcDetails rpc = rpc_details(clean);
  // Gemini answers a bad key with 400 INVALID_ARGUMENT: an authentication error all the same.
  const bool key_invalid =
      status == 400 && (rpc.reason == "API_KEY_INVALID" || lower(msg).find("api key not valid") != std::string::npos);
  std::string st = "(" + std::to_string(status) + (key_invalid ? " API_KEY_INVALID" : "") + ")";
  if (key_invalid) status = 401;
  std::string where = site.provider + " (" + site.origin + ")";
  Error e;
  e.code = ExitCode::failure;
  e.kind = "http_" + std::to_string(status);
  const std::string& key = cfg.api_key_env;
  if (status == 401) {
    e.kind = "auth";
    e.code = ExitCode::usage;
    e.what = key.empty() ? where + " rejected the request as unauthorised " + st + ": " + msg
                         : key + " was rejected " + st + " by " + where + ": " + msg;
    e.fix = key.empty() ? "this server wants an API key: set \"api_key_env\" in " + site.config_file()
                        : "check that " + key + " holds a valid " + site.provider +
                              " API key (export " + key + "=... or put it in config/secrets/default.json)";
  } else if (status == 403) {
    e.kind = "forbidden";
    e.code = ExitCode::usage;
    e.what = (key.empty() ? std::string("the request") : key) + " may not use model " + cfg.name + " at " + where +
             " " + st + ": " + msg;
    e.fix = "check that the key's account or project has access to " + cfg.name + ", or pick another model";
  } else if (status == 404) {
    e.kind = "not_found";
    e.code = ExitCode::usage;
    e.what = where + " has no model or endpoint \"" + cfg.name + "\" " + st + ": " + msg;
    e.fix = "check \"name\" (the provider's exact model id) and \"base_url\" in " + site.config_file();
  } else if ((status == 400 || status == 413 || status == 422) && mentions_context_length(msg, code)) {
    e.kind = "context_length";
    e.what = "the prompt is longer than " + cfg.name + "'s context window (context length exceeded) " + st + ": " + msg;
    e.fix = "shorten the prompt (fewer knowledge files, shorter logs in prompts) or choose a model with a longer context";
  } else if (status == 429 && !hopeless_429_fix(site, msg, code).empty()) {
    e.kind = code == "insufficient_quota" ? "quota" : "request_too_large";
    e.what = where + " answered 429 for " + cfg.name + ", and trying again cannot help: " + msg;
    e.fix = hopeless_429_fix(site, msg, code);
  } else if (status == 408 || status == 409 || status == 429 || status >= 500) {
    e.retryable = true;
    e.retry_after = parse_retry_after(headers);
    if (!e.retry_after) e.retry_after = rpc.retry_delay;
    if (status == 429) e.kind = "rate_limit";
    e.what = where + " answered " + std::to_string(status) + " for " + cfg.name + ": " + msg;
    e.fix = status == 429 ? "wait and run again, use fewer parallel agents, or check the account's rate limit and credit"
                          : "the provider is unavailable or overloaded; run again later";
  } else {
    e.kind = status == 400 ? "bad_request" : e.kind;
    e.what = where + " rejected the request for " + cfg.name + " " + st + ": " + msg;
    e.fix = "check \"params\" and \"name\" in " + site.config_file();
  }
  return e;
}

inline Error transient(std::string what, std::string fix, std::string kind) {
  Error e{std::move(what), std::move(fix), ExitCode::failure};
  e.retryable = true;
  e.kind = std::move(kind);
  return e;
}

inline std::pair<time_t, time_t> sec_usec(double s) {
  auto us = static_cast<long long>(std::llround(s * 1e6));
  return {static_cast<time_t>(us / 1000000), static_cast<time_t>(us % 1000000)};
}

// Sends one POST. A 2xx body goes to on_body chunk by chunk (return false to stop:
// the caller then reports its own reason); any other status becomes status_error.
inline Result<void> post(const CallSite& site, const std::string& path, httplib::Headers headers,
                         std::string body, const std::function<bool(std::string_view)>& on_body) {
  using clock = std::chrono::steady_clock;
  const ModelConfig& cfg = *site.config;
  httplib::Client cli(site.origin);
  if (!cli.is_valid())
    return fail("cannot use base_url " + cfg.base_url + " of " + site.provider,
                "check \"base_url\" in " + site.config_file() + " (https needs a build with OpenSSL)");
  auto [cs, cus] = sec_usec(cfg.timeouts.connect_s);
  auto [rs, rus] = sec_usec(cfg.timeouts.read_s);
  cli.set_connection_timeout(cs, cus);
  cli.set_read_timeout(rs, rus);
  cli.set_write_timeout(rs, rus);
  cli.set_keep_alive(false);
  cli.set_follow_location(false);
  if (!cfg.ca_cert_path.empty()) cli.set_ca_cert_path(cfg.ca_cert_path.c_str());

  httplib::Request req;
  req.method = "POST";
  req.path = site.prefix + path;
  req.headers = std::move(headers);
  req.set_header("Content-Type", "application/json");
  req.set_header("Accept", "application/json, text/event-stream");
  req.body = std::move(body);

  const auto start = clock::now();
  const auto deadline = start + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(cfg.timeouts.total_s));
  auto last_byte = start;
  int status = 0;
  httplib::Headers reply_headers;
  std::string error_body;
  std::size_t bytes = 0;
  bool caller_stopped = false, deadline_hit = false;
  req.response_handler = [&](const httplib::Response& res) {
    status = res.status;
    reply_headers = res.headers;
    last_byte = clock::now();
    return true;
  };
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    last_byte = clock::now();
    if (last_byte > deadline) {
      deadline_hit = true;
      return false;
    }
    bytes += n;
    if (status / 100 == 2) {
      if (!on_body(std::string_view(data, n))) {
        caller_stopped = true;
        return false;
      }
    } else if (error_body.size() < (1u << 20)) {
      error_body.append(data, n);
    }
    return true;
  };
  auto res = cli.send(req);
  const double waited = std::chrono::duration<double>(clock::now() - last_byte).count();
  std::string url = site.origin + site.prefix + path.substr(0, path.find('?'));
  std::string who = site.provider + " " + url + " (model " + cfg.name + ")";
  if (caller_stopped) return fail("stopped", {}, ExitCode::failure);  // the caller holds the reason
  if (deadline_hit || (!res && clock::now() > deadline))
    return std::unexpected(transient("no complete answer from " + who + " within timeouts.total_s = " +
                                         number(cfg.timeouts.total_s) + " s",
                                     "raise timeouts.total_s in " + site.config_file() + " for long answers",
                                     "timeout"));
  if (!res) {
    switch (res.error()) {
      case httplib::Error::Connection:
        return std::unexpected(transient("cannot connect to " + who, "check that the server runs and base_url is right", "connect"));
      case httplib::Error::ConnectionTimeout:
        return std::unexpected(transient("connecting to " + who + " took longer than timeouts.connect_s = " +
                                             number(cfg.timeouts.connect_s) + " s",
                                         "check the network, or raise timeouts.connect_s", "timeout"));
      case httplib::Error::Read:
        if (bytes > 0 && waited < cfg.timeouts.read_s * 0.9)
          return std::unexpected(transient("the connection to " + who + " dropped mid-answer after " +
                                               std::to_string(bytes) + " bytes",
                                           "a network or server hiccup; it is retried", "reset"));
        if (status == 0 && waited < cfg.timeouts.read_s * 0.9)
          return std::unexpected(transient("the connection to " + who + " closed before an answer",
                                           "a network or server hiccup; it is retried", "reset"));
        return std::unexpected(transient(who + " sent nothing for timeouts.read_s = " + number(cfg.timeouts.read_s) +
                                             " s (read timeout)",
                                         "raise timeouts.read_s in " + site.config_file() + " for slow models",
                                         "timeout"));
      case httplib::Error::SSLServerVerification:
        return fail("the TLS certificate of " + site.origin + " is not trusted (" + site.provider + ")",
                    "for a self-signed endpoint set \"ca_cert_path\" in " + site.config_file(), ExitCode::usage);
      case httplib::Error::SSLLoadingCerts:
        return fail("cannot load CA certificates" + (cfg.ca_cert_path.empty() ? std::string() : " from " + cfg.ca_cert_path),
                    "check \"ca_cert_path\" in " + site.config_file() + " or the system CA bundle", ExitCode::usage);
      default:
        return std::unexpected(transient("the request to " + who + " failed: " + httplib::to_string(res.error()),
                                         "a network or server hiccup; it is retried", "network"));
    }
  }
  if (status / 100 != 2) return std::unexpected(status_error(site, status, reply_headers, error_body));
  return {};
}

}  // namespace speedrunner::llm::detail
