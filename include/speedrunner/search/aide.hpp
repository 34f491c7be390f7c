// AIDE's search: `drafts` drafts from the template (one batch, so parallel
// slots run them together), then one step per iteration: with probability
// debug_prob a random buggy leaf is debugged, otherwise the best valid node is
// improved (n_hypotheses children; 1 in AIDE, 3 in multi-AIDE); while no node
// is valid, it drafts anew.
//
// Where the benchmark's original differs: it runs AIDE as a configuration of
// its best-of-N loop, whose "best" is taken among v_0, the node last expanded
// and the last iteration's children only, so after a debug step it can go on
// from a node that is not the global best. `improve_from =
// ImproveFrom::latest_iteration` restores that behaviour.
#pragma once

#include <speedrunner/search/policy.hpp>

namespace speedrunner::search {

struct Aide {
  static constexpr std::string_view config_name = "aide";
  int drafts = 5;
  double debug_prob = 0.5;
  int n_hypotheses = 1;    // children of the best node per improvement step (multi-AIDE: 3)
  int max_bug_depth = 3;   // buggy leaves are debugged while their bug depth is at most this
  ImproveFrom improve_from = ImproveFrom::global_best;

  [[nodiscard]] std::vector<Decision> plan(const workspace::Journal& j, std::mt19937_64& rng) const {
    using ideate::Stage;
    const int drafted = j.count_stage(Stage::draft);
    if (drafted < drafts && j.n_nodes() == drafted)
      return std::vector<Decision>(static_cast<std::size_t>(drafts - drafted), {Stage::draft, 0});
    if (auto debug = detail::maybe_debug(j, debug_prob, max_bug_depth, rng)) return {*debug};
    if (auto best = detail::improve_target(j, improve_from))
      return std::vector<Decision>(static_cast<std::size_t>(n_hypotheses), {Stage::improve, *best});
    return {{Stage::draft, 0}};
  }
};

}  // namespace speedrunner::search
