// Tests of include/speedrunner/workspace/atomic_file.hpp: whole writes, no stray temporaries.
#include <speedrunner/workspace/atomic_file.hpp>

#include "catch.hpp"
#include "support.hpp"

#include <unistd.h>

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

TEST_CASE("an atomic write goes through no symlink a node planted, at the target or at a temporary name",
          "[workspace][atomic]") {
  TempDir tmp;
  const auto victim = tmp.path() / "victim.txt";
  REQUIRE(ws::write_file_atomic(victim, "untouched").has_value());
  std::filesystem::create_directories(tmp.path() / "run");
  // the old predictable temporary name, and the target itself, as links to the victim
  std::filesystem::create_symlink(victim, tmp.path() / "run" / (".meta.json.tmp" + std::to_string(::getpid())));
  std::filesystem::create_symlink(victim, tmp.path() / "run" / "meta.json");
  REQUIRE(ws::write_file_atomic(tmp.path() / "run" / "meta.json", "the runner's record").has_value());
  CHECK(*ws::read_file(victim) == "untouched");
  CHECK_FALSE(std::filesystem::is_symlink(tmp.path() / "run" / "meta.json"));
  CHECK(*ws::read_file(tmp.path() / "run" / "meta.json") == "the runner's record");
}
