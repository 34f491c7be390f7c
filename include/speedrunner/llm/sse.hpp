// Incremental parser for server-sent events (the text/event-stream format every
// provider streams in): bytes arrive in arbitrary chunks, events come out whole.
#pragma once

#include <string>
#include <string_view>

namespace speedrunner::llm {

struct SseEvent {
  std::string event;  // the "event:" field; empty means the default "message"
  std::string data;   // "data:" lines joined with '\n'
  std::string id;
};

// Follows the WHATWG rules: lines end in LF, CRLF or CR (also when a CR and its LF
// land in different chunks); a blank line ends an event; ':' starts a comment;
// "field: value" drops one space after the colon; an event with no data is not
// dispatched; an unterminated event at the end of the stream is discarded.
class SseParser {
 public:
  // Feeds one chunk; calls on_event(const SseEvent&) -> bool for each complete event.
  // Returns false as soon as on_event does (the caller wants to stop).
  template <class OnEvent>
  bool feed(std::string_view chunk, OnEvent&& on_event) {
    for (char c : chunk) {
      if (after_cr_ && c == '\n') {  // second half of a CRLF split or not
        after_cr_ = false;
        continue;
      }
      after_cr_ = false;
      if (c == '\r' || c == '\n') {
        after_cr_ = c == '\r';
        if (!end_line(on_event)) return false;
      } else {
        line_.push_back(c);
      }
    }
    return true;
  }

  // Bytes of an event not yet terminated by a blank line (for "stream ended early" checks).
  [[nodiscard]] bool mid_event() const { return !line_.empty() || has_data_ || !current_.event.empty(); }

 private:
  template <class OnEvent>
  bool end_line(OnEvent& on_event) {
    if (line_.empty()) {
      bool keep_going = true;
      if (has_data_) {
        if (!current_.data.empty() && current_.data.back() == '\n') current_.data.pop_back();
        keep_going = static_cast<bool>(on_event(static_cast<const SseEvent&>(current_)));
      }
      current_ = {};
      has_data_ = false;
      return keep_going;
    }
    std::string_view line = line_;
    if (line.front() != ':') {
      auto colon = line.find(':');
      std::string_view field = line.substr(0, colon);
      std::string_view value = colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 1);
      if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      if (field == "data") {
        current_.data.append(value);
        current_.data.push_back('\n');
        has_data_ = true;
      } else if (field == "event") {
        current_.event.assign(value);
      } else if (field == "id") {
        current_.id.assign(value);
      }  // "retry" and unknown fields are ignored, as the format says
    }
    line_.clear();
    return true;
  }

  std::string line_;
  SseEvent current_;
  bool has_data_ = false;
  bool after_cr_ = false;
};

}  // namespace speedrunner::llm
