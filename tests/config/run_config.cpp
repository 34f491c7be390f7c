// Tests for include/speedrunner/config/run_config.hpp: the saved config.json
// and resume, resolved -> saved -> resumed giving the same config.
#include <speedrunner/config/run_config.hpp>

#include "catch.hpp"
#include "fixtures.hpp"
#include "support.hpp"

namespace cfg = speedrunner::config;
namespace fs = std::filesystem;
using cfg::json::value;
using speedrunner::testing::fixed_resolve;
using speedrunner::testing::TempDir;

namespace {
std::vector<fs::path> shipped() { return {speedrunner::testing::source_root() / "config"}; }
const std::map<std::string, std::string> env{{"OPENAI_API_KEY", "sk-roundtrip-secret"}};

cfg::json::object composed(std::vector<std::string> overrides = {}) {
  auto c = cfg::compose(shipped(), overrides, fixed_resolve(env));
  INFO((c ? std::string() : c.error().message()));
  REQUIRE(c.has_value());
  return *c;
}
std::string read(const fs::path& f) {
  std::ifstream in(f);
  return {std::istreambuf_iterator<char>(in), {}};
}
}  // namespace

TEST_CASE("resolved -> saved -> resumed gives the same config", "[config][run_config]") {
  TempDir run("sr-run");
  for (std::vector<std::string> overrides :
       {std::vector<std::string>{}, {"task=nanogpt_speedrun/default", "task.track=fineweb", "science_runner=scaffold/forest"},
        {"executor=slurm", "budget.usd=10", "+extra={\"a\": [1, 2.5]}"}}) {
    auto original = composed(overrides);
    auto saved = cfg::save_resolved(run.path(), original);
    REQUIRE(saved.has_value());
    CHECK(*saved == run.path() / "config.json");
    auto resumed = cfg::load_for_resume(run.path(), {}, shipped(), fixed_resolve(env));
    INFO((resumed ? std::string() : resumed.error().message()));
    REQUIRE(resumed.has_value());
    CHECK(*resumed == original);
  }
}

TEST_CASE("the saved config never holds a secret", "[config][run_config]") {
  TempDir run("sr-run");
  auto c = composed({"+model.api_key=sk-inline-secret"});
  REQUIRE(c.at("secrets").at("openai_api_key") == value("sk-roundtrip-secret"));
  REQUIRE(cfg::save_resolved(run.path(), c).has_value());
  std::string text = read(run.path() / "config.json");
  CHECK(text.find("sk-roundtrip-secret") == std::string::npos);
  CHECK(text.find("sk-inline-secret") == std::string::npos);
  CHECK(text.find("\"openai_api_key\": \"***\"") != std::string::npos);
  CHECK_FALSE(fs::exists(run.path() / ("config.json.tmp." + std::to_string(::getpid()))));
  // a key redacted outside `secrets` must be given again on resume
  auto missing = cfg::load_for_resume(run.path(), {}, shipped(), fixed_resolve(env));
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().what.find("model.api_key was redacted when the run was saved") != std::string::npos);
  std::vector<std::string> again{"model.api_key=sk-inline-secret"};
  auto ok = cfg::load_for_resume(run.path(), again, shipped(), fixed_resolve(env));
  REQUIRE(ok.has_value());
  CHECK(*ok == c);
}

TEST_CASE("resume reads the keys afresh from the environment", "[config][run_config]") {
  TempDir run("sr-run");
  REQUIRE(cfg::save_resolved(run.path(), composed()).has_value());
  auto r = cfg::load_for_resume(run.path(), {}, shipped(), fixed_resolve({{"OPENAI_API_KEY", "sk-rotated"}}));
  REQUIRE(r.has_value());
  CHECK(r->at("secrets").at("openai_api_key") == value("sk-rotated"));
}

TEST_CASE("resume may raise n_iterations and change budgets", "[config][run_config]") {
  TempDir run("sr-run");
  auto original = composed();
  REQUIRE(cfg::save_resolved(run.path(), original).has_value());
  std::vector<std::string> more{"n_iterations=9", "budget.usd=4.5", "budget.hours=${env:HOURS,2}"};
  auto r = cfg::load_for_resume(run.path(), more, shipped(), fixed_resolve(env));
  INFO((r ? std::string() : r.error().message()));
  REQUIRE(r.has_value());
  CHECK(r->at("n_iterations") == value(9));
  CHECK(r->at("budget").at("usd") == value(4.5));
  CHECK(r->at("budget").at("hours") == value("2"));
  std::vector<std::string> same{"n_iterations=5"};
  CHECK(cfg::load_for_resume(run.path(), same, shipped(), fixed_resolve(env)).has_value());
}

TEST_CASE("resume refuses changes that would corrupt the run, naming the key", "[config][run_config]") {
  TempDir run("sr-run");
  REQUIRE(cfg::save_resolved(run.path(), composed()).has_value());
  auto refuse = [&](std::vector<std::string> overrides) {
    auto r = cfg::load_for_resume(run.path(), overrides, shipped(), fixed_resolve(env));
    REQUIRE_FALSE(r.has_value());
    return r.error();
  };
  auto lower = refuse({"n_iterations=3"});
  CHECK(lower.what.find("n_iterations can only rise on resume (was 5, asked 3)") != std::string::npos);
  auto task = refuse({"task=nanogpt_speedrun/default"});
  CHECK(task.what.find("the task of a run cannot change on resume (it is \"collatz\")") != std::string::npos);
  auto key = refuse({"science_runner.debug_prob=0.1"});
  CHECK(key.what.find("science_runner.debug_prob cannot change on resume (was 0.5, asked 0.1)") != std::string::npos);
  CHECK(key.fix.find("start a new run") != std::string::npos);
  CHECK(refuse({"seed=3"}).what.find("seed cannot change") != std::string::npos);
  CHECK(refuse({"+new_key=1"}).what.find("new_key cannot change") != std::string::npos);
  CHECK(refuse({"~task.env"}).what.find("task.env cannot change") != std::string::npos);
  CHECK(refuse({"choices.task=x"}).what.find("choices.task cannot change") != std::string::npos);
  CHECK(refuse({"n_iteration=9"}).what.find("did you mean n_iterations?") != std::string::npos);
}

TEST_CASE("resume of a folder that is not a run says so", "[config][run_config]") {
  TempDir run("sr-run");
  auto r = cfg::load_for_resume(run.path(), {}, shipped());
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().what.find("no config.json in it") != std::string::npos);
  speedrunner::testing::write_file(run.path() / "config.json", "{\"a\": ");
  CHECK(cfg::load_for_resume(run.path(), {}, shipped()).error().what.find("not valid JSON") != std::string::npos);
}
