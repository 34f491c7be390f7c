// The run's progress on the terminal: on a TTY, event lines scroll above one
// live status line (iteration, nodes, running jobs, best metric, tokens, cost);
// elsewhere (logs, CI), plain timestamped event lines only.
#pragma once

#include <speedrunner/runner/events.hpp>

#include <cstdio>

namespace speedrun {

class Progress {
 public:
  explicit Progress(std::FILE* out = stderr);
  void operator()(const speedrunner::Event& event, const speedrunner::RunStatus& status);
  // Ends the live line so later output starts on a fresh one.
  void finish();
  [[nodiscard]] static std::string status_line(const speedrunner::RunStatus& s);

 private:
  std::FILE* out_;
  bool tty_;
  bool live_ = false;
};

}  // namespace speedrun
