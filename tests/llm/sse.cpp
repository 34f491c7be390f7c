// Tests for include/speedrunner/llm/sse.hpp: events whole whatever the chunking.
#include <speedrunner/llm/sse.hpp>

#include <vector>

#include "catch.hpp"

using speedrunner::llm::SseEvent;
using speedrunner::llm::SseParser;

namespace {
std::vector<SseEvent> parse_in_pieces(const std::string& stream, std::size_t piece) {
  SseParser p;
  std::vector<SseEvent> out;
  for (std::size_t i = 0; i < stream.size(); i += piece)
    p.feed(std::string_view(stream).substr(i, piece), [&](const SseEvent& e) {
      out.push_back(e);
      return true;
    });
  return out;
}
}  // namespace

TEST_CASE("SSE events come out whole for every chunk size and line ending", "[llm][sse]") {
  const std::string stream =
      ": comment to keep the connection open\n\n"
      "event: content_block_delta\r\ndata: {\"a\":1}\r\n\r\n"
      "data:no-space\rdata:  two spaces\r\r"
      "id: 7\ndata: line one\ndata: line two\nretry: 100\nunknown: x\n\n"
      "data: [DONE]\n\n"
      "data: unterminated";
  for (std::size_t piece : {1u, 2u, 3u, 7u, 64u, 4096u}) {
    auto events = parse_in_pieces(stream, piece);
    INFO("piece size " << piece);
    REQUIRE(events.size() == 4);
    CHECK(events[0].event == "content_block_delta");
    CHECK(events[0].data == "{\"a\":1}");
    CHECK(events[1].event.empty());
    CHECK(events[1].data == "no-space\n two spaces");
    CHECK(events[2].id == "7");
    CHECK(events[2].data == "line one\nline two");
    CHECK(events[3].data == "[DONE]");
  }
}

TEST_CASE("an SSE consumer can stop the parser; a pending event is visible", "[llm][sse]") {
  SseParser p;
  int seen = 0;
  CHECK_FALSE(p.feed("data: 1\n\ndata: 2\n\n", [&](const SseEvent&) { return ++seen < 1; }));
  CHECK(seen == 1);
  SseParser q;
  CHECK(q.feed("data: partial", [](const SseEvent&) { return true; }));
  CHECK(q.mid_event());
  CHECK(q.feed("\n\n", [](const SseEvent&) { return true; }));
  CHECK_FALSE(q.mid_event());
}
