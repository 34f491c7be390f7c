// The hints for each step R -> R+1 (data/nanogpt_speedrun_knowledge_in_levels/record_R):
// all four levels exist, the diff parses as a patch, and the paper has its three parts and cites
// the templates' main mini-track calibration (card and median times from their results.json,
// written by scripts/records/gen-level3-results). The texts name only files the two templates
// have, and the Muon notes (level 9 of 2 -> 3 and 3 -> 4) carry the code's coefficients.
#include <speedrunner/code/patch_coder.hpp>
#include <speedrunner/metrics/run_scores.hpp>

#include "catch.hpp"
#include "support.hpp"

#include <cctype>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using speedrunner::testing::slurp;

namespace fs = std::filesystem;

namespace {

// Source file names a text mentions (foo.cuh, gpt2_config.hpp, run.sh, ...).
std::vector<std::string> file_names(const std::string& text) {
  std::vector<std::string> names;
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  for (std::size_t dot = text.find('.'); dot != std::string::npos; dot = text.find('.', dot + 1)) {
    std::size_t begin = dot, end = dot + 1;
    while (begin > 0 && word(text[begin - 1])) --begin;
    while (end < text.size() && word(text[end])) ++end;
    const std::string ext = text.substr(dot + 1, end - dot - 1);
    if (begin < dot && (ext == "cuh" || ext == "cu" || ext == "hpp" || ext == "cpp" || ext == "sh"))
      names.push_back(text.substr(begin, end - begin));
  }
  return names;
}

}  // namespace

TEST_CASE("every step R -> R+1 of the templates present has hints at levels 0 to 3", "[records][hints]") {
  const fs::path root = speedrunner::testing::source_root() / "data" / "nanogpt_speedrun_knowledge_in_levels";
  REQUIRE(speedrunner::testing::last_record() >= 5);
  for (int r = 1; r < speedrunner::testing::last_record(); ++r) {
    auto read = [&](const char* name) { return slurp(root / ("record_" + std::to_string(r)) / name); };
    INFO("record " << r);
    const std::string diff = read("level_0_diff.txt");
    if (speedrunner::code::detail::declares_no_change(diff)) {
      // a step that changes no code (record 7 is record 6's code): the level-0 oracle test checks
      // that the two templates are the same files
      CHECK(diff.find("record " + std::to_string(r + 1) + "'s template is record " + std::to_string(r) + "'s") !=
            std::string::npos);
    } else {
      auto patch = speedrunner::code::parse_patch(diff);
      REQUIRE(patch);
      CHECK(patch->size() >= 3);
    }
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

TEST_CASE("the hints name only files of their two templates", "[records][hints]") {
  const fs::path root = speedrunner::testing::source_root();
  const fs::path templates = root / "workspace_templates" / "nanogpt_speedrun";
  for (int r = 1; r < speedrunner::testing::last_record(); ++r) {
    const fs::path dir = root / "data" / "nanogpt_speedrun_knowledge_in_levels" / ("record_" + std::to_string(r));
    for (const char* level : {"level_1_pseudo.txt", "level_2_description.txt", "level_3_paper.txt", "level_9_muon.txt"}) {
      if (!fs::exists(dir / level)) continue;
      for (const auto& name : file_names(slurp(dir / level))) {
        INFO("record " << r << " " << level << " names " << name);
        CHECK((fs::exists(templates / ("record_" + std::to_string(r)) / name) ||
               fs::exists(templates / ("record_" + std::to_string(r + 1)) / name)));
      }
    }
  }
}

TEST_CASE("steps 2 -> 3 and 3 -> 4 carry a Muon note with the code's Newton-Schulz coefficients", "[records][hints]") {
  const fs::path root = speedrunner::testing::source_root();
  for (int r : {2, 3}) {
    INFO("record " << r);
    const std::string note =
        slurp(root / "data" / "nanogpt_speedrun_knowledge_in_levels" / ("record_" + std::to_string(r)) / "level_9_muon.txt");
    REQUIRE(!note.empty());
    CHECK(note.find("record " + std::to_string(r) + " -> record " + std::to_string(r + 1)) != std::string::npos);
    // muon.cpp of the step's new record: constexpr float ns_a = A, ns_b = B, ns_c = C;
    const std::string code =
        slurp(root / "workspace_templates" / "nanogpt_speedrun" / ("record_" + std::to_string(r + 1)) / "muon.cpp");
    std::string triple;
    for (const char* name : {"ns_a = ", "ns_b = ", "ns_c = "}) {
      const auto at = code.find(name);
      REQUIRE(at != std::string::npos);
      const auto begin = at + std::string(name).size(), end = code.find_first_of("f,;", begin);
      triple += (triple.empty() ? "(" : ", ") + code.substr(begin, end - begin);
    }
    triple += ")";
    INFO("coefficients " << triple);
    CHECK(note.find(triple) != std::string::npos);
  }
}

TEST_CASE("the level-3 measurement paragraphs match results.json (scripts/records/gen-level3-results --check)",
          "[records][hints]") {
  auto r = speedrunner::testing::run_shell("cd '" + speedrunner::testing::source_root().string() +
                                           "' && scripts/records/gen-level3-results --check");
  INFO(r.output);
  CHECK(r.status == 0);
}
