// Generators of malformed inputs for the config tests: valid texts mutated by
// truncation, bracket damage, random bytes and deletions, from a fixed seed.
#pragma once

#include <random>
#include <string>
#include <vector>

namespace speedrunner::testing {

inline std::string valid_task_json() {
  return R"({
  // a task
  "name": "t", "n": 3, "p": 0.5, "list": [1, "two", {"three": null}],
  "nested": {"a": {"b": [true, false]}}, "s": "${task.name}_x",
})";
}

// `count` texts: each a valid JSON config with one to three mutations.
inline std::vector<std::string> mutated_json(int count, unsigned seed) {
  std::mt19937 rng(seed);
  const std::string base = valid_task_json();
  const std::string brackets = "{}[]\",:";
  auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) {
    std::string s = base;
    int mutations = 1 + int(pick(3));
    for (int m = 0; m < mutations && !s.empty(); ++m) {
      switch (pick(6)) {
        case 0: s.resize(pick(s.size())); break;                              // truncate
        case 1: s[pick(s.size())] = brackets[pick(brackets.size())]; break;  // damage a bracket
        case 2: s[pick(s.size())] = char(pick(256)); break;                  // random byte
        case 3: s.erase(pick(s.size()), 1 + pick(4)); break;                 // delete a few
        case 4: s.insert(pick(s.size()), std::string(1 + pick(40), '[')); break;  // deep nesting
        case 5: {  // drop one closing bracket
          auto at = s.find_last_of("}]");
          if (at != std::string::npos) s.erase(at, 1);
          break;
        }
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

// `count` override arguments that are each wrong: bad syntax, broken values,
// unknown keys or groups, values the typed binding refuses. No NUL bytes, so
// they can also travel through argv.
inline std::vector<std::string> malformed_overrides(int count, unsigned seed) {
  std::mt19937 rng(seed);
  auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
  const std::vector<std::string> valid{
      "n_iterations=5", "science_runner.debug_prob=0.25", "task=collatz", "model=replay",
      "knowledge_src_paths=[a,b]", "budget={\"usd\": 1}", "+extra.key='x'", "~task.env",
      "executor.gpus=[0,1]", "workspace.ignore=[a]"};
  const std::vector<std::string> broken{
      "n_iterations=[1,2",   "n_iterations=five",  "science_runner.debug_prob=half",
      "science_runner.debug_prob=1.5", "task=colatz", "modle=replay", "model=",
      "knowledge_src_paths=[a,,", "budget={\"usd\": }", "+n_iterations=3",
      "~nothing.here", "a..b=1", "=3", "noequals", "~", "++=1", "executor.gpus=[0,[1]",
      "workspace.root=${task.nmae}", "workspace.root=${env:UNSET_VAR_SR}", "workspace.root=${a",
      "seed=-1", "executor.kind=cloud", "task.selection.direction=up", "n_iterations.x=1",
      "executor.max_parallel=0", "science_runner=bom", "task=../task/collatz", "budget.usd=-1",
      "workspace.root=${now:}", "task.metrics.runtime=seconds"};
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) {
    if (i < int(broken.size())) {
      out.push_back(broken[i]);
      continue;
    }
    // a valid override made invalid: cut inside its value, or a broken bracket added
    std::string s = valid[pick(valid.size())];
    std::size_t eq = s.find('=');
    switch (pick(4)) {
      case 0:
        s = s.substr(0, eq == std::string::npos ? 1 : eq) + "=[" + s.substr(eq + 1);
        break;
      case 1: s += "]"; break;
      case 2: s.insert(s.begin() + pick(eq == std::string::npos ? s.size() : eq), "$ "[pick(2)]); break;
      case 3: s = broken[pick(broken.size())] + std::string(pick(3), ']'); break;
    }
    out.push_back(s);
  }
  return out;
}

}  // namespace speedrunner::testing
