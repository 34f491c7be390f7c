// The Logged<M> decorator: one JSON line per model call (and per retry) in a
// per-agent file, llm_<agent>.jsonl, in the version directory the call works on:
// prompt, answer or error, usage, cost, latency, attempt. Keys never appear:
// requests carry none, and provider errors are redacted before they get here.
#pragma once

#include <speedrunner/llm/model.hpp>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cctype>
#include <cstdio>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <unistd.h>

namespace speedrunner::llm {

[[nodiscard]] constexpr std::string_view to_string(FinishReason f) {
  switch (f) {
    case FinishReason::stop: return "stop";
    case FinishReason::length: return "length";
    case FinishReason::content_filter: return "content_filter";
    case FinishReason::other: return "other";
  }
  return "other";
}

namespace detail {

inline boost::json::object params_json(const Params& p) {
  boost::json::object o;
  if (p.temperature) o["temperature"] = *p.temperature;
  if (p.max_tokens) o["max_tokens"] = *p.max_tokens;
  if (p.reasoning_effort) o["reasoning_effort"] = *p.reasoning_effort;
  if (p.seed) o["seed"] = *p.seed;
  return o;
}

inline boost::json::array messages_json(const std::vector<Message>& messages) {
  boost::json::array a;
  for (const auto& m : messages) a.push_back(boost::json::object{{"role", to_string(m.role)}, {"content", m.content}});
  return a;
}

inline boost::json::object usage_json(const Usage& u) {
  boost::json::object o{{"input_tokens", u.input_tokens}, {"output_tokens", u.output_tokens},
                        {"cached_tokens", u.cached_tokens}};
  if (u.cache_write_tokens != 0) o["cache_write_tokens"] = u.cache_write_tokens;
  if (u.cache_write_1h_tokens != 0) o["cache_write_1h_tokens"] = u.cache_write_1h_tokens;
  return o;
}

inline std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Appends one line with a single write(2) on an O_APPEND descriptor, so lines
// from parallel agents never interleave.
inline bool append_line(const std::filesystem::path& file, const std::string& line) {
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  std::string text = line + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  return ::close(fd) == 0 && ok;
}

}  // namespace detail

template <class M>
class Logged {
  static_assert(LanguageModel<M>, "Logged<M>: M must be a LanguageModel (complete(const Request&) -> Result<Response>)");

 public:
  // default_dir: where lines go when a request names no log_dir; empty: nowhere.
  // role: the run's role this model serves alone ("coder" for coder.model), written
  // in each line so a resumed replay model knows which answers it already gave;
  // empty for the run's `model`.
  Logged(M model, std::filesystem::path default_dir, std::string model_name, std::string role = {})
      : model_(std::move(model)), default_dir_(std::move(default_dir)), name_(std::move(model_name)),
        role_(std::move(role)) {}

  // llm_<agent>.jsonl, or llm.jsonl for a request without an agent.
  [[nodiscard]] static std::string file_name(std::string_view agent) {
    std::string safe;
    for (char c : agent) safe.push_back(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' ? c : '_');
    return safe.empty() ? "llm.jsonl" : "llm_" + safe + ".jsonl";
  }

  Result<Response> complete(const Request& request) {
    const auto start = std::chrono::steady_clock::now();
    auto out = model_.complete(request);
    const std::filesystem::path& dir = request.log_dir.empty() ? default_dir_ : request.log_dir;
    if (dir.empty()) return out;
    boost::json::object line{{"time", detail::utc_now()},
                             {"agent", request.agent},
                             {"model", name_},
                             {"attempt", request.attempt},
                             {"system", request.system},
                             {"messages", detail::messages_json(request.messages)},
                             {"params", detail::params_json(request.params)}};
    if (!role_.empty()) line["role"] = role_;
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    if (out) {
      line["answer"] = out->text;
      line["finish"] = to_string(out->finish);
      line["served_by"] = out->model;
      line["usage"] = detail::usage_json(out->usage);
      line["cost_usd"] = out->cost_usd;
      line["latency_ms"] = out->latency.count() > 0 ? out->latency.count() : elapsed.count();
    } else {
      line["error"] = out.error().message();
      line["error_kind"] = out.error().kind;
      line["latency_ms"] = elapsed.count();
    }
    auto file = dir / file_name(request.agent);
    if (!detail::append_line(file, boost::json::serialize(line))) {
      static std::once_flag warned;
      std::call_once(warned, [&] { std::cerr << "warning: cannot append the model log " << file.string() << "\n"; });
    }
    return out;
  }

 private:
  M model_;
  std::filesystem::path default_dir_;
  std::string name_;
  std::string role_;
};

}  // namespace speedrunner::llm
