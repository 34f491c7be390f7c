// Constructed journals for the search tests: a tree is described node by node.
#pragma once

#include <speedrunner/workspace/journal.hpp>

namespace speedrunner::testing {

// Adds a finished child: score >= 0 is a valid max_steps, score < 0 a crash.
inline workspace::NodeId grow(workspace::Journal& j, workspace::NodeId parent, ideate::Stage stage,
                              int iteration, double score) {
  auto& n = j.add_child(parent, stage, iteration);
  n.phase = workspace::Phase::done;
  if (score < 0) {
    n.status = workspace::Status::buggy;
  } else {
    n.status = workspace::Status::ok;
    n.valid = true;
    n.metrics["max_steps"] = score;
  }
  j.judge(n);
  return n.id;
}

inline workspace::Journal empty_journal() { return workspace::Journal::with_root({"max_steps", false}, 7); }

}  // namespace speedrunner::testing
