// A generated batch of malformed JSON files and overrides: each must give an
// error value (never a crash, never a silent success) in-process. The same
// batch through `speedrun --cfg` is in cfg_cli.cpp.
#include <speedrunner/config/compose.hpp>
#include <speedrunner/config/settings.hpp>

#include "catch.hpp"
#include "fixtures.hpp"
#include "malformed_inputs.hpp"
#include "support.hpp"

namespace cfg = speedrunner::config;
namespace fs = std::filesystem;
using speedrunner::testing::fixed_resolve;
using speedrunner::testing::TempDir;
using speedrunner::testing::write_file;

TEST_CASE("every truncation of a config file is an error naming the file", "[config][malformed]") {
  const std::string text = speedrunner::testing::valid_task_json();
  TempDir dir("sr-malformed");
  write_file(dir.path() / "default.json", R"({"defaults": [{"task": "t"}]})");
  std::vector<fs::path> search{dir.path()};
  int errors = 0;
  for (std::size_t cut = 0; cut < text.size(); ++cut) {
    std::string prefix = text.substr(0, cut);
    write_file(dir.path() / "task/t.json", prefix);
    auto c = cfg::compose(search, {}, fixed_resolve());
    INFO("cut at " << cut << ": " << prefix);
    REQUIRE_FALSE(c.has_value());
    CHECK(c.error().what.find("task/t.json") != std::string::npos);
    ++errors;
  }
  CHECK(errors == int(text.size()));
}

TEST_CASE("mutated config files give an error or a config, never a crash", "[config][malformed]") {
  TempDir dir("sr-malformed");
  write_file(dir.path() / "default.json", R"({"defaults": [{"task": "t"}]})");
  std::vector<fs::path> search{dir.path()};
  int invalid = 0, total = 0;
  for (const auto& text : speedrunner::testing::mutated_json(400, 20250304)) {
    write_file(dir.path() / "task/t.json", text);
    bool parses = cfg::parse_relaxed(text, "x").has_value();
    auto c = cfg::compose(search, {}, fixed_resolve());
    ++total;
    if (!parses) {
      ++invalid;
      INFO(text);
      REQUIRE_FALSE(c.has_value());
      CHECK_FALSE(c.error().what.empty());
    } else if (c.has_value()) {
      (void)cfg::check_settings(*c);  // binding arbitrary shapes must not crash either
    }
  }
  CHECK(invalid > total / 2);  // the batch is mostly broken text, so it tests the error paths
}

TEST_CASE("malformed overrides are errors, never crashes", "[config][malformed]") {
  std::vector<fs::path> search{speedrunner::testing::source_root() / "config"};
  int n = 0;
  for (const auto& arg : speedrunner::testing::malformed_overrides(300, 77)) {
    std::vector<std::string> args{arg};
    auto c = cfg::compose(search, args, fixed_resolve());
    bool failed = !c.has_value() || !cfg::check_settings(*c).has_value();
    INFO("override: " << arg);
    CHECK(failed);
    ++n;
  }
  CHECK(n == 300);
}
