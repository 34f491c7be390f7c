// `speedrun --cfg`: prints the resolved config (secrets as ***), exit 0;
// errors exit 2 with the message and its fix, malformed input included.
#include <speedrunner/config/json.hpp>

#include "catch.hpp"
#include "fixtures.hpp"
#include "malformed_inputs.hpp"
#include "support.hpp"

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
