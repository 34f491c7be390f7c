// Removes the reasoning that raw-served reasoning models (DeepSeek-R1 and its
// distills behind vLLM, llama.cpp or Ollama) write into the answer as <think>...</think>.
#pragma once

#include <string>
#include <string_view>

namespace speedrunner::llm {

// Every <think>...</think> block goes; so does the text before a lone leading
// "</think>" (chat templates that open the block inside the prompt), and an
// unclosed "<think>" to the end (an answer cut off while still reasoning).
// Whitespace left at the start of the answer is dropped too.
[[nodiscard]] inline std::string strip_think(std::string_view text) {
  constexpr std::string_view open = "<think>";
  constexpr std::string_view close = "</think>";
  std::string out;
  std::size_t first_open = text.find(open);
  std::size_t first_close = text.find(close);
  if (first_close != std::string_view::npos && (first_open == std::string_view::npos || first_close < first_open))
    text.remove_prefix(first_close + close.size());
  for (;;) {
    std::size_t a = text.find(open);
    if (a == std::string_view::npos) {
      out.append(text);
      break;
    }
    out.append(text.substr(0, a));
    std::size_t b = text.find(close, a + open.size());
    if (b == std::string_view::npos) break;
    text.remove_prefix(b + close.size());
  }
  std::size_t start = out.find_first_not_of(" \t\r\n");
  return start == std::string::npos ? std::string() : out.substr(start);
}

}  // namespace speedrunner::llm
