// Tests for include/speedrunner/config/original.hpp: the original benchmark's
// task, model and key names are read as ours, with one note; its keys without
// a counterpart here are refused by name.
#include <speedrunner/config/compose.hpp>
#include <speedrunner/config/original.hpp>

#include "catch.hpp"
#include "fixtures.hpp"
#include "support.hpp"

namespace cfg = speedrunner::config;

namespace {
cfg::OriginalMapping mapped(std::vector<std::string> args) {
  auto m = cfg::map_original(args);
  INFO((m ? std::string() : m.error().message()));
  REQUIRE(m.has_value());
  return *m;
}
}  // namespace

TEST_CASE("our own names pass unchanged and need no note", "[config][original]") {
  auto m = mapped({"task=nanogpt_speedrun/record_1", "model=o3_mini", "science_runner.max_n_nodes=20"});
  CHECK(m.overrides == std::vector<std::string>{"task=nanogpt_speedrun/record_1", "model=o3_mini",
                                                "science_runner.max_n_nodes=20"});
  CHECK(m.note.empty());
}

TEST_CASE("the original's launcher keys become ours, in one note", "[config][original]") {
  auto m = mapped({"task=nanogpt_speedrun/speedrun_record_3", "model=claude_4_sonnet", "coder_args.edit_format=diff",
                   "science_runner_args.max_n_nodes=20", "science_runner_args.debug_prob=0.5",
                   "workspace_args.root_path=/tmp/ws_1", "+science_runner_args.knowledge_pass_to_coder=True",
                   "exp_config_args.lower_is_better=False", "slurm_config_args.qos=high"});
  CHECK(m.overrides ==
        std::vector<std::string>{"executor=slurm", "task=nanogpt_speedrun/record_3", "model=claude_sonnet_4",
                                 "coder.edit_format=diff", "science_runner.max_n_nodes=20",
                                 "science_runner.debug_prob=0.5", "workspace.root=/tmp/ws_1",
                                 "+knowledge_pass_to_coder=True", "task.selection.direction=higher",
                                 "executor.qos=high"});
  CHECK(m.note.starts_with("note: the original benchmark's names, read as ours: "));
  CHECK(m.note.find("workspace_args.root_path=/tmp/ws_1 -> workspace.root=/tmp/ws_1") != std::string::npos);
  CHECK(m.note.find("slurm_config_args.* -> executor=slurm") != std::string::npos);
  CHECK(m.note.find('\n') == std::string::npos);  // one line
}

TEST_CASE("an original key without a counterpart is refused by name", "[config][original]") {
  auto m = cfg::map_original(std::vector<std::string>{"coder_args.use_temperature=0.6"});
  REQUIRE_FALSE(m.has_value());
  CHECK(m.error().what.find("coder_args.use_temperature is a key of the original benchmark") != std::string::npos);
  CHECK(m.error().fix.find("coder_args.edit_format") != std::string::npos);
  auto b = cfg::map_original(std::vector<std::string>{"exp_config_args.lower_is_better=maybe"});
  REQUIRE_FALSE(b.has_value());
  CHECK(b.error().what.find("takes true or false") != std::string::npos);
}

TEST_CASE("a command line of the original composes to our tree", "[config][original]") {
  std::vector<std::string_view> args{"task=nanogpt_speedrun/speedrun_record_1", "science_runner=aide",
                                     "model=o3_mini", "n_iterations=5",
                                     "science_runner_args.n_initial_hypotheses=3",
                                     "knowledge_src_paths=[\"data/nanogpt_speedrun_knowledge_in_levels/record_1/level_1_*.txt\"]"};
  auto cl = cfg::parse_command_line(args);
  REQUIRE(cl.has_value());
  CHECK_FALSE(cl->original_note.empty());
  std::vector<std::filesystem::path> dirs{speedrunner::testing::source_root() / "config"};
  auto c = cfg::compose(dirs, cl->overrides, speedrunner::testing::fixed_resolve());
  INFO((c ? std::string() : c.error().message()));
  REQUIRE(c.has_value());
  CHECK(c->at("choices").at("task").as_string() == "nanogpt_speedrun/record_1");
  CHECK(c->at("science_runner").at("n_initial_hypotheses").as_int64() == 3);
  CHECK(c->at("n_iterations").as_int64() == 5);
  CHECK(c->at("knowledge_src_paths").as_array()[0].as_string() ==
        "data/nanogpt_speedrun_knowledge_in_levels/record_1/level_1_*.txt");
}
