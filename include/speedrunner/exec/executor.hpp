// The Executor concept: runs a version's launch command somewhere (local
// slots, a Slurm cluster) without blocking the runner. Jobs are submitted,
// polled and cancelled by handle, so an executor can keep many in flight; a
// handle's `ref` is saved in the node, so a resumed run can re-attach to a job
// that outlived the runner (Slurm) or learn that it must re-run it (local).
#pragma once

#include <speedrunner/core/error.hpp>
#include <speedrunner/metrics/early_abort.hpp>

#include <chrono>
#include <cstring>
#include <concepts>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace speedrunner::exec {

struct JobSpec {
  std::string name{};                         // "v_3": for messages
  std::filesystem::path dir{};                // working directory; stdout.log and stderr.log go here
  std::string command{};                      // the task's launch command, run by /bin/sh -c
  std::chrono::milliseconds timeout{0};     // 0: no limit
  std::vector<std::pair<std::string, std::string>> env{};  // added to the runner's environment
  metrics::WatchRules watch{};                // early abort while the log streams
};

// Opaque to the runner: "local:<pid>", "slurm:<job id>" (exec/slurm.hpp).
struct JobHandle {
  std::string ref{};
};

// "signal 11 (Segmentation fault)".
[[nodiscard]] inline std::string signal_name(int sig) {
  const char* text = ::strsignal(sig);
  return "signal " + std::to_string(sig) + (text != nullptr ? " (" + std::string(text) + ")" : std::string{});
}

struct JobResult {
  std::optional<int> exit_code{};             // none when killed by a signal
  int signal = 0;                           // the signal that ended it, if any
  bool timed_out = false;
  std::string aborted{};                      // the early-abort reason, if the watch stopped it
  double wall_s = 0;
  std::filesystem::path stdout_path{}, stderr_path{};
  std::string placement{};                    // where it ran: "slot 1, CUDA_VISIBLE_DEVICES=2,3"
  // How a scheduler says it ended when the exit status does not tell:
  // "node failure (Slurm NODE_FAIL)", "out of memory (Slurm OUT_OF_MEMORY)".
  std::string ended{};

  [[nodiscard]] bool succeeded() const {
    return exit_code == 0 && !timed_out && aborted.empty() && ended.empty();
  }
  // "exit status 1", "timed out after 60 s", "stopped early: val_loss is nan at step 40".
  [[nodiscard]] std::string describe() const {
    if (!aborted.empty()) return "stopped early: " + aborted;
    if (timed_out) return "timed out after " + std::to_string(static_cast<long>(wall_s)) + " s";
    if (!ended.empty()) return ended;
    // A shell reports a child killed by signal N as 128 + N.
    if (exit_code && *exit_code > 128 && *exit_code < 128 + 65)
      return "exit status " + std::to_string(*exit_code) + " (" + signal_name(*exit_code - 128) + ")";
    if (exit_code) return "exit status " + std::to_string(*exit_code);
    return "killed by " + signal_name(signal);
  }
};

template <class E>
concept Executor = requires(E& executor, const JobSpec& spec, const JobHandle& handle) {
  // How many more jobs it would start now; the runner submits only then.
  { executor.free_slots() } -> std::convertible_to<std::size_t>;
  { executor.submit(spec) } -> std::same_as<Result<JobHandle>>;
  // Non-blocking: the result once the job is over, nothing while it is queued or runs.
  { executor.poll(handle) } -> std::same_as<std::optional<JobResult>>;
  // Stops the job and its whole process tree; a no-op for a finished job.
  { executor.cancel(handle) } -> std::same_as<void>;
  // On resume: true when the job of a saved handle still exists and can be polled.
  { executor.reattach(spec, handle) } -> std::same_as<bool>;
};

}  // namespace speedrunner::exec
