// Scores finished runs of the NanoGPT speedrun task: reads a run directory's
// config.json (which record, which track), journal.json (each node's validity
// and train_time) and its nodes' training logs (which GPU they trained on), and
// the record baselines from the templates' results.json, then computes the
// run's FSR (fsr.hpp). Times from different GPU models are not comparable, so
// the baselines come from a calibration on the run's card where results.json
// has one (tracks.T.other_cards), and the score says which card they are from.
#pragma once

#include <speedrunner/core/error.hpp>
#include <speedrunner/metrics/fsr.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace speedrunner::metrics {

namespace detail {

inline Result<boost::json::value> read_json(const std::filesystem::path& path, std::string_view fix) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(path.string() + ": cannot read it", std::string(fix));
  std::stringstream text;
  text << in.rdbuf();
  std::error_code ec;
  auto v = boost::json::parse(text.str(), ec);
  if (ec) return fail(path.string() + ": not valid JSON (" + ec.message() + ")", std::string(fix));
  return v;
}

inline const boost::json::value* at_path(const boost::json::value& v, std::initializer_list<std::string_view> keys) {
  const boost::json::value* cur = &v;
  for (auto k : keys) {
    if (!cur->is_object()) return nullptr;
    cur = cur->as_object().if_contains(k);
    if (cur == nullptr) return nullptr;
  }
  return cur;
}

inline std::optional<double> number(const boost::json::value* v) {
  if (v == nullptr || !v->is_number()) return std::nullopt;
  return v->to_number<double>();
}

}  // namespace detail

// The record a task config starts from: task.record, else the N of a
// template_dir ending in record_N.
[[nodiscard]] inline Result<int> record_of_task(const boost::json::value& task, std::string_view where) {
  if (auto r = detail::number(detail::at_path(task, {"record"}))) return static_cast<int>(*r);
  if (auto* dir = detail::at_path(task, {"template_dir"}); dir && dir->is_string()) {
    const std::string d(dir->as_string());
    const auto at = d.rfind("record_");
    if (at != std::string::npos) {
      try {
        return std::stoi(d.substr(at + 7));
      } catch (...) {
      }
    }
  }
  return fail(std::string(where) + ": the task names no record (no task.record, and task.template_dir is not .../record_N)",
              "score runs of task=nanogpt_speedrun/record_N only");
}

// The GPU model a results.json calibration names: its "card" up to the first
// " (" ("NVIDIA H200 (one GPU of a 4-GPU machine, ...)" -> "NVIDIA H200").
[[nodiscard]] inline std::string card_model(std::string_view card) {
  return std::string(card.substr(0, card.find(" (")));
}

// The GPU models a run's nodes trained on, from the trainer's line
// "batch: ... GPUs (MODEL) = ..." in each v_N/stdout.log; empty when no log
// names one (nothing ran, or a trainer that does not print it).
[[nodiscard]] inline std::vector<std::string> run_cards(const std::filesystem::path& run_dir) {
  std::vector<std::string> cards;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(run_dir, ec)) {
    if (!e.is_directory() || !e.path().filename().string().starts_with("v_")) continue;
    std::ifstream in(e.path() / "stdout.log");
    std::string line;
    for (int n = 0; n < 50 && std::getline(in, line); ++n) {  // the trainer prints it before step 0
      const auto open = line.find(" GPUs ("), close = line.rfind(") = ");
      if (!line.starts_with("batch: ") || open == std::string::npos || close == std::string::npos || close < open + 7)
        continue;
      std::string model = line.substr(open + 7, close - open - 7);
      if (std::find(cards.begin(), cards.end(), model) == cards.end()) cards.push_back(std::move(model));
      break;
    }
  }
  std::sort(cards.begin(), cards.end());
  return cards;
}

// t_R and t_R+1 on `track` from templates/record_R/results.json and record_R+1's,
// with train_time_ms_min / _max where the calibration recorded them. With `card`
// (a GPU model), both come from the calibrations on that model when both
// records have one in tracks.T.other_cards (or as their main calibration);
// otherwise from the main calibrations. `card` says which were used; `target`
// and `val_tokens` what they measured (record R's and R+1's, each where given).
struct CardBaseline {
  Baseline baseline;
  std::string card;  // the GPU model of the calibrations used ("" when results.json names none)
  std::optional<double> target[2], val_tokens[2];
  std::optional<std::string> data_hash[2];  // the calibration's data (results.json's data_hash), where named
  std::string source;  // results.json's "source" of record R's times where they are not our measurement
  // record R+1's tracks.T.no_gain: why the step R -> R+1 gains nothing on this track ("" when it gains)
  std::string no_gain;
};
[[nodiscard]] inline Result<CardBaseline> load_baseline(const std::filesystem::path& templates, int record,
                                                        const std::string& track,
                                                        const std::optional<std::string>& card = std::nullopt) {
  struct Time {
    double ms, min_ms, max_ms;
    std::string card;
    std::optional<double> target, val_tokens;
    std::optional<std::string> data_hash;
    std::string source;
  };
  // the calibration of `section` (tracks.T or one of its other_cards entries)
  auto time_in = [&](const boost::json::value& section, const std::string& where, int r) -> Result<Time> {
    auto t = detail::number(detail::at_path(section, {"train_time_ms"}));
    if (!t || *t <= 0)
      return fail(where + ": no positive train_time_ms",
                  "measure record " + std::to_string(r) + " on the " + track + " track first");
    const auto lo = detail::number(detail::at_path(section, {"train_time_ms_min"}));
    const auto hi = detail::number(detail::at_path(section, {"train_time_ms_max"}));
    std::string model;
    if (auto* c = detail::at_path(section, {"card"}); c && c->is_string()) model = card_model(c->as_string());
    std::optional<std::string> data_hash;
    if (auto* h = detail::at_path(section, {"data_hash"}); h && h->is_string()) data_hash = std::string(h->as_string());
    std::string source;
    if (auto* src = detail::at_path(section, {"source"}); src && src->is_string()) source = std::string(src->as_string());
    return Time{*t,
                lo && *lo > 0 ? *lo : *t,
                hi && *hi > 0 ? *hi : *t,
                model,
                detail::number(detail::at_path(section, {"target_val_loss"})),
                detail::number(detail::at_path(section, {"val_tokens"})),
                data_hash,
                source};
  };
  std::string no_gain;
  // record r's main calibration, and its calibration on `card` if it has one
  auto times_of = [&](int r) -> Result<std::pair<Time, std::optional<Time>>> {
    const auto path = templates / ("record_" + std::to_string(r)) / "results.json";
    if (!std::filesystem::exists(path))
      return fail(path.string() + " does not exist: no measured baseline for record " + std::to_string(r),
                  "point --templates at workspace_templates/nanogpt_speedrun (every record's template is there)");
    auto doc = detail::read_json(path, "restore it from the repository");
    if (!doc) return std::unexpected(doc.error());
    const auto* section = detail::at_path(*doc, {"tracks", track});
    if (section == nullptr)
      return fail(path.string() + ": no positive tracks." + track + ".train_time_ms",
                  "measure record " + std::to_string(r) + " on the " + track + " track first");
    if (auto* why = detail::at_path(*section, {"no_gain"}); why && r == record + 1) {
      if (!why->is_string() || why->as_string().empty())
        return fail(path.string() + ": tracks." + track + ".no_gain must be a sentence saying why the step from record " +
                        std::to_string(record) + " gains nothing on this track",
                    "write the reason as a string, or remove no_gain");
      no_gain = std::string(why->as_string());
    }
    auto main = time_in(*section, path.string() + " tracks." + track, r);
    if (!main) return std::unexpected(main.error());
    std::optional<Time> on_card;
    if (card && main->card == *card) on_card = *main;
    const auto* others = detail::at_path(*section, {"other_cards"});
    if (card && !on_card && others && others->is_array()) {
      for (const auto& o : others->as_array()) {
        auto* c = detail::at_path(o, {"card"});
        if (!c || !c->is_string() || card_model(c->as_string()) != *card) continue;
        auto t = time_in(o, path.string() + " tracks." + track + ".other_cards (" + *card + ")", r);
        if (!t) return std::unexpected(t.error());
        on_card = *t;
      }
    }
    return std::pair{*main, on_card};
  };
  auto now = times_of(record);
  if (!now) return std::unexpected(now.error());
  auto next = times_of(record + 1);
  if (!next) return std::unexpected(next.error());
  const bool on_card = now->second && next->second;
  const Time& a = on_card ? *now->second : now->first;
  const Time& b = on_card ? *next->second : next->first;
  return CardBaseline{Baseline{a.ms, b.ms, a.min_ms, a.max_ms, b.min_ms, b.max_ms},
                      a.card == b.card ? a.card : "",
                      {a.target, b.target},
                      {a.val_tokens, b.val_tokens},
                      {a.data_hash, b.data_hash},
                      !a.source.empty() ? a.source : b.source,
                      no_gain};
}

// The nodes of journal.json with their validity and the value of `metric`
// (from each node's "results" object, or from the node itself).
[[nodiscard]] inline Result<std::vector<NodeTime>> load_node_times(const std::filesystem::path& journal,
                                                                   const std::string& metric) {
  auto doc = detail::read_json(journal, "the run directory is damaged or the run never started");
  if (!doc) return std::unexpected(doc.error());
  auto* nodes = detail::at_path(*doc, {"nodes"});
  if (nodes == nullptr || !nodes->is_array())
    return fail(journal.string() + ": has no \"nodes\" list", "the run directory is damaged; start a new run");
  std::vector<NodeTime> out;
  for (const auto& n : nodes->as_array()) {
    if (!n.is_object()) return fail(journal.string() + ": a node is not a JSON object", "the run directory is damaged");
    const boost::json::value& results = n.as_object().contains("results") ? n.as_object().at("results") : n;
    NodeTime t;
    t.id = static_cast<int>(detail::number(detail::at_path(n, {"id"})).value_or(static_cast<double>(out.size())));
    if (auto* v = detail::at_path(results, {"valid"}); v && v->is_bool()) t.valid = v->as_bool();
    t.train_time_ms = detail::number(detail::at_path(results, {"metrics", metric}));
    out.push_back(t);
  }
  return out;
}

// Scores RUN_DIR against the baselines under `templates`.
[[nodiscard]] inline Result<RunScore> score_run(const std::filesystem::path& run_dir,
                                                const std::filesystem::path& templates) {
  const auto config_path = run_dir / "config.json";
  auto config = detail::read_json(config_path, "give the folder of a speedrun run (it holds config.json and journal.json)");
  if (!config) return std::unexpected(config.error());
  auto* task = detail::at_path(*config, {"task"});
  if (task == nullptr) return fail(config_path.string() + ": has no task", "give the folder of a speedrun run");
  auto record = record_of_task(*task, config_path.string());
  if (!record) return std::unexpected(record.error());
  std::string track = "mini";
  if (auto* t = detail::at_path(*task, {"track"}); t && t->is_string()) track = std::string(t->as_string());
  std::string metric = "train_time";
  if (auto* m = detail::at_path(*task, {"selection", "metric"}); m && m->is_string()) metric = std::string(m->as_string());

  const auto cards = run_cards(run_dir);
  auto chosen = load_baseline(templates, *record, track,
                              cards.size() == 1 ? std::optional<std::string>(cards.front()) : std::nullopt);
  if (!chosen) return std::unexpected(std::move(chosen.error()).context(run_dir.string()));
  // Times to another target or on another validation set are not comparable: the run must have
  // trained to the loss bound and on the validation tokens its baselines were measured at.
  const boost::json::value* on_track = detail::at_path(*task, {"tracks", track});
  auto run_value = [&](std::string_view key) -> std::pair<std::optional<double>, std::string> {
    if (auto v = on_track ? detail::number(detail::at_path(*on_track, {key})) : std::nullopt)
      return {v, "task.tracks." + track + "." + std::string(key)};
    return {detail::number(detail::at_path(*task, {"data", key})), "task.data." + std::string(key)};
  };
  auto num = [](double x) {
    std::ostringstream o;
    o << x;
    return o.str();
  };
  for (auto [key, what] : {std::pair{std::string_view("target_val_loss"), std::string_view("target validation loss")},
                           std::pair{std::string_view("val_tokens"), std::string_view("validation tokens")}}) {
    const auto [run, source] = run_value(key);
    for (int i = 0; i < 2; ++i) {
      const auto& base = key == "val_tokens" ? chosen->val_tokens[i] : chosen->target[i];
      if (!run || !base || *run == *base) continue;
      const auto results = templates / ("record_" + std::to_string(*record + i)) / "results.json";
      return fail(run_dir.string() + ": the run trained with " + std::string(what) + " " + num(*run) + " (" +
                      config_path.filename().string() + ", " + source + "), but record " +
                      std::to_string(*record + i) + "'s baseline was measured at " + num(*base) + " (" +
                      results.string() + "), so their times are not comparable",
                  "score runs made with the task's current " + std::string(what) +
                      ", or calibrate the records at the run's (docs/records.md, \"Calibrating again\")");
    }
  }
  // A run on a track whose data is pinned (task.data.data_hash) compares only with
  // baselines calibrated on the same data. Runs from before the pin are not checked.
  std::string run_hash, hash_source;
  for (const auto& [where, source] : {std::pair{on_track, "task.tracks." + track + ".data_hash"},
                                      std::pair{detail::at_path(*task, {"data"}), std::string("task.data.data_hash")}}) {
    if (!run_hash.empty() || where == nullptr) continue;
    if (auto* h = detail::at_path(*where, {"data_hash"}); h && h->is_string()) run_hash = h->as_string(), hash_source = source;
  }
  for (int i = 0; i < 2 && !run_hash.empty(); ++i) {
    const auto& base = chosen->data_hash[i];
    if (base && *base == run_hash) continue;
    const auto results = templates / ("record_" + std::to_string(*record + i)) / "results.json";
    return fail(run_dir.string() + ": the run trained on data " + run_hash + " (" + config_path.filename().string() + ", " +
                    hash_source + "), but record " + std::to_string(*record + i) + "'s baseline (" + results.string() +
                    ") " + (base ? "was measured on data " + *base : "names no data_hash: it was calibrated before the track's data was defined") +
                    ", so their times are not comparable",
                "calibrate the records on the run's data (scripts/records/device-calibrate, then calibration-results), "
                "or score runs made on the baselines' data");
  }
  const std::string step = "record " + std::to_string(*record) + " -> " + std::to_string(*record + 1) + ", " + track;
  if (!chosen->no_gain.empty()) {
    // labelled in the next record's results.json: no FSR, whatever the times say (they may differ by noise alone)
    auto labelled = fail(run_dir.string() + " (" + step + "): no gain on this track: " + chosen->no_gain,
                         "the step stays in the benchmark; its runs are listed apart and left out of the means",
                         ExitCode::failure);
    labelled.error().kind = "no_speedup";
    return labelled;
  }
  const Baseline* baseline = &chosen->baseline;
  auto nodes = load_node_times(run_dir / "journal.json", metric);
  if (!nodes) return std::unexpected(nodes.error());

  RunScore s;
  s.run = run_dir.string();
  s.record = *record;
  s.track = track;
  s.baseline = *baseline;
  s.run_cards = cards;
  s.baseline_card = chosen->card;
  s.baseline_source = chosen->source;
  s.agent_ms = agent_time(*nodes, baseline->record_ms);
  s.nodes = static_cast<int>(nodes->size());
  for (const auto& n : *nodes) s.valid_nodes += n.valid ? 1 : 0;
  auto fsr = fraction_of_speedup_recovered(*baseline, s.agent_ms);
  if (!fsr)
    return std::unexpected(std::move(fsr.error())
                               .context(run_dir.string() + " (" + step +
                                        (chosen->card.empty() ? "" : ", baselines measured on " + chosen->card) + ")"));
  s.fsr = *fsr;
  s.fsr_range = fsr_range(*baseline, s.agent_ms);
  return s;
}

}  // namespace speedrunner::metrics
