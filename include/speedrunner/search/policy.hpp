// The SearchPolicy concept: given the journal so far, decide what the next
// iteration does - draft from the template, improve a node or debug one - as a
// batch of decisions the runner carries out (in parallel where it has slots).
#pragma once

#include <speedrunner/ideate/ideator.hpp>
#include <speedrunner/workspace/journal.hpp>

#include <concepts>
#include <optional>
#include <random>
#include <string_view>
#include <vector>

namespace speedrunner::search {

// One node to create: a child of `parent` made in `stage` (a draft's parent is v_0).
struct Decision {
  ideate::Stage stage = ideate::Stage::draft;
  workspace::NodeId parent = 0;
  friend bool operator==(const Decision&, const Decision&) = default;
};

// An empty plan ends the search. The generator is seeded by the runner from the
// run's seed and the iteration number, so a replayed run makes the same choices.
template <class P>
concept SearchPolicy = requires(const P& policy, const workspace::Journal& journal, std::mt19937_64& rng) {
  { policy.plan(journal, rng) } -> std::same_as<std::vector<Decision>>;
};

// Which node an improvement starts from.
enum class ImproveFrom {
  // The best valid node of the whole tree (ours, and AIDE's).
  global_best,
  // The original scaffold's rule: the best of {v_0, the node last expanded,
  // the nodes the last iteration made}. After a debug step, or a round in which
  // every child failed, it can continue from a node that is not the global best.
  latest_iteration,
};

namespace detail {

// The node an improvement should start from under `rule`, if any node qualifies.
[[nodiscard]] inline std::optional<workspace::NodeId> improve_target(const workspace::Journal& j,
                                                                     ImproveFrom rule) {
  if (rule == ImproveFrom::global_best) return j.best_valid();
  int last = -1;
  for (const auto& n : j.nodes)
    if (n.parent) last = std::max(last, n.iteration);
  std::vector<workspace::NodeId> candidates{0};
  for (const auto& n : j.nodes)
    if (n.parent && n.iteration == last) {
      candidates.push_back(n.id);
      candidates.push_back(*n.parent);
    }
  return j.best_valid_among(candidates);
}

// A debug decision for a random buggy leaf, with probability `p`.
[[nodiscard]] inline std::optional<Decision> maybe_debug(const workspace::Journal& j, double p,
                                                         int max_bug_depth, std::mt19937_64& rng) {
  // A chain of buggy nodes gets up to max_bug_depth debug attempts.
  auto buggy = j.buggy_leaves(max_bug_depth);
  if (buggy.empty() || p <= 0) return std::nullopt;
  if (std::uniform_real_distribution<double>(0, 1)(rng) >= p) return std::nullopt;
  std::uniform_int_distribution<std::size_t> pick(0, buggy.size() - 1);
  return Decision{ideate::Stage::debug, buggy[pick(rng)]};
}

}  // namespace detail
}  // namespace speedrunner::search
