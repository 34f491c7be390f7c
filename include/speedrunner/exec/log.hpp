// Logs cut to fit a prompt: the head (how the run started) and the tail (how it
// ended) are what a model needs; the middle is replaced by a marker.
#pragma once

#include <speedrunner/workspace/atomic_file.hpp>

#include <filesystem>
#include <string>
#include <string_view>

namespace speedrunner::exec {

// At most about `max_chars` of `text`: a third from the start, the rest from the end.
[[nodiscard]] inline std::string head_and_tail(std::string_view text, std::size_t max_chars) {
  if (text.size() <= max_chars) return std::string(text);
  const std::size_t head = max_chars / 3, tail = max_chars - head;
  const std::size_t cut = text.size() - head - tail;
  return std::string(text.substr(0, head)) + "\n[... " + std::to_string(cut) +
         " characters cut ...]\n" + std::string(text.substr(text.size() - tail));
}

// A log file cut to `max_chars`; a missing file reads as empty.
[[nodiscard]] inline std::string read_log(const std::filesystem::path& path, std::size_t max_chars) {
  auto text = workspace::read_file(path);
  return text ? head_and_tail(*text, max_chars) : std::string{};
}

}  // namespace speedrunner::exec
