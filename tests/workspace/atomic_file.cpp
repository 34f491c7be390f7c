// Tests of include/speedrunner/workspace/atomic_file.hpp: whole writes, no stray temporaries.
#include <speedrunner/workspace/atomic_file.hpp>

#include "catch.hpp"
#include "support.hpp"

#include <filesystem>

namespace ws = speedrunner::workspace;
using speedrunner::testing::TempDir;

TEST_CASE("an atomic write replaces the whole file and leaves no temporary behind", "[workspace][atomic]") {
  TempDir tmp;
  auto file = tmp.path() / "journal.json";
  REQUIRE(ws::write_file_atomic(file, "old content that is longer").has_value());
  REQUIRE(ws::write_file_atomic(file, "new").has_value());
  CHECK(*ws::read_file(file) == "new");
  int entries = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(tmp.path())) ++entries;
  CHECK(entries == 1);
}

TEST_CASE("a write into a missing folder is an error naming the file", "[workspace][atomic]") {
  TempDir tmp;
  auto r = ws::write_file_atomic(tmp.path() / "missing" / "x.json", "{}");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().what.find("x.json") != std::string::npos);
  auto read = ws::read_file(tmp.path() / "nope.txt");
  REQUIRE_FALSE(read.has_value());
  CHECK(read.error().what.find("nope.txt") != std::string::npos);
}
