// Secrets: API keys come from config/secrets/<option>.json (git-ignored) or,
// through its committed template, from environment variables. Anything under
// `secrets`, or under a key named like an API key, token, password or secret,
// is printed as "***" in `speedrun --cfg` and in the run's saved config.json.
#pragma once

#include <speedrunner/config/json.hpp>

#include <cctype>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace speedrunner::config {

inline constexpr std::string_view redacted_text = "***";

// Whether a key names a secret value. Words are split at '_', '-' and case
// changes: "api_key", "openaiApiKey", "hf_token", "client_secret", "password"
// are secrets; "max_tokens" (a count) and "api_key_env" (names a variable,
// holds no key) are not.
[[nodiscard]] inline bool is_secret_key(std::string_view key) {
  std::vector<std::string> words;
  std::string cur;
  for (std::size_t i = 0; i < key.size(); ++i) {
    char c = key[i];
    bool upper = std::isupper(static_cast<unsigned char>(c)) != 0;
    bool after_lower = i > 0 && std::islower(static_cast<unsigned char>(key[i - 1])) != 0;
    if (c == '_' || c == '-' || c == '.' || (upper && after_lower)) {
      if (!cur.empty()) words.push_back(cur);
      cur.clear();
      if (!upper) continue;
    }
    cur += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (!cur.empty()) words.push_back(cur);
  if (words.empty()) return false;
  const std::string& last = words.back();
  if (last == "env" || last == "var" || last == "file" || last == "path") return false;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w == "secret" || w == "secrets" || w == "password" || w == "passwd" || w == "token" ||
        w == "apikey" || w == "credential" || w == "credentials")
      return true;
    if (w == "api" && i + 1 < words.size() && words[i + 1] == "key") return true;
  }
  return false;
}

namespace detail {
inline void redact_in(json::value& v, bool secret) {
  if (auto* o = v.if_object()) {
    for (auto& kv : *o) redact_in(kv.value(), secret || is_secret_key(kv.key()));
  } else if (auto* a = v.if_array()) {
    for (auto& e : *a) redact_in(e, secret);
  } else if (secret && !v.is_null()) {
    // empty strings stay visible: "" tells the reader the key is unset
    if (!(v.is_string() && v.as_string().empty())) v = json::string(redacted_text);
  }
}
}  // namespace detail

// A copy with every secret value replaced by "***": everything under the
// top-level `secrets` and every value under a secret-named key (is_secret_key).
[[nodiscard]] inline json::object redacted(const json::object& config) {
  json::value copy(config);
  for (auto& kv : copy.as_object()) {
    if (kv.key() == "choices") continue;  // names of group options ("secrets": "default"), never keys
    detail::redact_in(kv.value(), kv.key() == "secrets" || is_secret_key(kv.key()));
  }
  return std::move(copy.as_object());
}

// The key for a provider whose model config says "api_key_env": NAME:
// secrets.<name in lower case> when set and not empty, else the environment
// variable NAME, else nothing. (secrets/default.template.json fills each
// secrets key from its variable, so both routes agree.)
[[nodiscard]] inline std::optional<std::string> api_key(const json::object& config, std::string_view env_name) {
  std::string lower;
  for (char c : env_name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (auto s = config.find("secrets"); s != config.end() && s->value().is_object()) {
    const auto& secrets = s->value().as_object();
    if (auto k = secrets.find(lower); k != secrets.end() && k->value().is_string() &&
                                      !k->value().as_string().empty() && k->value().as_string() != redacted_text)
      return std::string(k->value().as_string());
  }
  if (const char* p = std::getenv(std::string(env_name).c_str()); p != nullptr && *p != '\0') return std::string(p);
  return std::nullopt;
}

}  // namespace speedrunner::config
