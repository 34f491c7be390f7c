// `speedrun judge RUN_DIR [--hints DIR] [--config-dir DIR] [OVERRIDE...]`: a
// model compares the run's best node's diff (against v_0) with the record's
// level-0 diff and scores how much of the record's change it reproduced; the
// validated verdict goes to RUN_DIR/judge.json, which the page and `speedrun
// report` show. The overrides choose the judging model (model=o3_mini; the
// default config's model is the replay model).
#include "commands.hpp"

#include <speedrunner/agent/judge.hpp>
#include <speedrunner/config/compose.hpp>
#include <speedrunner/config/secrets.hpp>
#include <speedrunner/llm/any_model.hpp>
#include <speedrunner/llm/config.hpp>
#include <speedrunner/metrics/run_scores.hpp>
#include <speedrunner/workspace/diff.hpp>
#include <speedrunner/workspace/journal.hpp>

#include <cstdio>

namespace speedrun {
namespace {

namespace fs = std::filesystem;
namespace sr = speedrunner;
namespace cfg = speedrunner::config;
using sr::Result;

constexpr std::string_view usage_line = "speedrun judge RUN_DIR [--hints DIR] [--config-dir DIR] [OVERRIDE...]";

// The hint levels: --hints, else data/nanogpt_speedrun_knowledge_in_levels here or in the source tree.
fs::path default_hints() {
  const fs::path rel = fs::path("data") / "nanogpt_speedrun_knowledge_in_levels";
  if (fs::exists(rel)) return fs::current_path() / rel;
  return cfg::builtin_config_dir().parent_path() / rel;
}

// A relative path from the working directory, else from the source tree (as run.cpp finds them).
fs::path locate(const fs::path& p) {
  std::error_code ec;
  if (p.is_absolute() || fs::exists(p, ec)) return p;
  fs::path beside = cfg::builtin_config_dir().parent_path() / p;
  return fs::exists(beside, ec) ? beside : p;
}

Result<sr::agent::Judgement> judge_run(const fs::path& dir, const fs::path& hints, const cfg::CommandLine& cl) {
  // what the run tried: its record, and its best valid node
  auto run_config = sr::metrics::detail::read_json(dir / "config.json",
                                                   "give the folder of a speedrun run (it holds config.json and journal.json)");
  if (!run_config) return std::unexpected(run_config.error());
  const auto* task = sr::metrics::detail::at_path(*run_config, {"task"});
  if (task == nullptr) return sr::fail((dir / "config.json").string() + ": has no task", "give the folder of a speedrun run");
  auto record = sr::metrics::record_of_task(*task, (dir / "config.json").string());
  if (!record) return std::unexpected(record.error());
  auto journal = sr::workspace::Journal::load(dir / "journal.json");
  if (!journal) return std::unexpected(journal.error());
  const auto best = journal->best_valid();
  if (!best || *best == 0)
    return sr::fail(dir.string() + ": no node but v_0 is valid, so there is no change of the agent's to judge",
                    "judge a run with a valid node (resume it with more iterations: speedrun resume " + dir.string() +
                        " n_iterations=N)",
                    sr::ExitCode::failure);
  const fs::path reference = hints / ("record_" + std::to_string(*record)) / "level_0_diff.txt";
  auto record_diff = sr::workspace::read_file(reference);
  if (!record_diff)
    return sr::fail(reference.string() + ": cannot read record " + std::to_string(*record) + "'s level-0 diff",
                    "point --hints at data/nanogpt_speedrun_knowledge_in_levels");
  const std::string agent_diff = sr::workspace::diff_versions(dir / "v_0", dir / sr::workspace::version_name(*best));

  // the judging model: the default config with the command line's overrides
  auto c = cfg::load(cl);
  if (!c) return std::unexpected(c.error());
  const auto* model_json = c->if_contains("model");
  if (model_json == nullptr) return sr::fail("the config has no model group", "pick one: model=o3_mini, model=replay, ...");
  auto mc = sr::llm::model_config_from_json(*model_json, "model");
  if (!mc) return std::unexpected(mc.error());
  if (!mc->api_key_env.empty())
    if (auto key = cfg::api_key(*c, mc->api_key_env)) mc->api_key = *key;
  if (!mc->transcript.empty()) mc->transcript = locate(mc->transcript).string();
  sr::llm::RunModelOptions model_options;
  model_options.log_dir = dir;  // llm_judge.jsonl beside the run's other model logs
  auto model = sr::llm::make_run_model(*mc, model_options);
  if (!model) return std::unexpected(model.error());
  sr::agent::JudgeSettings settings;
  settings.prompt_dir = cfg::builtin_config_dir() / "prompts";
  auto judge = sr::agent::Judge<sr::llm::AnyModel>::create(std::move(*model), settings);
  if (!judge) return std::unexpected(judge.error());
  std::string description;
  if (auto* d = sr::metrics::detail::at_path(*task, {"description"}); d && d->is_string()) description = std::string(d->as_string());
  auto verdict = judge->judge({description, *record_diff, agent_diff, *record});
  if (!verdict) return std::unexpected(verdict.error());

  sr::agent::Judgement j;
  j.score = verdict->score;
  j.reasons = verdict->reasons;
  j.node = sr::workspace::version_name(*best);
  j.record = *record;
  j.model = mc->name;
  j.reference = reference.string();
  j.created = sr::workspace::utc_now_iso();
  if (auto w = sr::workspace::write_file_atomic(dir / sr::agent::judgement_file,
                                                boost::json::serialize(sr::agent::judgement_json(j)) + "\n");
      !w)
    return std::unexpected(w.error());
  return j;
}

}  // namespace

int judge_command(std::span<const std::string_view> args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::printf("usage: %.*s\n", int(usage_line.size()), usage_line.data());
    std::puts("  Asks a model how much of record R+1's change (the level-0 diff of record R's hints) the run's best\n"
              "  valid node reproduced, 0 (none) to 1 (all), with a reason per idea of the record's change. The\n"
              "  answer is validated (JSON, score in [0, 1], reasons given; a rejected answer is sent back to the\n"
              "  model with the reason, up to 3 attempts) and written to RUN_DIR/judge.json, which `speedrun view`\n"
              "  and `speedrun report` show. The judging model is the default config's model unless the overrides\n"
              "  pick another: model=o3_mini, or model=replay model.transcript=FILE for a recorded answer.\n"
              "  --hints DIR       the hint levels (default data/nanogpt_speedrun_knowledge_in_levels)\n"
              "  --config-dir DIR  a config folder searched before the built-in one");
    return 0;
  }
  if (args.empty() || args[0].starts_with("-")) {
    std::fprintf(stderr, "speedrun judge: which run? no run directory given\n  fix: %.*s\n", int(usage_line.size()),
                 usage_line.data());
    return int(sr::ExitCode::usage);
  }
  const fs::path dir(args[0]);
  fs::path hints = default_hints();
  std::vector<std::string_view> rest;
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--hints") {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "speedrun judge: --hints needs a folder\n  fix: %.*s\n", int(usage_line.size()), usage_line.data());
        return int(sr::ExitCode::usage);
      }
      hints = std::string(args[++i]);
      continue;
    }
    rest.push_back(args[i]);
  }
  auto cl = cfg::parse_command_line(rest);
  if (!cl) {
    std::fprintf(stderr, "speedrun judge: %s\n", cl.error().message().c_str());
    return int(cl.error().code);
  }
  auto j = judge_run(dir, hints, *cl);
  if (!j) {
    std::fprintf(stderr, "speedrun judge: %s\n", j.error().message().c_str());
    return int(j.error().code);
  }
  std::printf("judge (%s): %s reproduced %.2f of record %d's change\n", j->model.c_str(), j->node.c_str(), j->score,
              j->record + 1);
  for (const auto& r : j->reasons) std::printf("  - %s\n", r.c_str());
  std::printf("wrote %s\n", (dir / sr::agent::judgement_file).c_str());
  if (std::filesystem::exists(dir / "view.html")) (void)write_run_view(dir, false);
  return 0;
}

}  // namespace speedrun
