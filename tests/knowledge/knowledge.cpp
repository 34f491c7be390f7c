// Tests for include/speedrunner/knowledge/knowledge.hpp: files and globs from
// knowledge_src_paths, cleaning, rendering, errors naming the pattern.
#include <speedrunner/knowledge/knowledge.hpp>

#include <fstream>

#include "catch.hpp"
#include "support.hpp"

namespace knowledge = speedrunner::knowledge;
namespace fs = std::filesystem;
using speedrunner::testing::TempDir;

namespace {
const std::string levels = "data/nanogpt_speedrun_knowledge_in_levels/record_1";

void write(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << text;
}

// A project root holding hint files for record 1 -> 2 at four levels.
struct HintTree {
  TempDir dir;
  HintTree() {
    write(dir.path() / levels / "level_0_diff.txt", "-lr = 6e-4\n+lr = 1.8e-3\n");
    write(dir.path() / levels / "level_1_pseudocode.txt",
          "\xEF\xBB\xBF\r\n\r\nfor each step:\r\n    rotate q, k   \r\n\r\n\r\n\r\n    step optimizer\r\n\r\n");
    write(dir.path() / levels / "level_1_schedule.txt", "lr: triple it\n");
    write(dir.path() / levels / "level_2_description.txt", "Rotary embeddings replace learned positions.\n");
  }
  [[nodiscard]] const fs::path& root() const { return dir.path(); }
};
}  // namespace

TEST_CASE("a glob reads its files in name order, cleaned and headed by their names", "[knowledge]") {
  HintTree tree;
  auto k = knowledge::load({levels + "/level_1_*.txt"}, tree.root());
  REQUIRE(k.has_value());
  REQUIRE(k->sources.size() == 2);
  CHECK(k->sources[0].name == levels + "/level_1_pseudocode.txt");
  CHECK(k->sources[0].text == "for each step:\n    rotate q, k\n\n    step optimizer");
  CHECK(k->sources[1].name == levels + "/level_1_schedule.txt");
  CHECK(k->render() == "=== " + levels + "/level_1_pseudocode.txt ===\n"
                       "for each step:\n    rotate q, k\n\n    step optimizer\n"
                       "\n=== " + levels + "/level_1_schedule.txt ===\nlr: triple it\n");
}

TEST_CASE("a diff hint is kept byte for byte: trailing spaces and blank context lines matter to it",
          "[knowledge]") {
  TempDir dir;
  // an added line ending in spaces, two blank context lines (" ") in a row, a CRLF line
  const std::string diff =
      "diff --git a/run.sh b/run.sh\n--- a/run.sh\n+++ b/run.sh\n@@ -1,4 +1,4 @@\n"
      "-lr=6e-4\n+lr=1.8e-3  \n \n \n tail\r\n";
  write(dir.path() / "level_0_diff.txt", diff + "\n");
  write(dir.path() / "notes.txt", "prose  \n\n\n\nstill prose\n");
  auto k = knowledge::load({"level_0_diff.txt", "notes.txt"}, dir.path());
  REQUIRE(k.has_value());
  REQUIRE(k->sources.size() == 2);
  CHECK(k->sources[0].text == diff.substr(0, diff.size() - 1));  // only the final line breaks go
  CHECK(k->render().find(diff) != std::string::npos);             // and the rendering restores one
  CHECK(k->sources[1].text == "prose\n\nstill prose");         // prose is still cleaned
}

TEST_CASE("several patterns keep their order and read each file once", "[knowledge]") {
  HintTree tree;
  auto k = knowledge::load({levels + "/level_2_description.txt", levels + "/level_*.txt"}, tree.root());
  REQUIRE(k.has_value());
  std::vector<std::string> names;
  for (const auto& s : k->sources) names.push_back(s.name.substr(levels.size() + 1));
  CHECK(names == std::vector<std::string>{"level_2_description.txt", "level_0_diff.txt", "level_1_pseudocode.txt",
                                          "level_1_schedule.txt"});
}

TEST_CASE("an absolute path is named as given", "[knowledge]") {
  HintTree tree;
  auto file = (tree.root() / levels / "level_0_diff.txt").string();
  auto k = knowledge::load({file}, "/somewhere/else");
  REQUIRE(k.has_value());
  REQUIRE(k->sources.size() == 1);
  CHECK(k->sources[0].name == file);
  CHECK(k->sources[0].text == "-lr = 6e-4\n+lr = 1.8e-3");
}

TEST_CASE("no knowledge renders as nothing", "[knowledge]") {
  auto k = knowledge::load({}, "/");
  REQUIRE(k.has_value());
  CHECK(k->empty());
  CHECK(k->render().empty());
}

TEST_CASE("a missing file or an empty glob is an error naming the pattern", "[knowledge][errors]") {
  HintTree tree;
  auto missing = knowledge::load({levels + "/level_3_paper.txt"}, tree.root());
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().what == "knowledge_src_paths: nothing matches " + levels + "/level_3_paper.txt (looked under " +
                                    tree.root().string() + ")");
  CHECK_FALSE(missing.error().fix.empty());
  auto empty_glob = knowledge::load({levels + "/level_9_*.txt"}, tree.root());
  REQUIRE_FALSE(empty_glob.has_value());
  CHECK(empty_glob.error().what.starts_with("knowledge_src_paths: nothing matches " + levels + "/level_9_*.txt"));
}

TEST_CASE("folders, binary and empty files are refused by name", "[knowledge][errors]") {
  HintTree tree;
  auto folder = knowledge::load({levels}, tree.root());
  REQUIRE_FALSE(folder.has_value());
  CHECK(folder.error().what == "knowledge_src_paths: " + levels + " is a folder");
  CHECK(folder.error().fix == "name the files, or a glob such as " + levels + "/*.txt");
  write(tree.root() / "hints/shard.bin", std::string("\x20\x4d\x00\x01", 4));
  auto binary = knowledge::load({"hints/shard.bin"}, tree.root());
  REQUIRE_FALSE(binary.has_value());
  CHECK(binary.error().what == "knowledge_src_paths: hints/shard.bin is not a text file (it holds NUL bytes)");
  write(tree.root() / "hints/blank.txt", " \n\r\n\t\n");
  auto blank = knowledge::load({"hints/*.txt"}, tree.root());
  REQUIRE_FALSE(blank.has_value());
  CHECK(blank.error().what == "knowledge_src_paths: hints/blank.txt is empty");
}

TEST_CASE("glob characters in the root folder are taken literally", "[knowledge]") {
  TempDir dir;
  auto root = dir.path() / "run[1]";
  write(root / "hint.txt", "use bf16\n");
  auto k = knowledge::load({"*.txt"}, root);
  REQUIRE(k.has_value());
  REQUIRE(k->sources.size() == 1);
  CHECK(k->sources[0].name == "hint.txt");
}

TEST_CASE("knowledge goes to the coder only when asked", "[knowledge]") {
  HintTree tree;
  knowledge::Settings settings{{levels + "/level_2_*.txt"}, false};
  auto ideator_only = knowledge::render_for_agents(settings, tree.root());
  REQUIRE(ideator_only.has_value());
  CHECK(ideator_only->ideator.find("Rotary embeddings") != std::string::npos);
  CHECK(ideator_only->coder.empty());
  settings.pass_to_coder = true;
  auto both = knowledge::render_for_agents(settings, tree.root());
  REQUIRE(both.has_value());
  CHECK(both->coder == both->ideator);
  settings.src_paths.push_back("nope/*.md");
  CHECK_FALSE(knowledge::render_for_agents(settings, tree.root()).has_value());
}

TEST_CASE("a device, a pipe or an oversized file is refused as a hint before it is read",
          "[knowledge][bad_input]") {
  TempDir tmp;
  auto dev = knowledge::load({"/dev/zero"}, tmp.path());
  REQUIRE_FALSE(dev.has_value());
  CHECK(dev.error().what.find("/dev/zero is not a regular file") != std::string::npos);
  {
    std::ofstream big(tmp.path() / "big.txt");
    big << std::string(knowledge::max_hint_bytes + 1, 'x');
  }
  auto large = knowledge::load({"big.txt"}, tmp.path());
  REQUIRE_FALSE(large.has_value());
  CHECK(large.error().what.find("big.txt holds") != std::string::npos);
}
