// Tests for include/speedrunner/code/search_replace.hpp: parsing answers in the
// SEARCH/REPLACE format, its variants and its malformed cases.
#include <speedrunner/code/search_replace.hpp>

#include "catch.hpp"

using speedrunner::code::Edit;
using speedrunner::code::EditFormat;
using speedrunner::code::SearchReplace;

TEST_CASE("SearchReplace models EditFormat", "[code][search_replace]") {
  STATIC_REQUIRE(EditFormat<SearchReplace>);
  CHECK(SearchReplace::name == "diff");
  CHECK(SearchReplace{}.prompt().find("Only the first match") != std::string_view::npos);
}

TEST_CASE("a block with the path before the fence parses into one edit", "[code][search_replace]") {
  auto edits = SearchReplace{}.parse(
      "I will raise the learning rate.\n\ntrain.py\n```python\n<<<<<<< SEARCH\n    lr = 0.02\n=======\n"
      "    lr = 0.03\n>>>>>>> REPLACE\n```\nDone.\n");
  REQUIRE(edits.has_value());
  REQUIRE(edits->size() == 1);
  CHECK((*edits)[0] == Edit{"train.py", "    lr = 0.02\n", "    lr = 0.03\n", Edit::Kind::search_replace});
}

TEST_CASE("the path may be the fence's first line", "[code][search_replace]") {
  auto edits = SearchReplace{}.parse("```python\nsrc/model.py\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n```\n");
  REQUIRE(edits.has_value());
  CHECK((*edits)[0].path == "src/model.py");
}

TEST_CASE("markers of 5 to 9 characters are accepted, others are text", "[code][search_replace]") {
  auto five = SearchReplace{}.parse("a.py\n<<<<< SEARCH\nx\n=====\ny\n>>>>> REPLACE\n");
  REQUIRE(five.has_value());
  CHECK((*five)[0].search == "x\n");
  auto nine = SearchReplace{}.parse("a.py\n<<<<<<<<< SEARCH\nx\n=========\ny\n>>>>>>>>> REPLACE\n");
  REQUIRE(nine.has_value());
  CHECK((*nine)[0].replace == "y\n");
  auto four = SearchReplace{}.parse("a.py\n<<<< SEARCH\nx\n====\ny\n>>>> REPLACE\n");
  CHECK_FALSE(four.has_value());
}

TEST_CASE("several blocks, a block without a path reuses the previous path", "[code][search_replace]") {
  auto edits = SearchReplace{}.parse(
      "a.py\n```\n<<<<<<< SEARCH\n1\n=======\n2\n>>>>>>> REPLACE\n```\n\n"
      "```\n<<<<<<< SEARCH\n3\n=======\n4\n>>>>>>> REPLACE\n```\n"
      "**b/c.py**:\n```cpp\n<<<<<<< SEARCH\n=======\nnew\n>>>>>>> REPLACE\n```\n");
  REQUIRE(edits.has_value());
  REQUIRE(edits->size() == 3);
  CHECK((*edits)[1].path == "a.py");
  CHECK((*edits)[1].search == "3\n");
  CHECK((*edits)[2].path == "b/c.py");
  CHECK((*edits)[2].search.empty());
  CHECK((*edits)[2].replace == "new\n");
}

TEST_CASE("CRLF answers parse like LF answers and blank lines are kept", "[code][search_replace]") {
  auto edits = SearchReplace{}.parse("a.py\r\n```\r\n<<<<<<< SEARCH\r\nx\r\n\r\ny\r\n=======\r\n>>>>>>> REPLACE\r\n```\r\n");
  REQUIRE(edits.has_value());
  CHECK((*edits)[0].search == "x\n\ny\n");
  CHECK((*edits)[0].replace.empty());
}

TEST_CASE("malformed answers are refused with the block and the fix named", "[code][search_replace]") {
  auto none = SearchReplace{}.parse("I think the code is fine.");
  REQUIRE_FALSE(none.has_value());
  CHECK(none.error().what == "the answer holds no SEARCH/REPLACE block");
  CHECK_FALSE(none.error().fix.empty());

  auto no_path = SearchReplace{}.parse("Here is the change:\n```\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n```\n");
  REQUIRE_FALSE(no_path.has_value());
  CHECK(no_path.error().what == "SEARCH/REPLACE block 1 (line 3) names no file");

  auto cut = SearchReplace{}.parse("a.py\n<<<<<<< SEARCH\nx\n=======\ny\n");
  REQUIRE_FALSE(cut.has_value());
  CHECK(cut.error().what ==
        "SEARCH/REPLACE block 1 (line 2) for a.py is cut off: no `>>>>>>> REPLACE` line ends it");

  auto no_divider = SearchReplace{}.parse("a.py\n<<<<<<< SEARCH\nx\n>>>>>>> REPLACE\n");
  REQUIRE_FALSE(no_divider.has_value());
  CHECK(no_divider.error().what == "SEARCH/REPLACE block 1 (line 2) for a.py has no `=======` line before line 4");

  auto stray = SearchReplace{}.parse("a.py\n=======\n");
  REQUIRE_FALSE(stray.has_value());
  CHECK(stray.error().what.find("without a `<<<<<<< SEARCH`") != std::string::npos);
}

TEST_CASE("render writes a block that parses back to the same edit", "[code][search_replace]") {
  SearchReplace format;
  Edit e{"dir/x.cpp", "int a;\n\n", "int b;\n", Edit::Kind::search_replace};
  auto back = format.parse(format.render(e));
  REQUIRE(back.has_value());
  CHECK((*back)[0] == e);
}
