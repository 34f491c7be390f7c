// The Cached<M> decorator: record/replay of answers keyed by a hash of the model
// name, the prompt and the parameters (llm.cache=record|replay|off), so a re-run
// or a resumed search pays nothing for questions it already asked.
#pragma once

#include <speedrunner/llm/detail/json_read.hpp>
#include <speedrunner/llm/logged.hpp>
#include <speedrunner/llm/model.hpp>
#include <speedrunner/llm/replay.hpp>

#include <openssl/evp.h>

#include <atomic>
#include <iostream>
#include <mutex>
#include <fstream>
#include <sstream>
#include <thread>

namespace speedrunner::llm {

// off: always ask the model. record: answer from the cache when it holds the
// question, else ask and store. replay: only the cache; a miss is an error.
enum class CacheMode { off, record, replay };

[[nodiscard]] inline Result<CacheMode> parse_cache_mode(std::string_view s) {
  if (s == "off") return CacheMode::off;
  if (s == "record") return CacheMode::record;
  if (s == "replay") return CacheMode::replay;
  return fail("llm.cache: unknown value \"" + std::string(s) + "\"", "use one of: record, replay, off");
}

namespace detail {
inline std::string sha256_hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(text.data(), text.size(), digest, &n, EVP_sha256(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out.push_back(hex[digest[i] >> 4]);
    out.push_back(hex[digest[i] & 15]);
  }
  return out;
}
}  // namespace detail

// What the key covers: the model, the system prompt, every message and the
// parameters; not the agent, the attempt or the log directory.
[[nodiscard]] inline std::string cache_key(std::string_view model, const Request& request) {
  boost::json::object o{{"model", model},
                        {"system", request.system},
                        {"messages", detail::messages_json(request.messages)},
                        {"params", detail::params_json(request.params)}};
  return detail::sha256_hex(boost::json::serialize(o));
}

template <class M>
class Cached {
  static_assert(LanguageModel<M>, "Cached<M>: M must be a LanguageModel (complete(const Request&) -> Result<Response>)");

 public:
  Cached(M model, CacheMode mode, std::filesystem::path dir, std::string model_name)
      : model_(std::move(model)), mode_(mode), dir_(std::move(dir)), name_(std::move(model_name)) {}

  [[nodiscard]] std::filesystem::path entry_path(const std::string& key) const { return dir_ / (key + ".json"); }

  Result<Response> complete(const Request& request) {
    if (mode_ == CacheMode::off) return model_.complete(request);
    const std::string key = cache_key(name_, request);
    const auto file = entry_path(key);
    if (std::filesystem::exists(file)) return load(file);
    if (mode_ == CacheMode::replay)
      // not this node's fault: the run stops (resumable, e.g. with llm.cache=record) instead of
      // marking nodes buggy for a missing recording
      return fail("llm cache: no recorded answer for key " + key + " (model " + name_ + ") in " + dir_.string(),
                  "resume with llm.cache=record to go on paying from here, or use llm.cache=off; a changed "
                  "prompt, model or parameter gives a new key",
                  ExitCode::usage);
    auto out = model_.complete(request);
    if (out) {
      // The answer is paid for: hand it on even when the cache cannot keep it.
      if (auto stored = store(file, key, request, *out); !stored) {
        static std::once_flag warned;
        std::call_once(warned, [&] { std::cerr << "warning: " << stored.error().message() << "\n"; });
      }
    }
    return out;
  }

 private:
  Result<Response> load(const std::filesystem::path& file) const {
    std::ifstream in(file, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string fix = "delete " + file.string() + " (it will be asked again in record mode)";
    auto v = detail::parse_json(ss.str(), "llm cache entry " + file.string());
    if (!v) return fail(v.error().what, fix, ExitCode::failure);
    const auto* r = detail::at_path(*v, {"response"});
    const auto* text = r != nullptr ? detail::at_path(*r, {"text"}) : nullptr;
    if (text == nullptr || !text->is_string())
      return fail("llm cache entry " + file.string() + " has no response.text", fix, ExitCode::failure);
    Response out;
    out.text = detail::str(text);
    out.model = detail::str(detail::at_path(*r, {"model"}));
    if (auto f = detail::parse_finish(detail::str(detail::at_path(*r, {"finish"})), "finish"); f) out.finish = *f;
    out.usage.input_tokens = detail::int_or(detail::at_path(*r, {"usage", "input_tokens"}));
    out.usage.output_tokens = detail::int_or(detail::at_path(*r, {"usage", "output_tokens"}));
    out.usage.cached_tokens = detail::int_or(detail::at_path(*r, {"usage", "cached_tokens"}));
    out.usage.cache_write_tokens = detail::int_or(detail::at_path(*r, {"usage", "cache_write_tokens"}));
    out.usage.cache_write_1h_tokens = detail::int_or(detail::at_path(*r, {"usage", "cache_write_1h_tokens"}));
    out.cached = true;  // nothing paid now: cost_usd stays 0, latency 0
    return out;
  }

  // Written to a temporary name, then renamed: a kill never leaves half an entry.
  Result<void> store(const std::filesystem::path& file, const std::string& key, const Request& request,
                     const Response& r) const {
    boost::json::object o{
        {"key", key},
        {"model", name_},
        {"request",
         {{"system", request.system},
          {"messages", detail::messages_json(request.messages)},
          {"params", detail::params_json(request.params)}}},
        {"response",
         {{"text", r.text},
          {"model", r.model},
          {"finish", to_string(r.finish)},
          {"usage", detail::usage_json(r.usage)},
          {"cost_usd", r.cost_usd},
          {"latency_ms", r.latency.count()}}}};
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    static std::atomic<unsigned> counter{0};
    auto tmp = file;
    tmp += ".tmp" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out << boost::json::serialize(o);
      if (!out.flush())
        return fail("cannot write llm cache entry " + tmp.string(), "check that " + dir_.string() + " is writable",
                    ExitCode::failure);
    }
    std::filesystem::rename(tmp, file, ec);
    if (ec)
      return fail("cannot write llm cache entry " + file.string() + ": " + ec.message(),
                  "check that " + dir_.string() + " is writable", ExitCode::failure);
    return {};
  }

  M model_;
  CacheMode mode_;
  std::filesystem::path dir_;
  std::string name_;
};

}  // namespace speedrunner::llm
