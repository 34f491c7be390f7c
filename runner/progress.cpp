// The progress display of the speedrun executable (see progress.hpp).
#include "progress.hpp"

#include <speedrunner/metrics/metrics.hpp>

#include <string>
#include <unistd.h>

namespace speedrun {

Progress::Progress(std::FILE* out) : out_(out), tty_(::isatty(::fileno(out)) != 0) {}

std::string Progress::status_line(const speedrunner::RunStatus& s) {
  using speedrunner::metrics::format_number;
  std::string line = "iteration " + std::to_string(s.iteration) + "/" + std::to_string(s.n_iterations) +
                     " | nodes " + std::to_string(s.nodes) + "/" + std::to_string(s.max_nodes) + " | running " +
                     std::to_string(s.running) + " | best ";
  line += s.best.empty() ? std::string("-") : s.best + " " + s.selection + " " + format_number(*s.best_score);
  line += " | tokens " + std::to_string(s.usage.input_tokens) + " in, " + std::to_string(s.usage.output_tokens) +
          " out | $" + format_number(s.usd) + " | " + std::to_string(static_cast<long>(s.elapsed_s)) + " s";
  return line;
}

void Progress::operator()(const speedrunner::Event& e, const speedrunner::RunStatus& s) {
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "[%7.1fs] ", s.elapsed_s);
  if (tty_) {
    // clear the live line, print the event, redraw the status below it
    std::fprintf(out_, "\r\033[K%s%s\n\033[2m%s\033[0m", stamp, e.text.c_str(), status_line(s).c_str());
    live_ = true;
  } else {
    std::fprintf(out_, "%s%s\n", stamp, e.text.c_str());
  }
  std::fflush(out_);
}

void Progress::finish() {
  if (tty_ && live_) std::fputs("\n", out_);
  live_ = false;
  std::fflush(out_);
}

}  // namespace speedrun
