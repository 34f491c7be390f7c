// Tests for include/speedrunner/config/secrets.hpp: which keys are secret,
// redaction, and where a provider's key comes from.
#include <speedrunner/config/secrets.hpp>

#include "catch.hpp"

#include <cstdlib>

namespace cfg = speedrunner::config;
using cfg::json::value;

TEST_CASE("secret keys are told apart from counts and variable names", "[config][secrets]") {
  for (const char* k : {"api_key", "openai_api_key", "OPENAI_API_KEY", "openaiApiKey", "apikey", "hf_token",
                        "token", "client_secret", "password", "aws_secret_access_key", "credentials"}) {
    INFO(k);
    CHECK(cfg::is_secret_key(k));
  }
  for (const char* k : {"api_key_env", "max_tokens", "val_tokens", "n_tokens", "name", "key", "base_url",
                        "secret_file", "token_budget_path", "provider"}) {
    INFO(k);
    CHECK_FALSE(cfg::is_secret_key(k));
  }
}

TEST_CASE("redaction hides everything under secrets and under secret-named keys", "[config][secrets]") {
  auto c = cfg::parse_relaxed(R"({
    "secrets": {"openai_api_key": "sk-live-1", "nested": {"x": "y"}, "empty": "", "list": ["a"]},
    "model": {"api_key": "sk-live-2", "api_key_env": "OPENAI_API_KEY", "max_tokens": 100,
              "headers": {"auth_token": "t0k"}},
    "choices": {"secrets": "default"}
  })", "t").value().as_object();
  auto r = cfg::redacted(c);
  CHECK(r.at("secrets").at("openai_api_key") == value("***"));
  CHECK(r.at("secrets").at("nested").at("x") == value("***"));
  CHECK(r.at("secrets").at("empty") == value(""));  // unset stays visible
  CHECK(r.at("secrets").at("list").as_array()[0] == value("***"));
  CHECK(r.at("model").at("api_key") == value("***"));
  CHECK(r.at("model").at("headers").at("auth_token") == value("***"));
  CHECK(r.at("model").at("api_key_env") == value("OPENAI_API_KEY"));
  CHECK(r.at("model").at("max_tokens") == value(100));
  CHECK(r.at("choices").at("secrets") == value("default"));
  std::string text = cfg::to_pretty(value(r));
  for (const char* s : {"sk-live-1", "sk-live-2", "t0k"}) CHECK(text.find(s) == std::string::npos);
  // the original is untouched
  CHECK(c.at("secrets").at("openai_api_key") == value("sk-live-1"));
}

TEST_CASE("a provider's key comes from secrets, else from its environment variable", "[config][secrets]") {
  auto c = cfg::parse_relaxed(R"({"secrets": {"openai_api_key": "from-secrets", "anthropic_api_key": ""}})", "t")
               .value()
               .as_object();
  CHECK(cfg::api_key(c, "OPENAI_API_KEY") == "from-secrets");
  ::setenv("SR_TEST_ANTHROPIC_API_KEY", "from-env", 1);
  CHECK(cfg::api_key(c, "SR_TEST_ANTHROPIC_API_KEY") == "from-env");
  ::unsetenv("SR_TEST_ANTHROPIC_API_KEY");
  CHECK_FALSE(cfg::api_key(c, "SR_TEST_ANTHROPIC_API_KEY").has_value());
  CHECK_FALSE(cfg::api_key(c, "ANTHROPIC_API_KEY_NOT_SET_ANYWHERE").has_value());
}
