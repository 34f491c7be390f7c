// The hints for each step R -> R+1 (data/nanogpt_speedrun_knowledge_in_levels/record_R):
// all four levels exist, the diff parses as a patch, and the paper has its three parts and cites
// the templates' main mini-track calibration (card and median times from their results.json).
#include <speedrunner/code/patch_coder.hpp>
#include <speedrunner/metrics/run_scores.hpp>

#include "catch.hpp"
#include "support.hpp"

#include <cmath>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

TEST_CASE("every step from record 1 to 5 has hints at levels 0 to 3", "[records][hints]") {
  const fs::path root = speedrunner::testing::source_root() / "data" / "nanogpt_speedrun_knowledge_in_levels";
  for (int r = 1; r <= 4; ++r) {
    auto read = [&](const char* name) {
      std::ifstream in(root / ("record_" + std::to_string(r)) / name);
      std::stringstream s;
      s << in.rdbuf();
      return s.str();
    };
    INFO("record " << r);
    auto patch = speedrunner::code::parse_patch(read("level_0_diff.txt"));
    REQUIRE(patch);
    CHECK(patch->size() >= 3);
    const std::string step = "Record " + std::to_string(r) + " -> record " + std::to_string(r + 1);
    CHECK(read("level_1_pseudo.txt").find(step) != std::string::npos);
    CHECK(read("level_2_description.txt").starts_with(step));
    const std::string paper = read("level_3_paper.txt");
    for (const char* part : {"## Motivation", "## Method", "## Results"}) CHECK(paper.find(part) != std::string::npos);
    // results name their source: the public record, and our measurement with its card and times
    CHECK(paper.find("Public record") != std::string::npos);
    const fs::path templates = speedrunner::testing::source_root() / "workspace_templates" / "nanogpt_speedrun";
    for (int rec : {r, r + 1}) {
      auto results = speedrunner::metrics::detail::read_json(
          templates / ("record_" + std::to_string(rec)) / "results.json", "");
      REQUIRE(results);
      const auto& mini = results->at("tracks").at("mini");
      const auto card = speedrunner::metrics::card_model(mini.at("card").as_string());
      CHECK(paper.find(card) != std::string::npos);
      const long ms = std::lround(mini.at("train_time_ms").to_number<double>());
      const std::string median = ms >= 1000 ? std::to_string(ms / 1000) + "," + std::to_string(ms % 1000 + 1000).substr(1)
                                            : std::to_string(ms);
      INFO("record " << rec << "'s median " << median);
      CHECK(paper.find(median) != std::string::npos);
    }
  }
}
