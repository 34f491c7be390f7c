// Best-of-N search, the benchmark's own scaffold: a first batch of
// n_initial_hypotheses drafts from the template, then each iteration either
// debugs a buggy leaf (with probability debug_prob) or expands the best node
// with n_hypotheses children. Presets: flat (20 drafts, 1 iteration), tree (1
// then 3 per step), forest (3 and 3).
#pragma once

#include <speedrunner/search/policy.hpp>

namespace speedrunner::search {

struct BoN {
  static constexpr std::string_view config_name = "bon";
  int n_initial_hypotheses = 1;
  int n_hypotheses = 1;
  double debug_prob = 0.0;
  int max_bug_depth = 3;   // buggy leaves are debugged while their bug depth is at most this
  ImproveFrom improve_from = ImproveFrom::global_best;

  [[nodiscard]] static constexpr BoN flat() { return {.n_initial_hypotheses = 20, .n_hypotheses = 1}; }
  [[nodiscard]] static constexpr BoN tree() { return {.n_initial_hypotheses = 1, .n_hypotheses = 3}; }
  [[nodiscard]] static constexpr BoN forest() { return {.n_initial_hypotheses = 3, .n_hypotheses = 3}; }

  [[nodiscard]] std::vector<Decision> plan(const workspace::Journal& j, std::mt19937_64& rng) const {
    using ideate::Stage;
    if (j.n_nodes() == 0) return std::vector<Decision>(static_cast<std::size_t>(n_initial_hypotheses), {Stage::draft, 0});
    if (auto debug = detail::maybe_debug(j, debug_prob, max_bug_depth, rng)) return {*debug};
    auto open = detail::improve_target(j, improve_from);
    // Nothing valid yet: branch from the template again, as the original does.
    Decision d = open ? Decision{Stage::improve, *open} : Decision{Stage::draft, 0};
    return std::vector<Decision>(static_cast<std::size_t>(n_hypotheses), d);
  }
};

}  // namespace speedrunner::search
