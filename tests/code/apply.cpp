// Tests for include/speedrunner/code/apply.hpp: a table of edit cases, each an
// answer in the SEARCH/REPLACE format applied to a version directory, with the
// files expected afterwards and the reflection the model would read.
#include <speedrunner/code/apply.hpp>
#include <speedrunner/code/search_replace.hpp>

#include "catch.hpp"
#include "support.hpp"

#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

using speedrunner::testing::slurp;
using speedrunner::testing::spit;

namespace fs = std::filesystem;
using namespace speedrunner::code;
using speedrunner::testing::TempDir;

namespace {

using Files = std::vector<std::pair<std::string, std::optional<std::string>>>;  // nullopt: must not exist

struct EditCase {
  std::string name;
  Files before;
  std::string answer;                    // SEARCH/REPLACE blocks
  Files after;                           // files to check afterwards; others must be unchanged
  std::vector<std::string> reflection;   // substrings of the reflection; empty: no reflection
  std::vector<std::string> read_only = {};
  std::function<void(const fs::path& version, const fs::path& outside)> setup = {};
};

// One block for `path`.
std::string block(const std::string& path, const std::string& search, const std::string& replace) {
  return path + "\n```\n<<<<<<< SEARCH\n" + search + "=======\n" + replace + ">>>>>>> REPLACE\n```\n";
}

const std::string kSecret = "outside the version directory\n";

std::vector<EditCase> edit_cases() {
  const std::string train = "import math\n\ndef lr(step):\n    base = 0.02\n    return base * step\n\nprint(lr(3))\n";
  return {
      // ---- exact ----
      {"exact one-line replacement", {{"a.py", "x = 1\ny = 2\n"}}, block("a.py", "y = 2\n", "y = 3\n"),
       {{"a.py", "x = 1\ny = 3\n"}}, {}},
      {"exact multi-line replacement in the middle", {{"train.py", train}},
       block("train.py", "    base = 0.02\n    return base * step\n", "    base = 0.03\n    return base * step * 2\n"),
       {{"train.py", "import math\n\ndef lr(step):\n    base = 0.03\n    return base * step * 2\n\nprint(lr(3))\n"}},
       {}},
      {"only the first of two exact matches is replaced", {{"a.py", "x = 0\nx = 0\n"}}, block("a.py", "x = 0\n", "x = 1\n"),
       {{"a.py", "x = 1\nx = 0\n"}}, {}},
      {"an empty REPLACE deletes the lines", {{"a.py", "keep\ndrop me\nkeep too\n"}}, block("a.py", "drop me\n", ""),
       {{"a.py", "keep\nkeep too\n"}}, {}},
      {"a REPLACE that repeats the SEARCH line inserts after it", {{"a.py", "one\nthree\n"}},
       block("a.py", "one\n", "one\ntwo\n"), {{"a.py", "one\ntwo\nthree\n"}}, {}},
      {"a second block sees the first block's result", {{"a.py", "a\nb\n"}},
       block("a.py", "a\n", "a2\n") + block("a.py", "a2\nb\n", "a3\nb3\n"), {{"a.py", "a3\nb3\n"}}, {}},
      // ---- trailing whitespace drift ----
      {"trailing spaces in the file are ignored", {{"a.py", "x = 1   \ny = 2\t\n"}}, block("a.py", "x = 1\ny = 2\n", "x = 5\n"),
       {{"a.py", "x = 5\n"}}, {}},
      {"trailing spaces in the SEARCH are ignored", {{"a.py", "x = 1\ny = 2\n"}}, block("a.py", "y = 2  \n", "y = 7\n"),
       {{"a.py", "x = 1\ny = 7\n"}}, {}},
      {"a SEARCH that differs from the file only in blank-line whitespace", {{"a.py", "a\n    \nb\n"}},
       block("a.py", "a\n\nb\n", "a\nb\n"), {{"a.py", "a\nb\n"}}, {}},
      // ---- indentation drift ----
      {"an under-indented SEARCH matches and the REPLACE is re-indented",
       {{"a.py", "class A:\n    def f(self):\n        return 1\n"}},
       block("a.py", "def f(self):\n    return 1\n", "def f(self):\n    return 2\n\ndef g(self):\n    return 3\n"),
       {{"a.py", "class A:\n    def f(self):\n        return 2\n\n    def g(self):\n        return 3\n"}}, {}},
      {"an over-indented SEARCH matches and the REPLACE is de-indented", {{"a.py", "if x:\n  y()\n"}},
       block("a.py", "    if x:\n      y()\n", "    if x:\n      z()\n"), {{"a.py", "if x:\n  z()\n"}}, {}},
      {"tab indentation in the file is added to the REPLACE", {{"k.c", "int f() {\n\treturn 0;\n}\n"}},
       block("k.c", "return 0;\n", "int r = 0;\nreturn r;\n"), {{"k.c", "int f() {\n\tint r = 0;\n\treturn r;\n}\n"}}, {}},
      {"an inconsistent indentation offset does not match", {{"a.py", "if x:\n    y()\n"}},
       block("a.py", "  if x:\n  y()\n", "pass\n"), {{"a.py", "if x:\n    y()\n"}},
       {"## Block 1 failed: the SEARCH part does not match any lines of a.py.", "Did you mean these lines of a.py (lines 1-2)?"}},
      // ---- elision ----
      {"`...` keeps the lines between the two matched parts",
       {{"a.py", "def f():\n    a = 1\n    b = 2\n    c = 3\n    return a\n"}},
       block("a.py", "def f():\n...\n    return a\n", "def f(n):\n...\n    return a + n\n"),
       {{"a.py", "def f(n):\n    a = 1\n    b = 2\n    c = 3\n    return a + n\n"}}, {}},
      {"`...` in SEARCH without one in REPLACE is refused", {{"a.py", "a\nb\nc\n"}}, block("a.py", "a\n...\nc\n", "x\n"),
       {{"a.py", "a\nb\nc\n"}}, {"do not use `...` lines in the same places"}},
      {"a `...` line that is in the file matches exactly", {{"a.py", "class P:\n    ...\n"}},
       block("a.py", "class P:\n    ...\n", "class P:\n    x: int\n"), {{"a.py", "class P:\n    x: int\n"}}, {}},
      // ---- fuzzy ----
      {"a typo in a long line still matches fuzzily",
       {{"opt.py", "model = Net()\noptimizer = AdamW(model.parameters(), lr=0.001, weight_decay=0.1, betas=(0.9, 0.95))\n"}},
       block("opt.py", "optimizer = AdamW(model.parameters(), lr=0.001, wieght_decay=0.1, betas=(0.9, 0.95))\n",
             "optimizer = AdamW(model.parameters(), lr=0.002, weight_decay=0.1, betas=(0.9, 0.95))\n"),
       {{"opt.py", "model = Net()\noptimizer = AdamW(model.parameters(), lr=0.002, weight_decay=0.1, betas=(0.9, 0.95))\n"}}, {}},
      {"a SEARCH too far from the file fails and shows the closest lines",
       {{"cfg.py", "# settings\nlr = 0.25\nsteps = 100\n"}}, block("cfg.py", "lr = 0.5\nsteps = 7\n", "lr = 1\n"),
       {{"cfg.py", "# settings\nlr = 0.25\nsteps = 100\n"}},
       {"1 edit block of 1 failed.", "## Block 1 failed: the SEARCH part does not match any lines of cfg.py.",
        "Did you mean these lines of cfg.py (lines 2-3)?\n```\nlr = 0.25\nsteps = 100\n```\n",
        "must copy lines of the current file exactly", "Resend only the failed blocks, fixed."}},
      // ---- ambiguous ----
      {"two places equally close are refused as ambiguous",
       {{"a.py", "def a():\n    x = compute(1)\ndef b():\n    x = compute(2)\n"}},
       block("a.py", "    x = compute(3)\n", "    x = compute(4)\n"),
       {{"a.py", "def a():\n    x = compute(1)\ndef b():\n    x = compute(2)\n"}},
       {"two places match it nearly equally well (line 2 and line 4)", "match only one place"}},
      {"a fuzzy match clearly better than the runner-up is taken",
       {{"a.py", "total = compute_loss(batch_inputs, targets)\nother = unrelated_function_call(a, b)\n"}},
       block("a.py", "total = compute_loss(batch_input, targets)\n", "total = compute_loss(batch_inputs, targets) * 2\n"),
       {{"a.py", "total = compute_loss(batch_inputs, targets) * 2\nother = unrelated_function_call(a, b)\n"}}, {}},
      // ---- missing ----
      {"a SEARCH with nothing like it fails without a guess", {{"a.py", "alpha\nbeta\n"}},
       block("a.py", "completely different text here\n", "x\n"), {{"a.py", "alpha\nbeta\n"}},
       {"## Block 1 failed: the SEARCH part does not match any lines of a.py.\n\na.py\n```\n<<<<<<< SEARCH\n"
        "completely different text here\n=======\nx\n>>>>>>> REPLACE\n```\n"}},
      {"a non-empty SEARCH on a missing file says how to create it", {}, block("new.py", "x = 1\n", "x = 2\n"),
       {{"new.py", std::nullopt}}, {"new.py does not exist. To create it, leave the SEARCH part empty."}},
      // ---- already applied ----
      {"a block whose REPLACE is already there is reported, not failed", {{"a.py", "lr = 0.03\n"}},
       block("a.py", "lr = 0.02\n", "lr = 0.03\n"), {{"a.py", "lr = 0.03\n"}}, {}},
      {"an already applied block is named beside a failed one", {{"a.py", "lr = 0.03\nwarmup = 10\n"}},
       block("a.py", "lr = 0.02\n", "lr = 0.03\n") + block("a.py", "nothing like this line\n", "x\n"),
       {{"a.py", "lr = 0.03\nwarmup = 10\n"}},
       {"## Block 2 failed", "Block 1 for a.py was already applied: its REPLACE lines are already in a.py. Do not resend it."}},
      {"a resent deletion is not mistaken for an applied one", {{"a.py", "a\nc\n"}},
       block("a.py", "a\nb\nc\n", "a\nc\n"), {{"a.py", "a\nc\n"}}, {"the SEARCH part does not match any lines of a.py."}},
      // ---- new files ----
      {"an empty SEARCH creates a file", {}, block("new.py", "", "print('hi')\n"), {{"new.py", "print('hi')\n"}}, {}},
      {"an empty SEARCH creates a file in a new folder", {}, block("pkg/sub/mod.py", "", "X = 1\n"),
       {{"pkg/sub/mod.py", "X = 1\n"}}, {}},
      {"an empty SEARCH fills an existing empty file", {{"empty.py", ""}}, block("empty.py", "", "x = 1\n"),
       {{"empty.py", "x = 1\n"}}, {}},
      {"an empty SEARCH on a non-empty file is refused", {{"a.py", "old\n"}}, block("a.py", "", "new\n"),
       {{"a.py", "old\n"}}, {"a.py already exists and is not empty; an empty SEARCH part only creates a file."}},
      {"recreating a file with its current content counts as applied", {{"a.py", "same\n"}}, block("a.py", "", "same\n"),
       {{"a.py", "same\n"}}, {}},
      // ---- several files ----
      {"two files edited in one answer", {{"a.py", "a\n"}, {"b/b.py", "b\n"}},
       block("a.py", "a\n", "A\n") + block("b/b.py", "b\n", "B\n"), {{"a.py", "A\n"}, {"b/b.py", "B\n"}}, {}},
      {"a failed block leaves the other file's applied edit in place", {{"a.py", "a\n"}, {"b.py", "b\n"}},
       block("a.py", "a\n", "A\n") + block("b.py", "zzz\n", "B\n"), {{"a.py", "A\n"}, {"b.py", "b\n"}},
       {"1 edit block of 2 failed.", "## Block 2 failed", "The other block was applied; do not resend it."}},
      {"the reflection counts the other applied blocks", {{"a.py", "1\n2\n3\n"}},
       block("a.py", "1\n", "one\n") + block("a.py", "9\n", "nine\n") + block("a.py", "3\n", "three\n"),
       {{"a.py", "one\n2\nthree\n"}}, {"## Block 2 failed", "The other 2 blocks were applied; do not resend them."}},
      // ---- paths ----
      {"a path climbing out with .. is refused", {{"a.py", "a\n"}}, block("../outside/secret.txt", "", "pwned\n"),
       {{"a.py", "a\n"}}, {"the path `../outside/secret.txt` climbs out with `..`"}},
      {"an absolute path is refused", {}, block("/etc/passwd", "root\n", "x\n"), {},
       {"the path `/etc/passwd` is absolute"}},
      {"a symlink to a file outside is refused", {},
       block("link.txt", "outside the version directory\n", "pwned\n"), {},
       {"the path `link.txt` leads outside the version directory"}, {},
       [](const fs::path& v, const fs::path& out) { fs::create_symlink(out / "secret.txt", v / "link.txt"); }},
      {"a symlinked folder leading outside is refused", {}, block("linkdir/new.py", "", "x = 1\n"), {},
       {"the path `linkdir/new.py` leads outside the version directory"}, {},
       [](const fs::path& v, const fs::path& out) { fs::create_directory_symlink(out, v / "linkdir"); }},
      {"a ./ path is normalized and applied", {{"a.py", "a\n"}}, block("./a.py", "a\n", "b\n"), {{"a.py", "b\n"}}, {}},
      {"a folder named as a file is refused", {{"pkg/x.py", "x\n"}}, block("pkg", "x\n", "y\n"), {},
       {"pkg is a directory, not a file."}},
      // ---- read-only ----
      {"a task read-only file is refused with its reason", {{"eval.py", "score()\n"}}, block("eval.py", "score()\n", "cheat()\n"),
       {{"eval.py", "score()\n"}}, {"eval.py is read-only: it is one of the task's read-only files. Leave it unchanged."},
       {"eval.py"}},
      {"a file under a read-only folder is refused", {{"data/train.bin.txt", "tokens\n"}},
       block("data/train.bin.txt", "tokens\n", "other\n"), {{"data/train.bin.txt", "tokens\n"}},
       {"data/train.bin.txt is read-only"}, {"data"}},
      {"a new file in a read-only folder is refused", {{"data/x", "x\n"}}, block("data/new.txt", "", "y\n"),
       {{"data/new.txt", std::nullopt}}, {"data/new.txt is read-only"}, {"data/"}},
      {"a file without write permission is refused", {{"locked.py", "x\n"}}, block("locked.py", "x\n", "y\n"),
       {{"locked.py", "x\n"}}, {"locked.py is read-only: it has no write permission."}, {},
       [](const fs::path& v, const fs::path&) {
         fs::permissions(v / "locked.py", fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
       }},
      {"a symlink inside to a read-only file is refused", {{"eval.py", "score()\n"}},
       block("alias.py", "score()\n", "cheat()\n"), {{"eval.py", "score()\n"}}, {"eval.py is read-only"}, {"eval.py"},
       [](const fs::path& v, const fs::path&) { fs::create_symlink("eval.py", v / "alias.py"); }},
      // ---- binary ----
      {"a file with NUL bytes is left alone", {{"w.bin", std::string("ab\0cd\n", 6)}}, block("w.bin", "ab\n", "x\n"),
       {{"w.bin", std::string("ab\0cd\n", 6)}}, {"w.bin is a binary file"}},
      {"a file of invalid UTF-8 is left alone", {{"w.dat", "\xff\xfe\x41\n"}}, block("w.dat", "A\n", "B\n"),
       {{"w.dat", "\xff\xfe\x41\n"}}, {"w.dat is a binary file"}},
      // ---- CRLF ----
      {"a CRLF file stays CRLF", {{"w.bat", "echo a\r\necho b\r\n"}}, block("w.bat", "echo b\n", "echo c\necho d\n"),
       {{"w.bat", "echo a\r\necho c\r\necho d\r\n"}}, {}},
      {"a CRLF answer edits an LF file as LF", {{"a.py", "a\nb\n"}},
       "a.py\r\n```\r\n<<<<<<< SEARCH\r\nb\r\n=======\r\nc\r\n>>>>>>> REPLACE\r\n```\r\n", {{"a.py", "a\nc\n"}}, {}},
      // ---- no final newline ----
      {"editing the last line keeps a missing final newline", {{"a.py", "a\nb"}}, block("a.py", "b\n", "c\n"),
       {{"a.py", "a\nc"}}, {}},
      {"editing the middle keeps a missing final newline", {{"a.py", "a\nb\nc"}}, block("a.py", "a\n", "z\n"),
       {{"a.py", "z\nb\nc"}}, {}},
      {"a CRLF file without a final newline keeps both", {{"a.txt", "x\r\ny"}}, block("a.txt", "y\n", "y\nz\n"),
       {{"a.txt", "x\r\ny\r\nz"}}, {}},
      // ---- unicode ----
      {"unicode text matches exactly", {{"u.py", "msg = \"héllo wörld ✓\"\n"}},
       block("u.py", "msg = \"héllo wörld ✓\"\n", "msg = \"こんにちは 🌍\"\n"), {{"u.py", "msg = \"こんにちは 🌍\"\n"}}, {}},
      {"a unicode path is created", {}, block("données/résumé.md", "", "# Résumé\n"),
       {{"données/résumé.md", "# Résumé\n"}}, {}},
      {"a missing accent is matched fuzzily", {{"u.py", "label = \"température moyenne de la journée\"\n"}},
       block("u.py", "label = \"temperature moyenne de la journée\"\n", "label = \"température\"\n"),
       {{"u.py", "label = \"température\"\n"}}, {}},
  };
}

}  // namespace

TEST_CASE("every edit case leaves the expected files and reflection", "[code][apply]") {
  auto cases = edit_cases();
  REQUIRE(cases.size() >= 40);
  for (const EditCase& c : cases) {
    INFO("case: " << c.name);
    TempDir tmp("sr-code");
    const fs::path version = tmp.path() / "v_1", outside = tmp.path() / "outside";
    fs::create_directories(version);
    spit(outside / "secret.txt", kSecret);
    for (const auto& [path, text] : c.before) spit(version / path, *text);
    if (c.setup) c.setup(version, outside);

    auto edits = SearchReplace{}.parse(c.answer);
    REQUIRE(edits.has_value());
    ApplyOptions options;
    for (const auto& ro : c.read_only) options.read_only.push_back({ro});
    auto report = apply_edits(version, *edits, options);
    REQUIRE(report.has_value());

    for (const auto& [path, text] : c.after) {
      INFO("file: " << path);
      if (!text) {
        CHECK_FALSE(fs::exists(version / path));
        continue;
      }
      REQUIRE(fs::exists(version / path));
      CHECK(slurp(version / path) == *text);
    }
    for (const auto& [path, text] : c.before) {
      bool checked = false;
      for (const auto& a : c.after) checked = checked || a.first == path;
      if (!checked) CHECK(slurp(version / path) == *text);
    }
    CHECK(slurp(outside / "secret.txt") == kSecret);
    for (const auto& entry : fs::recursive_directory_iterator(tmp.path()))
      CHECK(entry.path().filename().string().find(".sr-tmp-") == std::string::npos);

    const std::string text = reflection(*report, SearchReplace{});
    INFO("reflection:\n" << text);
    if (c.reflection.empty()) {
      CHECK(report->ok());
      CHECK(text.empty());
    }
    for (const auto& part : c.reflection) CHECK(text.find(part) != std::string::npos);
  }
}

TEST_CASE("with editable files set, edits to anything else (run.sh, records, .git) are refused",
          "[code][apply][editable]") {
  TempDir tmp;
  for (const char* f : {"train.cu", "run.sh", "meta.json", ".git/config"}) {
    fs::create_directories((tmp.path() / f).parent_path());
    std::ofstream(tmp.path() / f) << "original\n";
  }
  ApplyOptions options;
  options.entry_files = {"train.cu"};
  options.only_entry_files = true;
  std::vector<Edit> edits;
  for (const char* f : {"train.cu", "run.sh", "meta.json", ".git/config", "new.txt"})
    edits.push_back({f, "", "changed\n", Edit::Kind::whole_file});
  auto r = apply_edits(tmp.path(), edits, options);
  REQUIRE(r.has_value());
  CHECK(r->changed_files == std::vector<std::string>{"train.cu"});
  REQUIRE(r->blocks.size() == 5);
  for (std::size_t i = 1; i < 5; ++i) {
    CHECK(r->blocks[i].status == BlockStatus::failed);
    CHECK(r->blocks[i].reason.find("edit only train.cu") != std::string::npos);
  }
  for (const char* f : {"run.sh", "meta.json", ".git/config"}) {
    std::ifstream in(tmp.path() / f);
    std::string line;
    std::getline(in, line);
    CHECK(line == "original");
  }
  CHECK_FALSE(fs::exists(tmp.path() / "new.txt"));
}

TEST_CASE("a task's editable patterns open more files to edits, and nothing else", "[code][apply][editable]") {
  TempDir tmp;
  for (const char* f : {"train_gpt2.cpp", "kernels.cu", "include/lib/x.hpp", "run.sh", "meta.json", ".git/config"}) {
    fs::create_directories((tmp.path() / f).parent_path());
    std::ofstream(tmp.path() / f) << "original\n";
  }
  ApplyOptions options;
  options.entry_files = {"train_gpt2.cpp"};
  options.only_entry_files = true;
  options.editable = {"*.cu", "*.cuh", "*.hpp", "*.sh"};  // the NanoGPT task's patterns
  std::vector<Edit> edits;
  for (const char* f : {"kernels.cu", "rope.cuh", "include/lib/x.hpp", "run.sh", "meta.json", ".git/config", "notes.txt"})
    edits.push_back({f, "", "changed\n", Edit::Kind::whole_file});
  auto r = apply_edits(tmp.path(), edits, options);
  REQUIRE(r.has_value());
  // '*' crosses '/': include/lib/x.hpp matches *.hpp; a new rope.cuh may be created
  CHECK(r->changed_files == std::vector<std::string>{"kernels.cu", "rope.cuh", "include/lib/x.hpp", "run.sh"});
  REQUIRE(r->blocks.size() == 7);
  for (std::size_t i = 4; i < 7; ++i) {
    INFO(r->blocks[i].edit.path);
    CHECK(r->blocks[i].status == BlockStatus::failed);
    CHECK(r->blocks[i].reason.find("edit only train_gpt2.cpp, *.cu, *.cuh, *.hpp, *.sh") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(tmp.path() / "notes.txt"));
}
