// Test doubles for the runner tests: an ideator and a coder that follow a
// script instead of asking a model, and a tiny task whose score is a file.
#pragma once

#include <speedrunner/code/coder.hpp>
#include <speedrunner/ideate/ideator.hpp>
#include <speedrunner/runner/task.hpp>
#include <speedrunner/workspace/atomic_file.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace speedrunner::testing {

// Proposes "step N" hypotheses in order, recording each request.
struct ScriptedIdeator {
  std::shared_ptr<std::vector<ideate::IdeaRequest>> requests = std::make_shared<std::vector<ideate::IdeaRequest>>();
  std::vector<ideate::Hypothesis> script;  // used in order; "idea <n>" once it runs out
  Result<ideate::IdeaOutcome> propose(const ideate::IdeaRequest& r) {
    requests->push_back(r);
    const std::size_t n = requests->size();
    ideate::IdeaOutcome out;
    out.hypothesis = n <= script.size() ? script[n - 1]
                                        : ideate::Hypothesis{"idea " + std::to_string(n), "idea " + std::to_string(n)};
    out.usage.input_tokens = 100;
    out.usage.output_tokens = 10;
    out.cost_usd = 0.01;
    return out;
  }
};

// Applies an edit chosen by the hypothesis summary: edits[summary](version_dir).
struct ScriptedCoder {
  using Edit = std::function<Result<void>(const std::filesystem::path&)>;
  std::shared_ptr<int> calls = std::make_shared<int>(0);
  std::function<Result<void>(const code::CodeRequest&)> edit;
  Result<code::CodeOutcome> implement(const code::CodeRequest& r) {
    ++*calls;
    if (edit)
      if (auto e = edit(r); !e) return std::unexpected(e.error());
    code::CodeOutcome out;
    out.summary = "applied " + r.hypothesis.summary;
    out.rounds = 1;
    out.cost_usd = 0.02;
    return out;
  }
};

// Replaces `from` with `to` in one file of a version.
inline Result<void> replace_in(const std::filesystem::path& file, const std::string& from, const std::string& to) {
  auto text = workspace::read_file(file);
  if (!text) return std::unexpected(text.error());
  auto at = text->find(from);
  if (at == std::string::npos) return fail("SEARCH text not found in " + file.string(), "", ExitCode::failure);
  text->replace(at, from.size(), to);
  return workspace::write_file_atomic(file, *text);
}

// A task whose run prints "score: <contents of score.txt>": fast and scriptable.
inline Task score_task(const std::filesystem::path& template_dir) {
  std::filesystem::create_directories(template_dir);
  std::ofstream(template_dir / "score.txt") << "1\n";
  Task t;
  t.name = "score";
  t.description = "make the score higher";
  t.template_dir = template_dir;
  t.files = {"score.txt"};
  t.launch_command = "sleep 0.02; echo \"score: $(cat score.txt)\"";
  t.timeout = std::chrono::seconds(10);
  t.metrics.metrics = {{"score"}};
  t.metrics.selection = "score";
  return t;
}

// A coder edit for score_task: score = 10 * (the number in "idea <n>"), or a crash for "crash".
inline Result<void> score_edit(const code::CodeRequest& r) {
  const auto& s = r.hypothesis.summary;
  std::ofstream f(r.version_dir / "score.txt");
  if (s == "crash") f << "not a number\n";
  else f << 10 * std::stoi(s.substr(s.rfind(' ') + 1)) << "\n";
  return {};
}

}  // namespace speedrunner::testing
