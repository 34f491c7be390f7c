// Tests for include/speedrunner/code/whole_file.hpp: whole files in fences.
#include <speedrunner/code/apply.hpp>
#include <speedrunner/code/whole_file.hpp>

#include "catch.hpp"
#include "support.hpp"

#include <fstream>
#include <sstream>

using namespace speedrunner::code;

TEST_CASE("WholeFile models EditFormat", "[code][whole_file]") {
  STATIC_REQUIRE(EditFormat<WholeFile>);
  CHECK(WholeFile::name == "whole");
  CHECK(WholeFile{}.prompt().find("entire new content") != std::string_view::npos);
}

TEST_CASE("whole files parse with their paths, fences of any length", "[code][whole_file]") {
  auto edits = WholeFile{}.parse(
      "Here is the new version.\n\ntrain.py\n```python\nimport os\n\nprint(1)\n```\n\nREADME.md:\n````\n# T\n```sh\nrun\n```\n````\n");
  REQUIRE(edits.has_value());
  REQUIRE(edits->size() == 2);
  CHECK((*edits)[0] == Edit{"train.py", "", "import os\n\nprint(1)\n", Edit::Kind::whole_file});
  CHECK((*edits)[1].path == "README.md");
  CHECK((*edits)[1].replace == "# T\n```sh\nrun\n```\n");
}

TEST_CASE("whole-file answers without a closing fence are refused; without a path they name no file", "[code][whole_file]") {
  // apply_edits gives an unnamed block the only entry file, or refuses it (tests/code/replies.cpp).
  auto no_path = WholeFile{}.parse("Here is the code:\n```python\nx = 1\n```\n");
  REQUIRE(no_path.has_value());
  CHECK((*no_path)[0] == Edit{"", "", "x = 1\n", Edit::Kind::whole_file});
  auto open = WholeFile{}.parse("a.py\n```\nx = 1\n");
  REQUIRE_FALSE(open.has_value());
  CHECK(open.error().what == "the fenced block for a.py (line 2) is never closed");
  CHECK_FALSE(WholeFile{}.parse("no files at all").has_value());
}

TEST_CASE("a whole file replaces content, creates files and round-trips through render", "[code][whole_file]") {
  speedrunner::testing::TempDir dir("sr-whole");
  std::ofstream(dir.path() / "a.py") << "old\r\ncontent\r\n";
  WholeFile format;
  std::string answer = format.render({"a.py", "", "new\ncontent\n", Edit::Kind::whole_file}) +
                       format.render({"b/n.md", "", "```\nfenced\n```\n", Edit::Kind::whole_file});
  auto edits = format.parse(answer);
  REQUIRE(edits.has_value());
  REQUIRE(edits->size() == 2);
  auto report = apply_edits(dir.path(), *edits);
  REQUIRE(report.has_value());
  CHECK(report->ok());
  std::ostringstream a, b;
  a << std::ifstream(dir.path() / "a.py", std::ios::binary).rdbuf();
  b << std::ifstream(dir.path() / "b/n.md", std::ios::binary).rdbuf();
  CHECK(a.str() == "new\r\ncontent\r\n");  // the file's CRLF endings are kept
  CHECK(b.str() == "```\nfenced\n```\n");
  CHECK(report->changed_files == std::vector<std::string>{"a.py", "b/n.md"});
}
