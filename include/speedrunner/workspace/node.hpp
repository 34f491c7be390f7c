// A node of the search tree: one version of the workspace (v_k), its place in
// the tree, its hypothesis and, once run, its results. Serialised as meta.json
// and results.json in the version folder and as one entry of journal.json.
#pragma once

#include <speedrunner/core/error.hpp>
#include <speedrunner/ideate/ideator.hpp>
#include <speedrunner/llm/model.hpp>

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace speedrunner::workspace {

using NodeId = int;  // k of v_k; v_0 is the template copy

[[nodiscard]] inline std::string version_name(NodeId k) { return "v_" + std::to_string(k); }

// How far a node got; a resumed run continues each unfinished node from here.
enum class Phase { planned, ideated, coded, executed, done };
// pending: not judged yet; ok: valid metrics; buggy: crashed, aborted, no or invalid metrics.
enum class Status { pending, ok, buggy };

[[nodiscard]] constexpr std::string_view to_string(Phase p) {
  constexpr std::string_view names[] = {"planned", "ideated", "coded", "executed", "done"};
  return names[static_cast<int>(p)];
}
[[nodiscard]] constexpr std::string_view to_string(Status s) {
  constexpr std::string_view names[] = {"pending", "ok", "buggy"};
  return names[static_cast<int>(s)];
}
[[nodiscard]] constexpr std::string_view stage_name(ideate::Stage s) {
  constexpr std::string_view names[] = {"draft", "improve", "debug"};
  return names[static_cast<int>(s)];
}

struct Timings {
  double ideate_s = 0, code_s = 0, execute_s = 0, analyse_s = 0;
};

struct Cost {
  llm::Usage usage;
  double usd = 0;
  Cost& operator+=(const Cost& o) {
    usage += o.usage;
    usd += o.usd;
    return *this;
  }
};

struct Node {
  // ---- meta.json: where the node sits and what it tries
  NodeId id = 0;
  std::optional<NodeId> parent;            // none for v_0
  std::vector<NodeId> children;
  std::string created;                     // UTC, ISO 8601
  ideate::Stage stage = ideate::Stage::draft;
  int iteration = 0;                       // the search iteration that planned it
  // Consecutive buggy nodes ending here: 0 for a node that works, parent's + 1 for a buggy one.
  int bug_depth = 0;
  NodeId stable_ancestor = 0;              // nearest ancestor that is not buggy
  ideate::Hypothesis hypothesis;
  Phase phase = Phase::planned;
  std::string job;                         // the executor's reference while it runs (pid, Slurm id)

  // ---- results.json: what came out
  Status status = Status::pending;
  std::map<std::string, double> metrics;
  bool valid = false;                      // metrics present and inside the task's bounds
  std::string reason;                      // why buggy or invalid ("exit status 1", "val_loss 3.4 > 3.28")
  std::string outcome;                     // one-line summary for prompts and the journal
  Timings timings;
  Cost cost;
  std::optional<int> exit_code;
  bool timed_out = false;
  std::string aborted;                     // early-abort rule that stopped the run, if any

  [[nodiscard]] std::string name() const { return version_name(id); }
  [[nodiscard]] bool finished() const { return phase == Phase::done; }
  [[nodiscard]] bool buggy() const { return status == Status::buggy; }
  [[nodiscard]] bool leaf() const { return children.empty(); }
};

[[nodiscard]] inline std::string utc_now_iso() {
  auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The three JSON views of a node; defined in detail/node_json.hpp.
[[nodiscard]] inline boost::json::object meta_json(const Node& node);
[[nodiscard]] inline boost::json::object results_json(const Node& node);
[[nodiscard]] inline boost::json::object node_json(const Node& node);   // meta and results together
// Reads any of the three views (missing keys keep their defaults); `where` names the source.
[[nodiscard]] inline Result<Node> node_from_json(const boost::json::value& v, std::string_view where);

}  // namespace speedrunner::workspace

#include <speedrunner/workspace/detail/node_json.hpp>
