// The oracle check of the NanoGPT task (data/nanogpt_speedrun_knowledge_in_levels
// level_0_diff.txt with PatchCoder): record R's template plus its level-0 diff
// is record R+1's template, byte for byte; and the committed diffs are fresh.
#include <speedrunner/code/patch_coder.hpp>

#include "catch.hpp"
#include "support.hpp"

#include <fstream>
#include <map>
#include <sstream>

namespace fs = std::filesystem;
namespace code = speedrunner::code;
using speedrunner::testing::slurp;
using speedrunner::testing::source_root;
using speedrunner::testing::TempDir;

namespace {

const fs::path templates = source_root() / "workspace_templates" / "nanogpt_speedrun";
const fs::path hints = source_root() / "data" / "nanogpt_speedrun_knowledge_in_levels";

// What a template holds for the diff: every file but build outputs and the measured results.json.
bool part_of_code(const fs::path& rel) {
  const std::string s = rel.generic_string();
  return s != "results.json" && s != "summary.json" && !s.starts_with("build/");
}

std::map<std::string, std::string> files_of(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const auto rel = fs::relative(e.path(), dir);
    if (!part_of_code(rel)) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    out[rel.generic_string()] = s.str();
  }
  return out;
}

}  // namespace

TEST_CASE("record R's template plus its level-0 diff, applied by PatchCoder, is record R+1's template byte for byte",
          "[records][patch][oracle]") {
  REQUIRE(speedrunner::testing::last_record() >= 5);
  for (int r = 1; r < speedrunner::testing::last_record(); ++r) {
    INFO("record " << r << " -> " << r + 1);
    TempDir work;
    const fs::path version = work.path() / "v_1";
    fs::create_directories(version);
    for (const auto& [rel, bytes] : files_of(templates / ("record_" + std::to_string(r)))) {
      fs::create_directories((version / rel).parent_path());
      std::ofstream(version / rel, std::ios::binary) << bytes;
    }
    auto coder = code::PatchCoder::from_file(hints / ("record_" + std::to_string(r)) / "level_0_diff.txt");
    STATIC_REQUIRE(code::Coder<code::PatchCoder>);
    code::CodeRequest request;
    request.version_dir = version;
    auto outcome = coder.implement(request);
    REQUIRE(outcome);
    // only a step that changes no code (its hint says so) changes no file
    CHECK(outcome->changed_files.empty() ==
          code::detail::declares_no_change(slurp(hints / ("record_" + std::to_string(r)) / "level_0_diff.txt")));
    const auto got = files_of(version);
    const auto want = files_of(templates / ("record_" + std::to_string(r + 1)));
    std::vector<std::string> got_names, want_names;
    for (const auto& [k, v] : got) got_names.push_back(k);
    for (const auto& [k, v] : want) want_names.push_back(k);
    REQUIRE(got_names == want_names);
    for (const auto& [rel, bytes] : want) {
      INFO(rel);
      CHECK(got.at(rel) == bytes);
    }
  }
}

TEST_CASE("the committed level-0 diffs match the templates (scripts/records/gen-level0 --check)", "[records][patch]") {
  auto r = speedrunner::testing::run_shell("cd '" + source_root().string() + "' && scripts/records/gen-level0 --check");
  INFO(r.output);
  CHECK(r.status == 0);
}
