// Tests for include/speedrunner/workspace/diff.hpp: a hand-worked hunk, files
// created and deleted, and round trips through the project's own patch applier.
#include <speedrunner/code/patch_coder.hpp>
#include <speedrunner/workspace/diff.hpp>

#include "catch.hpp"
#include "support.hpp"

#include <fstream>
#include <random>

namespace ws = speedrunner::workspace;
namespace code = speedrunner::code;
using speedrunner::testing::TempDir;

TEST_CASE("a one-line change gives one hunk with three lines of context", "[workspace][diff]") {
  const std::string before = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
  const std::string after = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n";
  CHECK(ws::diff_texts("f.txt", before, after) ==
        "diff --git a/f.txt b/f.txt\n--- a/f.txt\n+++ b/f.txt\n"
        "@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n");
  CHECK(ws::diff_texts("f.txt", before, before).empty());
  CHECK(ws::diff_texts("new.md", "", "hi\n", true) ==
        "diff --git a/new.md b/new.md\nnew file mode 100644\n--- /dev/null\n+++ b/new.md\n@@ -0,0 +1,1 @@\n+hi\n");
}

TEST_CASE("diffs of random edits apply back with the patch coder's applier", "[workspace][diff]") {
  std::mt19937 rng(5);
  for (int round = 0; round < 50; ++round) {
    std::string a, b;
    for (int i = 0; i < 40; ++i) {
      const std::string line = "line " + std::to_string(i) + "\n";
      a += line;
      switch (rng() % 6) {
        case 0: break;                                    // removed
        case 1: b += "new " + std::to_string(rng()) + "\n" + line; break;  // inserted before
        case 2: b += "changed " + std::to_string(i) + "\n"; break;
        default: b += line;
      }
    }
    INFO(round);
    const auto diff = ws::diff_texts("x.cpp", a, b);
    auto patches = code::parse_patch(diff);
    REQUIRE(patches.has_value());
    REQUIRE(patches->size() == 1);
    auto applied = code::apply_file_patch(a, patches->front());
    REQUIRE(applied.has_value());
    CHECK(*applied == b);
  }
}

TEST_CASE("two version folders diff file by file, leaving out logs and the run's records", "[workspace][diff]") {
  TempDir dir;
  auto put = [&](const std::string& rel, const std::string& text) {
    std::filesystem::create_directories((dir.path() / rel).parent_path());
    std::ofstream(dir.path() / rel) << text;
  };
  put("v_0/a.cpp", "int a;\n");
  put("v_0/gone.txt", "bye\n");
  put("v_0/stdout.log", "step 1\n");
  put("v_1/a.cpp", "int a = 1;\n");
  put("v_1/sub/new.h", "#pragma once\n");
  put("v_1/stdout.log", "step 2\n");
  put("v_1/results.json", "{}\n");
  put("v_1/build/a.o", "obj");
  const auto d = ws::diff_versions(dir.path() / "v_0", dir.path() / "v_1");
  CHECK(d.find("-int a;\n+int a = 1;\n") != std::string::npos);
  CHECK(d.find("deleted file mode 100644\n--- a/gone.txt\n+++ /dev/null\n") != std::string::npos);
  CHECK(d.find("new file mode 100644\n--- /dev/null\n+++ b/sub/new.h\n") != std::string::npos);
  CHECK(d.find("stdout.log") == std::string::npos);
  CHECK(d.find("results.json") == std::string::npos);
  CHECK(d.find("a.o") == std::string::npos);
}
