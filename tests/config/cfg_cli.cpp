// `speedrun --cfg`: prints the resolved config (secrets as ***), exit 0;
// errors exit 2 with the message and its fix, malformed input included.
#include <speedrunner/config/json.hpp>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "catch.hpp"
#include "fixtures.hpp"
#include "malformed_inputs.hpp"
#include "support.hpp"

using speedrunner::testing::slurp;

namespace cfg = speedrunner::config;
using speedrunner::testing::run_shell;
using speedrunner::testing::speedrun_exe;
using speedrunner::testing::TempDir;
using speedrunner::testing::write_file;

namespace {
std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}
// runs from the source root, as a user of the source tree does
speedrunner::testing::Run cfg_run(const std::string& args) {
  return run_shell("cd " + quote(speedrunner::testing::source_root().string()) + " && " + speedrun_exe() +
                   " --cfg " + args);
}
}  // namespace

TEST_CASE("speedrun --cfg prints the resolved config as JSON", "[config][cli]") {
  auto r = cfg_run("n_iterations=3 'knowledge_src_paths=[a/level_1_*.txt]' science_runner=scaffold/tree");
  INFO(r.output);
  REQUIRE(r.status == 0);
  auto v = cfg::parse_relaxed(r.output, "stdout");
  REQUIRE(v.has_value());
  CHECK(v->at("n_iterations").as_int64() == 3);
  CHECK(v->at("knowledge_src_paths").as_array()[0].as_string() == "a/level_1_*.txt");
  CHECK(v->at("science_runner").at("n_hypotheses").as_int64() == 3);
  CHECK(v->at("choices").at("model").as_string() == "replay");
}

TEST_CASE("speedrun --cfg finds the config tree from any directory", "[config][cli]") {
  TempDir elsewhere("sr-cwd");
  auto r = run_shell("cd " + quote(elsewhere.path().string()) + " && " + speedrun_exe() + " --cfg task=collatz");
  INFO(r.output);
  CHECK(r.status == 0);
}

TEST_CASE("speedrun --cfg shows secrets as ***", "[config][cli]") {
  auto r = run_shell("cd " + quote(speedrunner::testing::source_root().string()) +
                     " && OPENAI_API_KEY=sk-cli-secret-123 " + speedrun_exe() +
                     " --cfg +model.api_key=sk-inline-456");
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(r.output.find("sk-cli-secret-123") == std::string::npos);
  CHECK(r.output.find("sk-inline-456") == std::string::npos);
  CHECK(r.output.find("\"openai_api_key\": \"***\"") != std::string::npos);
  CHECK(r.output.find("\"api_key\": \"***\"") != std::string::npos);
}

TEST_CASE("speedrun --cfg errors exit 2 with the key path and a fix", "[config][cli]") {
  auto r = cfg_run("science_runner.debug_prob=half");
  CHECK(r.status == 2);
  CHECK(r.output.find("science_runner.debug_prob: expected a number in [0, 1], got \"half\"") != std::string::npos);
  CHECK(r.output.find("fix:") != std::string::npos);
  auto g = cfg_run("model=o3_mni");
  CHECK(g.status == 2);
  CHECK(g.output.find("no config model=o3_mni") != std::string::npos);
  CHECK(g.output.find("choices:") != std::string::npos);
}

TEST_CASE("speedrun --config-dir adds the user's own configs", "[config][cli]") {
  TempDir user("sr-user-config");
  write_file(user.path() / "model/my_model.json",
             R"({"provider": "openai", "name": "my-model", "api_key_env": "OPENAI_API_KEY"})");
  auto r = run_shell("cd " + quote(speedrunner::testing::source_root().string()) + " && " + speedrun_exe() +
                     " --config-dir " + quote(user.path().string()) + " --cfg model=my_model");
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(r.output.find("\"name\": \"my-model\"") != std::string::npos);
  auto bad = cfg_run("--config-dir /nonexistent/sr");
  CHECK(bad.status == 2);
  CHECK(bad.output.find("--config-dir /nonexistent/sr: not a directory") != std::string::npos);
}

TEST_CASE("malformed overrides through speedrun --cfg exit 2, never crash", "[config][cli][malformed]") {
  int n = 0;
  for (const auto& arg : speedrunner::testing::malformed_overrides(60, 9)) {
    auto r = cfg_run(quote(arg));
    INFO("override: " << arg << "\n" << r.output);
    CHECK(r.status == 2);
    CHECK(r.output.find("speedrun --cfg: ") != std::string::npos);
    ++n;
  }
  CHECK(n == 60);
}

TEST_CASE("malformed config files through speedrun --cfg exit 2, never crash", "[config][cli][malformed]") {
  TempDir user("sr-user-config");
  int broken = 0;
  for (const auto& text : speedrunner::testing::mutated_json(60, 31)) {
    if (cfg::parse_relaxed(text, "x").has_value()) continue;  // still valid JSON: not this test's case
    write_file(user.path() / "default.json", text);
    auto r = run_shell("cd " + quote(speedrunner::testing::source_root().string()) + " && " + speedrun_exe() +
                       " --config-dir " + quote(user.path().string()) + " --cfg");
    INFO(text << "\n" << r.output);
    CHECK(r.status == 2);
    CHECK(r.output.find("default.json:") != std::string::npos);
    ++broken;
  }
  CHECK(broken > 20);
}

TEST_CASE("the original README's command lines resolve with --cfg, with one note on stderr", "[config][cli][original]") {
  TempDir tmp;
  const std::string err = quote((tmp.path() / "stderr.txt").string());
  // as typed in the original's README: the shell strips the double quotes, the brackets stay
  const std::string readme_aide = "model=o3_mini science_runner=aide task=nanogpt_speedrun/record_1 n_iterations=5";
  const std::string readme_hints =
      "model=o3_mini task=nanogpt_speedrun/speedrun_record_1 "
      "knowledge_src_paths=[\"data/nanogpt_speedrun_knowledge_in_levels/record_1/level_1_*.txt\"]";
  const std::string launcher =
      "task=nanogpt_speedrun/speedrun_record_2 model=o3_mini n_iterations=20 ideator=dummy science_runner=bon "
      "coder_args.edit_format=diff science_runner_args.max_n_nodes=20 science_runner_args.n_hypotheses=3 "
      "science_runner_args.n_initial_hypotheses=1 workspace_args.root_path=/tmp/record_2_ws_1";
  for (const auto& line : {readme_aide, readme_hints, launcher}) {
    INFO(line);
    // in braces, so run_shell's own 2>&1 cannot undo the redirection of the note
    auto r = run_shell("{ cd " + quote(speedrunner::testing::source_root().string()) + " && " + speedrun_exe() +
                       " --cfg " + line + " 2>" + err + "; }");
    INFO(r.output);
    REQUIRE(r.status == 0);
    auto v = cfg::parse_relaxed(r.output, "stdout");
    REQUIRE(v.has_value());
    CHECK(v->at("model").at("name").as_string() == "o3-mini");
    const std::string note = slurp(tmp.path() / "stderr.txt");
    if (line == readme_aide) {
      CHECK(note.empty());
      CHECK(v->at("n_iterations").as_int64() == 5);
      CHECK(v->at("choices").at("science_runner").as_string() == "aide");
    } else if (line == readme_hints) {
      CHECK(v->at("choices").at("task").as_string() == "nanogpt_speedrun/record_1");
      CHECK(v->at("knowledge_src_paths").as_array()[0].as_string() ==
            "data/nanogpt_speedrun_knowledge_in_levels/record_1/level_1_*.txt");
      CHECK(note.find("task=nanogpt_speedrun/speedrun_record_1 -> task=nanogpt_speedrun/record_1") != std::string::npos);
    } else {
      CHECK(v->at("science_runner").at("n_hypotheses").as_int64() == 3);
      CHECK(v->at("science_runner").at("max_n_nodes").as_int64() == 20);
      CHECK(v->at("coder").at("edit_format").as_string() == "diff");
      CHECK(v->at("workspace").at("root").as_string() == "/tmp/record_2_ws_1");
      CHECK(v->at("choices").at("ideator").as_string() == "dummy");
      CHECK(std::count(note.begin(), note.end(), '\n') == 1);  // one note per run
    }
  }
}
