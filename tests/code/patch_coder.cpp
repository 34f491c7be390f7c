// Tests for include/speedrunner/code/patch_coder.hpp: diffs written by
// `diff -u` and `git diff` applied without a model, with offsets, and failures
// that name the hunk.
#include <speedrunner/code/patch_coder.hpp>

#include "catch.hpp"
#include "support.hpp"

#include <fstream>
#include <random>
#include <sstream>

using speedrunner::testing::slurp;
using speedrunner::testing::spit;

using namespace speedrunner;
using namespace speedrunner::code;
namespace fs = std::filesystem;

namespace {

CodeRequest request_for(const fs::path& dir) {
  CodeRequest r;
  r.version_dir = dir;
  r.files = {"train.py"};
  return r;
}

const std::string kOld = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\n";
const std::string kDiff =
    "--- old/train.py\t2024-01-01 00:00:00\n+++ new/train.py\t2024-01-02 00:00:00\n"
    "@@ -2,3 +2,3 @@\n b\n-c\n+C\n d\n@@ -9,3 +9,4 @@\n i\n j\n+j2\n k\n";

}  // namespace

TEST_CASE("PatchCoder models Coder", "[code][patch]") { STATIC_REQUIRE(Coder<PatchCoder>); }

TEST_CASE("a diff -u patch applies, leading folders dropped", "[code][patch]") {
  testing::TempDir dir("sr-patch");
  spit(dir.path() / "train.py", kOld);
  auto outcome = PatchCoder::from_text(kDiff).implement(request_for(dir.path()));
  REQUIRE(outcome.has_value());
  CHECK(outcome->changed_files == std::vector<std::string>{"train.py"});
  CHECK(outcome->rounds == 0);
  CHECK(outcome->summary == "applied the given diff to 1 file");
  CHECK(slurp(dir.path() / "train.py") == "a\nb\nC\nd\ne\nf\ng\nh\ni\nj\nj2\nk\nl\n");
}

TEST_CASE("hunks are found away from their stated lines", "[code][patch]") {
  testing::TempDir dir("sr-patch");
  spit(dir.path() / "train.py", "x1\nx2\nx3\n" + kOld);  // everything moved down three lines
  REQUIRE(PatchCoder::from_text(kDiff).implement(request_for(dir.path())).has_value());
  CHECK(slurp(dir.path() / "train.py") == "x1\nx2\nx3\na\nb\nC\nd\ne\nf\ng\nh\ni\nj\nj2\nk\nl\n");
}

TEST_CASE("a hunk that does not apply is named and nothing is written", "[code][patch]") {
  testing::TempDir dir("sr-patch");
  spit(dir.path() / "other.py", "1\n2\n");
  spit(dir.path() / "train.py", "a\nb\nc\nd\ne\nf\ng\nh\ni\nJJ\nk\nl\n");
  const std::string diff = "--- other.py\n+++ other.py\n@@ -1,2 +1,2 @@\n-1\n+one\n 2\n" + kDiff;
  auto outcome = PatchCoder::from_text(diff).implement(request_for(dir.path()));
  REQUIRE_FALSE(outcome.has_value());
  CHECK(outcome.error().what ==
        "the given diff: hunk 2 of 2 for new/train.py (@@ -9,3 +9,4 @@) does not apply: its 3 context and removed "
        "lines are not in the file near line 9; the closest lines start at line 9:\ni\nJJ\nk\n");
  CHECK(outcome.error().fix.find("regenerate it with `diff -u OLD NEW`") != std::string::npos);
  CHECK(outcome.error().code == ExitCode::failure);
  CHECK(slurp(dir.path() / "other.py") == "1\n2\n");
  CHECK(slurp(dir.path() / "train.py") == "a\nb\nc\nd\ne\nf\ng\nh\ni\nJJ\nk\nl\n");
}

TEST_CASE("git diffs create, delete and keep missing final newlines", "[code][patch]") {
  testing::TempDir dir("sr-patch");
  spit(dir.path() / "train.py", "x = 1\ny = 2");
  spit(dir.path() / "old.txt", "bye\n");
  const std::string diff =
      "diff --git a/train.py b/train.py\nindex 1..2 100644\n--- a/train.py\n+++ b/train.py\n"
      "@@ -1,2 +1,2 @@\n x = 1\n-y = 2\n\\ No newline at end of file\n+y = 3\n\\ No newline at end of file\n"
      "diff --git a/new/mod.py b/new/mod.py\nnew file mode 100644\n--- /dev/null\n+++ b/new/mod.py\n@@ -0,0 +1,2 @@\n+A\n+B\n"
      "diff --git a/old.txt b/old.txt\ndeleted file mode 100644\n--- a/old.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n";
  auto outcome = PatchCoder::from_text(diff).implement(request_for(dir.path()));
  REQUIRE(outcome.has_value());
  CHECK(outcome->changed_files == std::vector<std::string>{"train.py", "new/mod.py", "old.txt"});
  CHECK(slurp(dir.path() / "train.py") == "x = 1\ny = 3");
  CHECK(slurp(dir.path() / "new/mod.py") == "A\nB\n");
  CHECK_FALSE(fs::exists(dir.path() / "old.txt"));
}

TEST_CASE("malformed, unsafe and forbidden diffs are refused", "[code][patch]") {
  testing::TempDir dir("sr-patch");
  spit(dir.path() / "train.py", kOld);
  spit(dir.path() / "eval.py", "score\n");
  auto req = request_for(dir.path());
  req.read_only = {"eval.py"};
  auto err = [&](const std::string& diff) {
    auto r = PatchCoder::from_text(diff).implement(req);
    REQUIRE_FALSE(r.has_value());
    return r.error().what;
  };
  CHECK(err("not a diff") == "the given diff: the diff holds no file changes (no `--- ` / `+++ ` lines)");
  CHECK(err("--- train.py\n+++ train.py\n@@ -1,3 +1,3 @@\n a\n-b\n") ==
        "the given diff: hunk 1 for train.py (line 3) is cut short: its header `@@ -1,3 +1,3 @@` promises 3 old and 3 "
        "new lines, the hunk holds 2 and 1");
  CHECK(err("--- ../x.py\n+++ ../x.py\n@@ -1 +1 @@\n-a\n+b\n").find("climbs out with `..`") != std::string::npos);
  CHECK(err("--- eval.py\n+++ eval.py\n@@ -1 +1 @@\n-score\n+cheat\n") ==
        "the given diff: the diff changes eval.py, one of the task's read-only files");
  CHECK(err("--- missing.py\n+++ missing.py\n@@ -1 +1 @@\n-a\n+b\n").find("missing.py, which does not exist") !=
        std::string::npos);
  CHECK(err("diff --git a/a b/b\nrename from a\nrename to b\n").find("renames or copies") != std::string::npos);
  CHECK(slurp(dir.path() / "eval.py") == "score\n");
}

TEST_CASE("the diff may come from a file", "[code][patch]") {
  testing::TempDir dir("sr-patch");
  spit(dir.path() / "v/train.py", kOld);
  spit(dir.path() / "level_0_diff.txt", kDiff);
  auto ok = PatchCoder::from_file(dir.path() / "level_0_diff.txt").implement(request_for(dir.path() / "v"));
  REQUIRE(ok.has_value());
  CHECK(ok->summary == "applied " + (dir.path() / "level_0_diff.txt").string() + " to 1 file");
  auto missing = PatchCoder::from_file(dir.path() / "nope.txt").implement(request_for(dir.path() / "v"));
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().what.find("nope.txt does not exist") != std::string::npos);
}

TEST_CASE("from_request takes the diff from the hypothesis, else from the coder's knowledge", "[code][patch]") {
  STATIC_REQUIRE(Coder<PatchCoder>);
  const auto coder = PatchCoder::from_request();
  testing::TempDir dir("sr-patch");
  spit(dir.path() / "train.py", kOld);
  auto req = request_for(dir.path());
  // as the dummy ideator passes a level-0 hint through: a heading and comments around the diff
  req.hypothesis.summary = "hints: # Level 0 hint";
  req.hypothesis.text = "=== data/hints/level_0_diff.txt ===\n# Level 0 hint: the change as a unified diff.\n" + kDiff;
  auto from_hypothesis = coder.implement(req);
  REQUIRE(from_hypothesis.has_value());
  CHECK(from_hypothesis->summary == "applied the hypothesis's diff to 1 file");
  CHECK(slurp(dir.path() / "train.py") == "a\nb\nC\nd\ne\nf\ng\nh\ni\nj\nj2\nk\nl\n");

  spit(dir.path() / "train.py", kOld);
  req.hypothesis = {"fix: the build failed", "Find the cause and fix it."};
  req.knowledge = "=== level_0_diff.txt ===\n" + kDiff;
  auto from_knowledge = coder.implement(req);
  REQUIRE(from_knowledge.has_value());
  CHECK(from_knowledge->summary == "applied the coder's knowledge to 1 file");
  CHECK(slurp(dir.path() / "train.py") == "a\nb\nC\nd\ne\nf\ng\nh\ni\nj\nj2\nk\nl\n");
}

TEST_CASE("a level-0 hint that declares no code change applies as nothing, from a file, the knowledge or the hypothesis",
          "[code][patch]") {
  testing::TempDir dir("sr-patch");
  spit(dir.path() / "v" / "train.py", kOld);
  const std::string hint = "# Level 0 hint, record 6 -> record 7: the code change as a unified diff.\n"
                           "# No code change: record 7's template is record 6's, byte for byte.\n";
  spit(dir.path() / "level_0_diff.txt", hint);
  auto from_file = PatchCoder::from_file(dir.path() / "level_0_diff.txt").implement(request_for(dir.path() / "v"));
  REQUIRE(from_file.has_value());
  CHECK(from_file->changed_files.empty());
  CHECK(from_file->summary.find("declares no code change") != std::string::npos);
  auto request = request_for(dir.path() / "v");
  request.knowledge = hint;
  auto from_knowledge = PatchCoder::from_request().implement(request);
  REQUIRE(from_knowledge.has_value());
  CHECK(from_knowledge->changed_files.empty());
  CHECK(slurp(dir.path() / "v" / "train.py") == kOld);
  // the oracle's way: the dummy ideator passes the hint through as the hypothesis
  auto via_hypothesis = request_for(dir.path() / "v");
  via_hypothesis.hypothesis = {"hints: # Level 0 hint, record 6 -> record 7", hint};
  auto from_hypothesis = PatchCoder::from_request().implement(via_hypothesis);
  REQUIRE(from_hypothesis.has_value());
  CHECK(from_hypothesis->changed_files.empty());
  CHECK(from_hypothesis->summary == "the hypothesis declares no code change: nothing to apply");
  CHECK(slurp(dir.path() / "v" / "train.py") == kOld);
  // without the line, a hint with no diff is still refused
  spit(dir.path() / "level_0_diff.txt", "# Level 0 hint\n");
  CHECK_FALSE(PatchCoder::from_file(dir.path() / "level_0_diff.txt").implement(request_for(dir.path() / "v")));
  request.knowledge = "# Level 1 hint: some pseudocode\n";
  CHECK_FALSE(PatchCoder::from_request().implement(request));
}

TEST_CASE("from_request without a diff in the request fails the node with the fix", "[code][patch]") {
  testing::TempDir dir("sr-patch");
  spit(dir.path() / "train.py", kOld);
  auto req = request_for(dir.path());
  req.hypothesis = {"use rotary embeddings", "Replace the learned positions by rotary embeddings."};
  req.knowledge = "--- only a dashed line, no +++ after it";
  auto r = PatchCoder::from_request().implement(req);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().what == "coder=patch applies a unified diff without a model, but neither the hypothesis "
                          "(\"use rotary embeddings\") nor the coder's knowledge holds one");
  CHECK(r.error().fix.find("ideator=dummy") != std::string::npos);
  CHECK(r.error().fix.find("level_0_diff.txt") != std::string::npos);
  CHECK(r.error().code == ExitCode::failure);  // the node is buggy; the run goes on
  CHECK(slurp(dir.path() / "train.py") == kOld);
  // a diff that is there but broken is reported as such, not as missing
  req.hypothesis.text = "--- train.py\n+++ train.py\n@@ -1,3 +1,3 @@\n a\n";
  auto cut = PatchCoder::from_request().implement(req);
  REQUIRE_FALSE(cut.has_value());
  CHECK(cut.error().what.starts_with("the hypothesis's diff: hunk 1 for train.py (line 3) is cut short"));
  CHECK(cut.error().code == ExitCode::failure);
  CHECK(PatchCoder::from_text(req.hypothesis.text).implement(req).error().code == ExitCode::usage);  // a given diff: the caller's
}

TEST_CASE("random diffs written by diff -u apply back exactly", "[code][patch][property]") {
  if (testing::run_shell("diff --version").status != 0) {
    WARN("no diff program: skipped");
    return;
  }
  std::mt19937 rng(42);
  for (int iter = 0; iter < 40; ++iter) {
    testing::TempDir dir("sr-patch-prop");
    std::vector<std::string> lines;
    for (std::size_t n = 5 + rng() % 60; n > 0; --n) lines.push_back("line " + std::to_string(rng() % 50));
    std::vector<std::string> changed = lines;
    for (int e = 1 + static_cast<int>(rng() % 6); e > 0; --e) {
      std::size_t at = rng() % (changed.size() + 1);
      switch (rng() % 3) {
        case 0: changed.insert(changed.begin() + static_cast<std::ptrdiff_t>(at), "new " + std::to_string(rng() % 1000)); break;
        case 1: if (at < changed.size()) changed.erase(changed.begin() + static_cast<std::ptrdiff_t>(at)); break;
        default: if (at < changed.size()) changed[at] = "changed " + std::to_string(rng() % 1000); break;
      }
    }
    auto text = [&](const std::vector<std::string>& ls, bool final_newline) {
      std::string s;
      for (const auto& l : ls) s += l + "\n";
      if (!final_newline && !s.empty()) s.pop_back();
      return s;
    };
    const std::string before = text(lines, rng() % 4 != 0), after = text(changed, rng() % 4 != 0);
    spit(dir.path() / "old/train.py", before);
    spit(dir.path() / "new/train.py", after);
    spit(dir.path() / "v/train.py", before);
    auto d = testing::run_shell("cd " + dir.path().string() + " && diff -u old/train.py new/train.py");
    if (d.status == 0) continue;  // no difference
    REQUIRE(d.status == 1);
    INFO("iteration " << iter << "\n" << d.output);
    auto outcome = PatchCoder::from_text(d.output).implement(request_for(dir.path() / "v"));
    REQUIRE(outcome.has_value());
    CHECK(slurp(dir.path() / "v/train.py") == after);
  }
}
