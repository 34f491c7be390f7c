// Tests for include/speedrunner/config/settings.hpp: the shipped runners and
// scaffold presets carry the benchmark's numbers, and settings errors surface.
#include <speedrunner/config/compose.hpp>
#include <speedrunner/config/settings.hpp>

#include "catch.hpp"
#include "fixtures.hpp"
#include "support.hpp"

namespace cfg = speedrunner::config;
using speedrunner::testing::fixed_resolve;

namespace {
cfg::json::object compose(std::vector<std::string> overrides) {
  std::vector<std::filesystem::path> dirs{speedrunner::testing::source_root() / "config"};
  auto c = cfg::compose(dirs, overrides, fixed_resolve());
  INFO((c ? std::string() : c.error().message()));
  REQUIRE(c.has_value());
  return *c;
}
struct Expect {
  const char* option;
  cfg::SearchStrategy strategy;
  int initial, per_step, max_nodes;
  double debug_prob;
  int bug_depth, n_iterations;
  bool summarize;
};
}  // namespace

TEST_CASE("science runners and scaffold presets carry the benchmark's settings", "[config][settings]") {
  using S = cfg::SearchStrategy;
  const Expect expected[] = {
      {"bon", S::bon, 1, 1, 20, 0.0, 3, 5, false},
      {"aide", S::aide, 5, 1, 20, 0.5, 3, 5, false},
      // the paper's scaffolds: 20 iterations (flat: 20 drafts in one), at most 20 nodes, log summaries on
      {"scaffold/flat", S::bon, 20, 1, 20, 0.0, 3, 1, true},
      {"scaffold/tree", S::bon, 1, 3, 20, 0.0, 3, 20, true},
      {"scaffold/forest", S::bon, 3, 3, 20, 0.0, 3, 20, true},
      {"scaffold/aide", S::aide, 3, 1, 20, 0.5, 5, 20, true},
      {"scaffold/multi_aide", S::aide, 3, 3, 20, 0.5, 5, 20, true},
  };
  for (const auto& e : expected) {
    INFO(e.option);
    auto c = compose({std::string("science_runner=") + e.option});
    auto s = cfg::bind<cfg::ScienceRunnerSettings>(c, "science_runner").value();
    CHECK(s.strategy == e.strategy);
    CHECK(s.n_initial_hypotheses == e.initial);
    CHECK(s.n_hypotheses == e.per_step);
    CHECK(s.max_n_nodes == e.max_nodes);
    CHECK(s.debug_prob == e.debug_prob);
    CHECK(s.max_bug_depth == e.bug_depth);
    CHECK(s.max_retries == 3);
    CHECK(s.improve_from == cfg::ImproveRule::global_best);
    CHECK(cfg::bind<cfg::RunSettings>(c, "").value().n_iterations == e.n_iterations);
    CHECK(cfg::bind<cfg::RunSettings>(c, "").value().analysis.summarize == e.summarize);
  }
  // a command-line n_iterations still wins over a preset's budget
  CHECK(cfg::bind<cfg::RunSettings>(compose({"science_runner=scaffold/aide", "n_iterations=5"}), "").value().n_iterations == 5);
}

TEST_CASE("the original's improve rule is a config choice", "[config][settings]") {
  auto c = compose({"science_runner=scaffold/tree", "science_runner.improve_from=latest_iteration"});
  CHECK(cfg::bind<cfg::ScienceRunnerSettings>(c, "science_runner").value().improve_from ==
        cfg::ImproveRule::latest_iteration);
  auto bad = cfg::bind<cfg::ScienceRunnerSettings>(compose({"science_runner.improve_from=best"}), "science_runner");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().what.find("improve_from") != std::string::npos);
}

TEST_CASE("the paper's fixed defaults: 30,000 characters of log and 5 reflections", "[config][settings]") {
  auto c = compose({});
  CHECK(cfg::bind<cfg::LocalExecutorSettings>(c, "executor").value().log_tail_chars == 30000);
  CHECK(cfg::bind<cfg::AiderCoderSettings>(c, "coder").value().max_reflections == 5);
  CHECK(cfg::bind<cfg::SlurmExecutorSettings>(compose({"executor=slurm"}), "executor").value().log_tail_chars == 30000);
}

TEST_CASE("run-level settings bind from the top of the tree", "[config][settings]") {
  auto c = compose({"n_iterations=12", "budget.usd=2.5", "seed=7",
                    "knowledge_src_paths=[data/nanogpt_speedrun_knowledge_in_levels/record_1/level_1_*.txt]"});
  auto run = cfg::bind<cfg::RunSettings>(c, "").value();
  CHECK(run.n_iterations == 12);
  CHECK(run.seed == 7u);
  CHECK(*run.budget.usd == 2.5);
  CHECK_FALSE(run.budget.hours.has_value());
  CHECK(run.knowledge_src_paths ==
        std::vector<std::string>{"data/nanogpt_speedrun_knowledge_in_levels/record_1/level_1_*.txt"});
  CHECK(run.workspace.root.starts_with("workspaces/collatz_"));
}

TEST_CASE("executors bind as their own kind", "[config][settings]") {
  auto local = cfg::bind<cfg::LocalExecutorSettings>(compose({}), "executor").value();
  CHECK(local.kind == cfg::ExecutorKind::local);
  auto slurm_cfg = compose({"executor=slurm", "executor.partition=gpu"});
  auto slurm = cfg::bind<cfg::SlurmExecutorSettings>(slurm_cfg, "executor").value();
  CHECK(slurm.partition == "gpu");
  CHECK_FALSE(slurm.account.has_value());
  CHECK(cfg::check_settings(slurm_cfg).has_value());
}

TEST_CASE("coders bind as their own kind, and an unknown kind names the choices", "[config][settings]") {
  auto aider = cfg::bind<cfg::AiderCoderSettings>(compose({}), "coder").value();
  CHECK(aider.kind == cfg::CoderKind::aider);
  CHECK(aider.edit_format == "diff");
  auto patch_cfg = compose({"coder=patch"});
  CHECK(cfg::bind<cfg::PatchCoderSettings>(patch_cfg, "coder").value().kind == cfg::CoderKind::patch);
  CHECK(cfg::check_settings(patch_cfg).has_value());
  CHECK(cfg::check_settings(compose({"coder.kind=patcher"})).error().what ==
        "coder.kind: expected one of aider, patch, got \"patcher\" (did you mean patch?)");
  // the patch coder has no model, so Aider's keys are refused rather than ignored
  CHECK(cfg::check_settings(compose({"coder=patch", "+coder.edit_format=diff"})).error().what.starts_with(
      "coder.edit_format: unknown key"));
}

TEST_CASE("check_settings reports the first bad value with its key path", "[config][settings]") {
  auto bad = compose({"science_runner.debug_prob=half"});
  auto r = cfg::check_settings(bad);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().what == "science_runner.debug_prob: expected a number in [0, 1], got \"half\"");
  CHECK(cfg::check_settings(compose({"n_iterations=-1"})).error().what ==
        "n_iterations: expected an integer >= 0, got -1");
  CHECK(cfg::check_settings(compose({"executor.max_parallel=0"})).error().what ==
        "executor.max_parallel: expected an integer >= 1, got 0");
  CHECK(cfg::check_settings(compose({"task.selection.direction=up"})).error().what ==
        "task.selection.direction: expected one of higher, lower, got \"up\"");
  CHECK(cfg::check_settings(compose({"+science_runner.debug_probability=0.1"})).error().what.starts_with(
      "science_runner.debug_probability: unknown key (did you mean debug_prob?)"));
}

TEST_CASE("the Slurm executor's memory is a size Slurm reads, and its requeues a count", "[config][settings]") {
  CHECK(cfg::check_settings(compose({"executor=slurm"})).has_value());  // mem null: the cluster's default
  for (const char* ok : {"executor.mem=64G", "executor.mem=4096M", "executor.mem=500m", "executor.max_requeues=0"})
    CHECK(cfg::check_settings(compose({"executor=slurm", ok})).has_value());
  for (const char* bad : {"executor.mem=lots", "executor.mem=64GB", "executor.mem=G", "executor.mem=-1G"}) {
    INFO(bad);
    auto r = cfg::check_settings(compose({"executor=slurm", bad}));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().what.starts_with("executor.mem: expected a memory size such as 64G or 4096M, got"));
    CHECK(r.error().fix.find("K, M, G or T") != std::string::npos);
  }
  CHECK(cfg::check_settings(compose({"executor=slurm", "executor.max_requeues=-1"})).error().what ==
        "executor.max_requeues: expected an integer >= 0, got -1");
}
