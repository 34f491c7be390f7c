// SIGINT and SIGTERM stop a run cleanly: the handler only raises a flag; the
// runner sees it, stops its jobs, writes the journal and returns "interrupted".
// A second signal ends the process at once (the default action).
#pragma once

#include <atomic>
#include <csignal>

namespace speedrunner {

namespace detail {
inline std::atomic<int>& stop_signal() {
  static std::atomic<int> signal{0};
  return signal;
}
extern "C" inline void speedrunner_on_stop_signal(int sig) { stop_signal().store(sig); }
}  // namespace detail

// Installs the handlers (once per process; later calls only reset the flag).
inline void install_stop_handlers() {
  detail::stop_signal().store(0);
  struct sigaction sa {};
  sa.sa_handler = detail::speedrunner_on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND;  // the second Ctrl-C is not caught
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

// The signal that asked the run to stop, or 0.
[[nodiscard]] inline int stop_requested() { return detail::stop_signal().load(); }

// Asks the run to stop as a signal would (tests, embedding programs).
inline void request_stop(int sig = SIGTERM) { detail::stop_signal().store(sig); }

}  // namespace speedrunner
