// The Ideator concept: given where the search stands (draft, improve or debug
// a node), propose the next hypothesis. `dummy` and `llm` model it.
#pragma once

#include <speedrunner/core/error.hpp>
#include <speedrunner/llm/model.hpp>

#include <concepts>
#include <string>
#include <vector>

namespace speedrunner::ideate {

struct Hypothesis {
  std::string summary;  // one line, shown in journals and in "ideas already tried"
  std::string text;     // the full hypothesis handed to the coder
  friend bool operator==(const Hypothesis&, const Hypothesis&) = default;
};

enum class Stage { draft, improve, debug };

// How a node in the history relates to the node being proposed.
enum class Relation { ancestor, sibling };

// One ancestor or sibling of the node being extended, as the ideator sees it.
struct NodeOutline {
  std::string id;               // "v_3"
  std::string hypothesis;       // its hypothesis summary
  std::string outcome;          // its outcome summary ("val_loss 3.27 in 2.9 min", "crashed: ...")
  bool buggy = false;
  Relation relation = Relation::ancestor;  // sibling: an earlier child of the same parent
};

struct IdeaRequest {
  Stage stage = Stage::draft;
  std::string task_description;
  std::string code;                   // the parent's entry files, rendered with their paths
  std::string parent_outcome;         // the parent's results or error (debug: the error log tail)
  std::vector<std::string> tried;     // hypothesis summaries already tried from this parent
  std::vector<NodeOutline> history;   // ancestors, oldest first, then the parent's children
  std::string knowledge;              // rendered hints (knowledge_src_paths)
};

// What a proposal cost; zero for ideators that call no model.
struct IdeaOutcome {
  Hypothesis hypothesis;
  llm::Usage usage;
  double cost_usd = 0.0;
};

template <class I>
concept Ideator = requires(I& ideator, const IdeaRequest& request) {
  { ideator.propose(request) } -> std::same_as<Result<IdeaOutcome>>;
};

}  // namespace speedrunner::ideate
