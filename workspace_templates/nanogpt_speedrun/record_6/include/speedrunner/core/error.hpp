// Errors a user or a model can cause, carried as values: what went wrong
// (naming the thing) and how to fix it. Every fallible library call returns
// Result<T>; only programming errors throw.
#pragma once

#include <expected>
#include <string>
#include <utility>

namespace speedrunner {

// Process exit codes of the speedrun executable, one per kind of failure, so
// scripts can tell a bad command line from a failed experiment.
enum class ExitCode : int {
  ok = 0,
  failure = 1,      // the job ran and failed (no valid node, a run error)
  usage = 2,        // bad command line or configuration
  interrupted = 130 // SIGINT / SIGTERM: stopped cleanly, resumable
};

struct Error {
  std::string what;  // what went wrong, naming the thing: "config/model/o3.json: ..."
  std::string fix;   // what the user should do about it; empty when obvious
  ExitCode code = ExitCode::usage;

  // "what" alone, or "what\n  fix: fix".
  [[nodiscard]] std::string message() const {
    return fix.empty() ? what : what + "\n  fix: " + fix;
  }

  // Prefixes the location a lower layer did not know ("while reading X: ").
  [[nodiscard]] Error context(std::string_view where) && {
    what.insert(0, std::string(where) + ": ");
    return std::move(*this);
  }
};

template <class T>
using Result = std::expected<T, Error>;

// `return fail("x is missing", "add x to config/default.json");`
[[nodiscard]] inline std::unexpected<Error> fail(std::string what, std::string fix = {},
                                                 ExitCode code = ExitCode::usage) {
  return std::unexpected<Error>(Error{std::move(what), std::move(fix), code});
}

}  // namespace speedrunner
