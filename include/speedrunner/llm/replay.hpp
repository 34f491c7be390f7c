// The replay model: answers from a transcript file instead of a provider, so the
// offline demo and tests run without a network and give the same tree every time.
//
// Transcript format (JSON Lines, UTF-8): one answer per line, in the order the
// run asks for them; blank lines are skipped. Fields of a line:
//   "answer"  (string, required)  the text the model answers
//   "agent"   (string, optional)  which agent it is for: "ideator", "coder", ...;
//                                 matched against Request::agent
//   "expect"  (string, optional)  a substring the request's last user message
//                                 must contain; a mismatch is an error that points
//                                 at the line (the run's prompts drifted)
//   "usage"   (object, optional)  {"input_tokens", "output_tokens", "cached_tokens"}
//   "finish"  (string, optional)  "stop" (default) | "length" | "content_filter"
// Lines that name an agent form that agent's queue; lines without one form a
// shared queue. A request takes the next line of its agent's queue, or, when that
// queue is empty or absent, the next shared line. So a single-agent transcript
// needs no "agent" fields, and a run whose agents interleave in a
// nondeterministic order (parallel slots) still replays deterministically.
// Example:
//   {"agent": "ideator", "answer": "{\"summary\": \"memoise\", \"hypothesis\": \"...\"}"}
//   {"agent": "coder", "answer": "collatz.cpp\n```cpp\n<<<<<<< SEARCH\n...", "expect": "memoise"}
#pragma once

#include <speedrunner/llm/detail/json_read.hpp>
#include <speedrunner/llm/model.hpp>

#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>

namespace speedrunner::llm {

struct TranscriptEntry {
  std::string answer;
  std::string agent;   // empty: shared
  std::string expect;  // empty: no check
  Usage usage;
  FinishReason finish = FinishReason::stop;
  int line = 0;        // 1-based line in the transcript, for errors
};

namespace detail {

inline Result<FinishReason> parse_finish(std::string_view s, std::string_view path) {
  if (s == "stop") return FinishReason::stop;
  if (s == "length") return FinishReason::length;
  if (s == "content_filter") return FinishReason::content_filter;
  if (s == "other") return FinishReason::other;
  return fail(std::string(path) + ": unknown finish reason \"" + std::string(s) + "\"",
              "use stop, length, content_filter or other");
}

inline Result<TranscriptEntry> parse_transcript_line(std::string_view text, std::string_view where) {
  auto v = parse_json(text, where);
  if (!v) return std::unexpected(v.error());
  if (!v->is_object()) return type_error(where, "a JSON object per line", *v);
  const auto& o = v->get_object();
  if (auto r = only_known_keys(o, where, {"answer", "agent", "expect", "usage", "finish"}); !r)
    return std::unexpected(r.error());
  if (!o.contains("answer"))
    return fail(std::string(where) + ": the line has no \"answer\"",
                "each line needs {\"answer\": \"...\"}, optionally with \"agent\"");
  TranscriptEntry e;
  Result<void> r = read_field(o, where, "answer", e.answer);
  if (r) r = read_field(o, where, "agent", e.agent);
  if (r) r = read_field(o, where, "expect", e.expect);
  if (!r) return std::unexpected(r.error());
  if (const auto* u = o.if_contains("usage")) {
    std::string up = join_path(where, "usage");
    if (!u->is_object()) return type_error(up, "an object", *u);
    const auto& uo = u->get_object();
    if (r = only_known_keys(uo, up, {"input_tokens", "output_tokens", "cached_tokens"}); !r)
      return std::unexpected(r.error());
    if (r = read_field(uo, up, "input_tokens", e.usage.input_tokens); r)
      if (r = read_field(uo, up, "output_tokens", e.usage.output_tokens); r)
        r = read_field(uo, up, "cached_tokens", e.usage.cached_tokens);
    if (!r) return std::unexpected(r.error());
  }
  if (o.contains("finish")) {
    std::string f;
    if (r = read_field(o, where, "finish", f); !r) return std::unexpected(r.error());
    auto fr = parse_finish(f, join_path(where, "finish"));
    if (!fr) return std::unexpected(fr.error());
    e.finish = *fr;
  }
  return e;
}

}  // namespace detail

// Plays a transcript back. Copies share one cursor, so a decorator may hold a
// copy; calls are safe from several threads.
class ReplayModel {
 public:
  // Reads a transcript from text; `source` names it in errors (a path, usually).
  // An empty transcript is an error unless `may_be_empty` (a resumed run that
  // used every answer: a further question gets "no answer left").
  static Result<ReplayModel> from_text(std::string_view jsonl, std::string source, bool may_be_empty = false) {
    auto state = std::make_shared<State>();
    state->source = std::move(source);
    std::size_t start = 0;
    int line_no = 0;
    while (start <= jsonl.size()) {
      std::size_t end = jsonl.find('\n', start);
      if (end == std::string_view::npos) end = jsonl.size();
      std::string_view line = jsonl.substr(start, end - start);
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.find_first_not_of(" \t") != std::string_view::npos) {
        auto e = detail::parse_transcript_line(line, state->source + ":" + std::to_string(line_no));
        if (!e) return std::unexpected(std::move(e.error()));
        e->line = line_no;
        (e->agent.empty() ? state->shared : state->by_agent[e->agent]).push_back(std::move(*e));
      }
      if (end == jsonl.size()) break;
      start = end + 1;
    }
    if (!may_be_empty && state->shared.empty() && state->by_agent.empty())
      return fail("replay transcript " + state->source + " holds no answers",
                  "write one JSON object per line: {\"agent\": \"coder\", \"answer\": \"...\"}");
    return ReplayModel(std::move(state));
  }

  static Result<ReplayModel> load(const std::filesystem::path& transcript, bool may_be_empty = false) {
    std::ifstream in(transcript, std::ios::binary);
    if (!in)
      return fail("replay transcript " + transcript.string() + " cannot be read",
                  "check the model config's \"transcript\" path (relative paths start at the working directory)");
    std::stringstream ss;
    ss << in.rdbuf();
    return from_text(ss.str(), transcript.string(), may_be_empty);
  }

  Result<Response> complete(const Request& request) {
    std::lock_guard lock(state_->mutex);
    std::deque<TranscriptEntry>* queue = nullptr;
    if (auto it = state_->by_agent.find(request.agent); it != state_->by_agent.end() && !it->second.empty())
      queue = &it->second;
    else if (!state_->shared.empty())
      queue = &state_->shared;
    std::string who = request.agent.empty() ? std::string("the model") : "agent '" + request.agent + "'";
    if (queue == nullptr)
      return fail("replay transcript " + state_->source + " has no answer left for " + who + " (" +
                      std::to_string(state_->served) + " answers already played)",
                  "add answers to the transcript, or ask fewer questions (lower n_iterations)",
                  ExitCode::failure);
    const TranscriptEntry& e = queue->front();
    if (!e.expect.empty()) {
      std::string_view last;
      for (const auto& m : request.messages)
        if (m.role == Role::user) last = m.content;
      if (last.find(e.expect) == std::string_view::npos)
        return fail("replay transcript " + state_->source + ":" + std::to_string(e.line) +
                        " expects the prompt of " + who + " to contain \"" + e.expect + "\", and it does not",
                    "the run's prompts changed since the transcript was written: update that line",
                    ExitCode::failure);
    }
    Response r;
    r.text = e.answer;
    r.usage = e.usage;
    r.finish = e.finish;
    r.model = "replay";
    queue->pop_front();
    ++state_->served;
    return r;
  }

  // Answers not yet played for `agent` (its own queue plus the shared one).
  [[nodiscard]] std::size_t remaining(std::string_view agent = {}) const {
    std::lock_guard lock(state_->mutex);
    std::size_t n = state_->shared.size();
    if (auto it = state_->by_agent.find(std::string(agent)); it != state_->by_agent.end()) n += it->second.size();
    return n;
  }

 private:
  struct State {
    mutable std::mutex mutex;
    std::string source;
    std::map<std::string, std::deque<TranscriptEntry>> by_agent;
    std::deque<TranscriptEntry> shared;
    std::size_t served = 0;
  };
  explicit ReplayModel(std::shared_ptr<State> s) : state_(std::move(s)) {}
  std::shared_ptr<State> state_;
};

static_assert(LanguageModel<ReplayModel>);

}  // namespace speedrunner::llm
