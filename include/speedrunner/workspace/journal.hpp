// The search tree of one run as a journal: every node with its meta and
// results, the task's selection rule, and the search's progress. Kept in
// memory by the runner and rewritten atomically to journal.json after each node.
#pragma once

#include <speedrunner/core/error.hpp>
#include <speedrunner/workspace/atomic_file.hpp>
#include <speedrunner/workspace/node.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <range/v3/algorithm/count_if.hpp>
#include <range/v3/algorithm/min_element.hpp>
#include <range/v3/range/conversion.hpp>
#include <range/v3/view/filter.hpp>
#include <range/v3/view/transform.hpp>

#include <cassert>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace speedrunner::workspace {

// Which metric ranks nodes, and in which direction.
struct Selection {
  std::string metric;
  bool lower_is_better = false;
};

class Journal {
 public:
  std::vector<Node> nodes;   // nodes[k].id == k; nodes[0] is the template copy v_0
  Selection selection;
  int iterations = 0;        // search iterations planned so far
  std::uint64_t seed = 0;
  // Model answers the recorded steps used, per agent ("" for none): a resumed
  // run that replays a transcript skips exactly these, so an answer given just
  // before a kill, whose step was never recorded, is handed out again. (None:
  // a journal of a runner that does not count them.)
  std::optional<std::map<std::string, std::int64_t>> answers_used;

  // A journal holding only v_0.
  [[nodiscard]] static Journal with_root(Selection selection, std::uint64_t seed) {
    Journal j;
    j.selection = std::move(selection);
    j.seed = seed;
    Node root;
    root.created = utc_now_iso();
    root.phase = Phase::done;
    root.outcome = "the task's template, not run";
    j.nodes.push_back(std::move(root));
    return j;
  }

  [[nodiscard]] const Node& at(NodeId id) const { return nodes.at(static_cast<std::size_t>(id)); }
  [[nodiscard]] Node& at(NodeId id) { return nodes.at(static_cast<std::size_t>(id)); }
  [[nodiscard]] const Node& root() const { return nodes.front(); }
  // Nodes the search created (all but v_0).
  [[nodiscard]] int n_nodes() const { return static_cast<int>(nodes.size()) - 1; }

  // The node's selection metric, when it has a finite one.
  [[nodiscard]] std::optional<double> score(const Node& n) const {
    auto it = n.metrics.find(selection.metric);
    if (it == n.metrics.end() || !std::isfinite(it->second)) return std::nullopt;
    return it->second;
  }
  // Strictly better by the selection rule; ties keep the earlier node.
  [[nodiscard]] bool better(double a, double b) const {
    return selection.lower_is_better ? a < b : a > b;
  }

  [[nodiscard]] auto valid_nodes() const {
    return nodes | ranges::views::filter([this](const Node& n) {
             return n.finished() && n.valid && !n.buggy() && score(n).has_value();
           });
  }

  // The best valid node of the whole tree; ties go to the earliest node.
  [[nodiscard]] std::optional<NodeId> best_valid() const { return best_of(valid_nodes()); }

  // Best valid node among `ids` (the original scaffold ranks only a few candidates).
  [[nodiscard]] std::optional<NodeId> best_valid_among(const std::vector<NodeId>& ids) const {
    return best_of(ids | ranges::views::transform([this](NodeId id) -> const Node& { return at(id); }) |
                   ranges::views::filter([this](const Node& n) {
                     return n.finished() && n.valid && !n.buggy() && score(n).has_value();
                   }));
  }

  // Finished buggy nodes without children whose bug depth is at most `max_bug_depth`:
  // the candidates for a debug step.
  [[nodiscard]] std::vector<NodeId> buggy_leaves(int max_bug_depth) const {
    return nodes | ranges::views::filter([max_bug_depth](const Node& n) {
             return n.finished() && n.buggy() && n.leaf() && n.bug_depth <= max_bug_depth;
           }) |
           ranges::views::transform(&Node::id) | ranges::to<std::vector>();
  }

  // v_0 first, the node itself last.
  [[nodiscard]] std::vector<NodeId> ancestry(NodeId id) const {
    std::vector<NodeId> chain;
    for (std::optional<NodeId> at_id = id; at_id; at_id = at(*at_id).parent) chain.push_back(*at_id);
    return {chain.rbegin(), chain.rend()};
  }

  [[nodiscard]] std::vector<NodeId> unfinished() const {
    return nodes | ranges::views::filter([](const Node& n) { return !n.finished(); }) |
           ranges::views::transform(&Node::id) | ranges::to<std::vector>();
  }

  [[nodiscard]] int count_stage(ideate::Stage stage) const {
    return static_cast<int>(ranges::count_if(nodes, [stage](const Node& n) {
      return n.parent.has_value() && n.stage == stage;
    }));
  }

  [[nodiscard]] double spent_usd() const {
    double usd = 0;
    for (const auto& n : nodes) usd += n.cost.usd;
    return usd;
  }

  // Adds a planned child of `parent`; its folder is created by the Workspace.
  Node& add_child(NodeId parent, ideate::Stage stage, int iteration) {
    Node n;
    n.id = static_cast<NodeId>(nodes.size());
    n.parent = parent;
    n.created = utc_now_iso();
    n.stage = stage;
    n.iteration = iteration;
    const Node& p = at(parent);
    n.stable_ancestor = p.buggy() ? p.stable_ancestor : p.id;
    at(parent).children.push_back(n.id);
    nodes.push_back(std::move(n));
    return nodes.back();
  }

  // Sets bug depth from the node's status once it is judged.
  void judge(Node& n) const {
    n.bug_depth = n.buggy() ? (n.parent ? at(*n.parent).bug_depth + 1 : 1) : 0;
  }

  [[nodiscard]] boost::json::object to_json() const {
    boost::json::array list;
    for (const auto& n : nodes) list.push_back(node_json(n));
    boost::json::object o{{"selection", {{"metric", selection.metric},
                                         {"lower_is_better", selection.lower_is_better}}},
                          {"iterations", iterations},
                          {"seed", seed},
                          {"nodes", std::move(list)}};
    if (auto best = best_valid()) o["best"] = version_name(*best);
    if (answers_used) {
      boost::json::object used;
      for (const auto& [agent, n] : *answers_used) used[agent] = n;
      o["answers_used"] = std::move(used);
    }
    return o;
  }

  [[nodiscard]] Result<void> save(const std::filesystem::path& path) const {
    return write_file_atomic(path, boost::json::serialize(to_json()) + "\n");
  }

  [[nodiscard]] static Result<Journal> load(const std::filesystem::path& path) {
    auto text = read_file(path);
    if (!text) return std::unexpected(std::move(text.error()));
    std::error_code ec;
    auto v = boost::json::parse(*text, ec);
    if (ec || !v.is_object())
      return fail(path.string() + ": not a JSON journal (" + ec.message() + ")",
                  "the run directory is damaged; start a new run");
    Journal j;
    const auto& o = v.get_object();
    auto damaged = [&](std::string what) {
      return fail(path.string() + ": " + std::move(what),
                  "the run directory is damaged: restore journal.json from a backup, or start a new run");
    };
    if (auto* s = o.if_contains("selection"); s && s->is_object()) {
      if (auto* m = s->get_object().if_contains("metric"); m && m->is_string())
        j.selection.metric = std::string(m->get_string());
      if (auto* l = s->get_object().if_contains("lower_is_better"); l && l->is_bool())
        j.selection.lower_is_better = l->get_bool();
    }
    if (auto* i = o.if_contains("iterations")) {
      if (!i->is_int64() || i->get_int64() < 0 || i->get_int64() > 1'000'000'000)
        return damaged("\"iterations\" is not a count (" + boost::json::serialize(*i) + ")");
      j.iterations = static_cast<int>(i->get_int64());
    }
    if (auto* s = o.if_contains("seed")) {
      if (s->is_uint64()) j.seed = s->get_uint64();
      else if (s->is_int64() && s->get_int64() >= 0) j.seed = static_cast<std::uint64_t>(s->get_int64());
      else return damaged("\"seed\" is not a non-negative integer (" + boost::json::serialize(*s) + ")");
    }
    if (auto* u = o.if_contains("answers_used")) {
      if (!u->is_object()) return damaged("\"answers_used\" is not an object");
      j.answers_used.emplace();
      for (const auto& [agent, n] : u->get_object()) {
        if (!n.is_int64() || n.get_int64() < 0)
          return damaged("\"answers_used\"." + std::string(agent) + " is not a count");
        (*j.answers_used)[std::string(agent)] = n.get_int64();
      }
    }
    auto* list = o.if_contains("nodes");
    if (list == nullptr || !list->is_array() || list->get_array().empty())
      return damaged("has no nodes");
    for (const auto& e : list->get_array()) {
      auto n = node_from_json(e, path.string() + " node " + std::to_string(j.nodes.size()));
      if (!n) return std::unexpected(std::move(n.error()));
      if (n->id != static_cast<NodeId>(j.nodes.size()))
        return damaged("node " + std::to_string(j.nodes.size()) + " has id " + std::to_string(n->id));
      j.nodes.push_back(std::move(*n));
    }
    // A parent always comes before its child, so the tree has no cycles and
    // every walk up from a node ends at v_0.
    for (const auto& n : j.nodes) {
      const std::string name = version_name(n.id);
      if (n.id == 0 && n.parent) return damaged("v_0 has a parent");
      if (n.id != 0 && !n.parent) return damaged(name + " has no parent");
      if (n.parent && (*n.parent < 0 || *n.parent >= n.id))
        return damaged(name + " names parent " + std::to_string(*n.parent) +
                       ", which is not an earlier node");
      for (NodeId c : n.children)
        if (c <= n.id || c >= static_cast<NodeId>(j.nodes.size()) || j.nodes[static_cast<std::size_t>(c)].parent != n.id)
          return damaged(name + " lists child " + std::to_string(c) + ", which is not a later node whose parent it is");
    }
    return j;
  }

 private:
  template <class Range>
  [[nodiscard]] std::optional<NodeId> best_of(Range&& candidates) const {
    std::optional<NodeId> best;
    double best_score = 0;
    for (const Node& n : candidates) {
      double s = *score(n);
      if (!best || better(s, best_score)) {
        best = n.id;
        best_score = s;
      }
    }
    return best;
  }
};

}  // namespace speedrunner::workspace
