// What a run reports while it works: one event per step of a node, with the
// run's status at that moment; a progress display or a test observes them.
#pragma once

#include <speedrunner/llm/model.hpp>
#include <speedrunner/workspace/node.hpp>

#include <functional>
#include <optional>
#include <string>

namespace speedrunner {

enum class EventKind { started, planned, ideated, coded, submitted, executed, finished, stopped };

struct RunStatus {
  int iteration = 0, n_iterations = 0;
  int nodes = 0, max_nodes = 0;
  int running = 0;
  std::string best;                  // "v_3", empty while no node is valid
  std::optional<double> best_score;
  std::string selection;             // the selection metric's name
  llm::Usage usage;
  double usd = 0;
  double elapsed_s = 0;
};

struct Event {
  EventKind kind = EventKind::started;
  const workspace::Node* node = nullptr;  // the node concerned, if any
  std::string text;                       // a one-line description
};

using Observer = std::function<void(const Event&, const RunStatus&)>;

}  // namespace speedrunner
