// The Coder concept: turn a hypothesis into edits of one version's files.
// AiderCoder (a model and an edit format) and PatchCoder (a given diff) model it.
#pragma once

#include <speedrunner/core/error.hpp>
#include <speedrunner/ideate/ideator.hpp>
#include <speedrunner/llm/model.hpp>

#include <concepts>
#include <filesystem>
#include <string>
#include <vector>

namespace speedrunner::code {

// A failed attempt near the node being coded, shown to the coder so it does not
// repeat it: the version, what it tried, and the error it ended with.
struct FailedAttempt {
  std::string version;     // "v_7"
  std::string hypothesis;  // the attempt's summary
  std::string error;       // its outcome ("buggy: exited with status 1: ...")
  friend bool operator==(const FailedAttempt&, const FailedAttempt&) = default;
};

struct CodeRequest {
  std::filesystem::path version_dir;        // every edit stays inside it
  std::vector<std::string> files;           // editable files, relative to version_dir
  std::vector<std::string> editable;        // patterns of further files edits may change or create
  std::vector<std::string> read_only;       // shown, never edited (data, evaluation)
  std::string task_description;             // what the task is (its goal and how it is judged)
  std::string instructions;                 // the task's code instructions
  std::vector<FailedAttempt> bug_history;   // buggy descendants of the node's stable ancestor (at most 3)
  ideate::Hypothesis hypothesis;
  std::string knowledge;                    // optional hints for the coder
  std::string package_constraints;          // what may be imported/installed ("no new packages")
};

struct CodeOutcome {
  std::vector<std::string> changed_files;   // relative to version_dir
  int rounds = 0;                           // model exchanges, reflections included
  std::string summary;                      // what was done, or why nothing was
  llm::Usage usage;
  double cost_usd = 0.0;
};

template <class C>
concept Coder = requires(C& coder, const CodeRequest& request) {
  { coder.implement(request) } -> std::same_as<Result<CodeOutcome>>;
};

}  // namespace speedrunner::code
