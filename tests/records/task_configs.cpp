// task/nanogpt_speedrun/record_N.json: each composes on both tracks, points at
// its template, lists editable files that exist, and hands run.sh the track's
// validation rule (validation tokens and target loss).
#include <speedrunner/config/compose.hpp>
#include <speedrunner/config/settings.hpp>

#include "catch.hpp"
#include "support.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace cfg = speedrunner::config;
namespace fs = std::filesystem;
using speedrunner::testing::source_root;

namespace {
double calibrated_mini_target(int r) {
  std::ifstream in(source_root() / "workspace_templates" / "nanogpt_speedrun" / ("record_" + std::to_string(r)) /
                   "results.json");
  std::stringstream s;
  s << in.rdbuf();
  std::error_code ec;
  auto doc = boost::json::parse(s.str(), ec);
  return ec ? -1 : doc.at("tracks").at("mini").at("target_val_loss").to_number<double>();
}
}  // namespace

TEST_CASE("each record's task config composes on both tracks with the track's validation rule", "[records][config]") {
  const std::vector<fs::path> tree{source_root() / "config"};
  cfg::ResolveOptions resolve;
  resolve.getenv = [](const std::string&) { return std::optional<std::string>(); };
  REQUIRE(speedrunner::testing::last_record() >= 5);
  for (int r = 1; r <= speedrunner::testing::last_record(); ++r) {
    for (const std::string track : {"mini", "fineweb"}) {
      INFO("record " << r << ", track " << track);
      std::vector<std::string> overrides{"task=nanogpt_speedrun/record_" + std::to_string(r), "task.track=" + track};
      auto c = cfg::compose(tree, overrides, resolve);
      INFO((c ? std::string() : c.error().message()));
      REQUIRE(c);
      auto task = cfg::bind<cfg::TaskSettings>(*c, "task");
      INFO((task ? std::string() : task.error().message()));
      REQUIRE(task);
      CHECK(task->template_dir == "workspace_templates/nanogpt_speedrun/record_" + std::to_string(r));
      CHECK(c->at("task").at("record").to_number<int>() == r);
      for (const auto& f : task->entry_files) {
        INFO(f);
        CHECK(fs::exists(source_root() / task->template_dir / f));
      }
      // mini: the target the templates were calibrated at (results.json); fineweb: the record's own
      const double target = track == "mini" ? calibrated_mini_target(r) : 3.28;
      CHECK(task->metrics_at_most.at("val_loss") == Approx(target));
      CHECK(task->launch_command == (track == "mini" ? "./run.sh 1" : "./run.sh 8"));
      // "VAL_TOKENS TARGET" as run.sh reads it
      const std::string rule = task->env.at("SPEEDRUN_VALIDATION");
      double tokens = 0, loss = 0;
      REQUIRE(std::sscanf(rule.c_str(), "%lf %lf", &tokens, &loss) == 2);
      CHECK(tokens == (track == "mini" ? 1048576 : 10485760));
      CHECK(loss == Approx(target));
    }
  }
}
