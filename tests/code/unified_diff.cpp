// Tests for include/speedrunner/code/unified_diff.hpp: hunks without line
// numbers, located like SEARCH parts.
#include <speedrunner/code/apply.hpp>
#include <speedrunner/code/unified_diff.hpp>

#include "catch.hpp"
#include "support.hpp"

#include <fstream>
#include <sstream>

using namespace speedrunner::code;

TEST_CASE("UnifiedDiff models EditFormat", "[code][unified_diff]") {
  STATIC_REQUIRE(EditFormat<UnifiedDiff>);
  CHECK(UnifiedDiff::name == "udiff");
}

TEST_CASE("each hunk becomes a search and a replacement", "[code][unified_diff]") {
  auto edits = UnifiedDiff{}.parse(
      "```diff\n--- a/train.py\n+++ b/train.py\n@@ ... @@\n def lr(step):\n-    return 0.02 * step\n+    return 0.03 * step\n"
      "\n@@ -40,3 +40,4 @@\n x = 1\n+y = 2\n\n z = 3\n```\nThat raises the rate.\n");
  REQUIRE(edits.has_value());
  REQUIRE(edits->size() == 2);
  // The empty line before the next `@@` is spacing, not context.
  CHECK((*edits)[0] == Edit{"train.py", "def lr(step):\n    return 0.02 * step\n",
                            "def lr(step):\n    return 0.03 * step\n", Edit::Kind::search_replace});
  CHECK((*edits)[1] == Edit{"train.py", "x = 1\n\nz = 3\n", "x = 1\ny = 2\n\nz = 3\n", Edit::Kind::search_replace});
}

TEST_CASE("a diff from /dev/null creates a file", "[code][unified_diff]") {
  auto edits = UnifiedDiff{}.parse("--- /dev/null\n+++ new.py\n@@ ... @@\n+print(1)\n+print(2)\n");
  REQUIRE(edits.has_value());
  CHECK((*edits)[0] == Edit{"new.py", "", "print(1)\nprint(2)\n", Edit::Kind::search_replace});
}

TEST_CASE("malformed diffs are refused with the fix", "[code][unified_diff]") {
  auto deletes = UnifiedDiff{}.parse("--- a.py\n+++ /dev/null\n@@ ... @@\n-x\n");
  REQUIRE_FALSE(deletes.has_value());
  CHECK(deletes.error().what == "the diff deletes a.py, which this format cannot do");
  auto no_context = UnifiedDiff{}.parse("--- a.py\n+++ a.py\n@@ ... @@\n+x\n");
  REQUIRE_FALSE(no_context.has_value());
  CHECK(no_context.error().what == "hunk 1 for a.py has no unchanged or removed lines");
  auto no_hunk = UnifiedDiff{}.parse("--- a.py\n+++ a.py\n x\n");
  REQUIRE_FALSE(no_hunk.has_value());
  CHECK(no_hunk.error().what == "the diff for a.py has no `@@ ... @@` hunk");
  CHECK_FALSE(UnifiedDiff{}.parse("nothing here").has_value());
}

TEST_CASE("a hunk with drifted indentation applies through the ladder", "[code][unified_diff]") {
  speedrunner::testing::TempDir dir("sr-udiff");
  std::ofstream(dir.path() / "m.py") << "class M:\n    def f(self):\n        return 1\n";
  auto edits = UnifiedDiff{}.parse("--- m.py\n+++ m.py\n@@ ... @@\n def f(self):\n-    return 1\n+    return 2\n");
  REQUIRE(edits.has_value());
  auto report = apply_edits(dir.path(), *edits);
  REQUIRE(report.has_value());
  CHECK(report->ok());
  CHECK(report->blocks[0].how == MatchKind::indentation);
  std::ostringstream got;
  got << std::ifstream(dir.path() / "m.py").rdbuf();
  CHECK(got.str() == "class M:\n    def f(self):\n        return 2\n");
  // Written back in its own format, the failed hunk reads as a diff.
  auto again = apply_edits(dir.path(), *UnifiedDiff{}.parse("--- m.py\n+++ m.py\n@@ ... @@\n-absent\n+x\n"));
  CHECK(reflection(*again, UnifiedDiff{}).find("```diff\n--- m.py\n+++ m.py\n@@ ... @@\n-absent\n+x\n```\n") !=
        std::string::npos);
}
