// The judge: a model compares what a run's best node changed (its diff against
// v_0) with the human record's change (the level-0 hint, a diff) and scores how
// much of the record's change it reproduced, 0 to 1, with its reasons. The
// answer is validated (a JSON object, score within [0, 1], at least one
// reason) and stored as judge.json beside the run, where the viewer and
// `speedrun report` read it.
#pragma once

#include <speedrunner/agent/agent.hpp>
#include <speedrunner/agent/prompt.hpp>
#include <speedrunner/core/error.hpp>
#include <speedrunner/validate/json_as.hpp>
#include <speedrunner/workspace/atomic_file.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

namespace speedrunner::agent {

inline constexpr std::string_view judgement_file = "judge.json";

// What the model answers.
struct Verdict {
  BOOST_HANA_DEFINE_STRUCT(Verdict, (double, score), (std::vector<std::string>, reasons));
};

// What judge.json holds: the verdict and what it judged.
struct Judgement {
  double score = 0;
  std::vector<std::string> reasons;
  std::string node;        // the best node judged, "v_3"
  int record = 0;          // R: the run tried to reproduce record R+1's change
  std::string model;       // the judging model's name
  std::string reference;   // the level-0 diff file compared against
  std::string created;     // UTC, ISO 8601
};

[[nodiscard]] inline boost::json::object judgement_json(const Judgement& j) {
  boost::json::array reasons;
  for (const auto& r : j.reasons) reasons.emplace_back(r);
  return {{"score", j.score}, {"reasons", std::move(reasons)}, {"node", j.node},       {"record", j.record},
          {"model", j.model}, {"reference", j.reference},      {"created", j.created}};
}

[[nodiscard]] inline Result<Judgement> load_judgement(const std::filesystem::path& file) {
  auto text = workspace::read_file(file);
  if (!text) return std::unexpected(std::move(text.error()));
  std::error_code ec;
  auto v = boost::json::parse(*text, ec);
  const std::string fix = "run `speedrun judge " + file.parent_path().string() + "` again to rewrite it";
  if (ec || !v.is_object()) return fail(file.string() + ": not a JSON object", fix);
  const auto& o = v.as_object();
  Judgement j;
  auto* score = o.if_contains("score");
  if (score == nullptr || !score->is_number() || !(score->to_number<double>() >= 0) || score->to_number<double>() > 1)
    return fail(file.string() + ": \"score\" is not a number in [0, 1]", fix);
  j.score = score->to_number<double>();
  if (auto* r = o.if_contains("reasons"); r && r->is_array())
    for (const auto& x : r->as_array())
      if (x.is_string()) j.reasons.emplace_back(x.as_string());
  auto str = [&](std::string_view key, std::string& out) {
    if (auto* x = o.if_contains(key); x && x->is_string()) out = std::string(x->as_string());
  };
  str("node", j.node);
  str("model", j.model);
  str("reference", j.reference);
  str("created", j.created);
  if (auto* r = o.if_contains("record"); r && r->is_int64()) j.record = static_cast<int>(r->as_int64());
  return j;
}

// The model's answer: a score in [0, 1] and at least one non-empty reason.
struct VerdictCheck {
  using value_type = Verdict;
  [[nodiscard]] Result<Verdict> operator()(std::string_view answer) const {
    auto v = validate::JsonAs<Verdict>{}(answer);
    if (!v) return v;
    if (!std::isfinite(v->score) || v->score < 0 || v->score > 1)
      return validate::reject("\"score\" is " + validate::number_text(boost::json::value(v->score)) +
                              "; give a number from 0 (none of the record's change) to 1 (all of it)");
    std::erase_if(v->reasons, [](const std::string& r) { return validate::detail::trim(r).empty(); });
    if (v->reasons.empty())
      return validate::reject("\"reasons\" is empty; give at least one reason, naming the changes you compared");
    return v;
  }
};

struct JudgeRequest {
  std::string task_description;
  std::string record_diff;   // the human record's change (level-0 hint)
  std::string agent_diff;    // the best node's change against v_0
  int record = 0;
};

struct JudgeSettings {
  std::filesystem::path prompt_dir = "config/prompts";  // holds judge/ and agent/feedback.txt
  llm::Params params;
  int max_attempts = 3;
  std::size_t max_diff_chars = 60000;  // each diff beyond this keeps its head and tail
};

template <class Model>
class Judge {
 public:
  [[nodiscard]] static Result<Judge> create(Model model, const JudgeSettings& settings) {
    auto system = PromptTemplate::load(settings.prompt_dir / "judge" / "system.txt", {});
    if (!system) return std::unexpected(std::move(system.error()));
    auto compare = PromptTemplate::load(settings.prompt_dir / "judge" / "compare.txt",
                                        {"task_description", "record", "next_record", "record_diff", "agent_diff"});
    if (!compare) return std::unexpected(std::move(compare.error()));
    auto feedback = load_feedback(settings.prompt_dir);
    if (!feedback) return std::unexpected(std::move(feedback.error()));
    Agent<Model> a(std::forward<Model>(model), *system->render({}), settings.params);
    if (auto ok = a.set_feedback(std::move(*feedback)); !ok) return std::unexpected(std::move(ok.error()));
    a.set_name("judge");
    return Judge(std::move(a), std::move(*compare), settings);
  }

  [[nodiscard]] Result<Verdict> judge(const JudgeRequest& r) {
    auto cut = [&](const std::string& d) {
      const std::size_t n = settings_.max_diff_chars;
      if (d.size() <= n) return d;
      return d.substr(0, n / 2) + "\n[... " + std::to_string(d.size() - n) + " characters cut ...]\n" +
             d.substr(d.size() - n / 2);
    };
    auto prompt = compare_.render({{"task_description", r.task_description},
                                   {"record", std::to_string(r.record)},
                                   {"next_record", std::to_string(r.record + 1)},
                                   {"record_diff", cut(r.record_diff)},
                                   {"agent_diff", r.agent_diff.empty() ? std::string("(no change)") : cut(r.agent_diff)}});
    if (!prompt) return std::unexpected(std::move(prompt.error()));
    auto v = agent_.act(std::move(*prompt), VerdictCheck{}, ValidationRetry{settings_.max_attempts});
    if (!v) return std::unexpected(std::move(v.error()).context("judging the best node against the record"));
    return v;
  }

  [[nodiscard]] Agent<Model>& agent() { return agent_; }

 private:
  Judge(Agent<Model> a, PromptTemplate compare, JudgeSettings settings)
      : agent_(std::move(a)), compare_(std::move(compare)), settings_(std::move(settings)) {}
  Agent<Model> agent_;
  PromptTemplate compare_;
  JudgeSettings settings_;
};

}  // namespace speedrunner::agent
