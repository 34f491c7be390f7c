// Tests for include/speedrunner/code/version_files.hpp: paths kept inside the
// version directory, and writes that land all or none.
#include <speedrunner/code/apply.hpp>
#include <speedrunner/code/search_replace.hpp>
#include <speedrunner/code/version_files.hpp>

#include "catch.hpp"
#include "support.hpp"

#include <fstream>
#include <sstream>

using speedrunner::testing::slurp;

using namespace speedrunner::code;
namespace fs = std::filesystem;

namespace {
}  // namespace

TEST_CASE("paths resolve inside the version directory or are refused", "[code][version_files]") {
  speedrunner::testing::TempDir dir("sr-vf");
  fs::create_directories(dir.path() / "v/src");
  fs::create_directories(dir.path() / "elsewhere");
  fs::create_directory_symlink(dir.path() / "elsewhere", dir.path() / "v/out");
  fs::create_directory_symlink("src", dir.path() / "v/alias");
  const fs::path v = dir.path() / "v";

  auto ok = resolve_inside(v, "src/../src/./x.py");
  CHECK_FALSE(ok.has_value());  // `..` is refused even when it would stay inside
  auto plain = resolve_inside(v, "./src/x.py");
  REQUIRE(plain.has_value());
  CHECK(plain->relative == "src/x.py");
  auto through_alias = resolve_inside(v, "alias/x.py");
  REQUIRE(through_alias.has_value());
  CHECK(through_alias->relative == "src/x.py");  // one file, one name, however it is reached
  CHECK(resolve_inside(v, "out/x.py").error().what ==
        "the path `out/x.py` leads outside the version directory (through a symbolic link)");
  CHECK(resolve_inside(v, "").error().what == "an edit names no file");
  CHECK(resolve_inside(v, ".").error().what.find("leads outside") != std::string::npos);
  CHECK(resolve_inside(v, "/abs").error().what.find("is absolute") != std::string::npos);
}

TEST_CASE("a failed write leaves every file of the round as it was", "[code][version_files]") {
  speedrunner::testing::TempDir dir("sr-vf");
  std::ofstream(dir.path() / "a.py") << "a\n";
  std::ofstream(dir.path() / "notes.txt") << "notes\n";
  // The second edit creates a file under a regular file, which cannot succeed.
  auto edits = SearchReplace{}.parse(
      "a.py\n<<<<<<< SEARCH\na\n=======\nA\n>>>>>>> REPLACE\n"
      "notes.txt/new.py\n<<<<<<< SEARCH\n=======\nx\n>>>>>>> REPLACE\n");
  REQUIRE(edits.has_value());
  auto report = apply_edits(dir.path(), *edits);
  REQUIRE_FALSE(report.has_value());
  CHECK(report.error().what.find("notes.txt/new.py") != std::string::npos);
  CHECK(report.error().fix.find("nothing was changed") != std::string::npos);
  CHECK(slurp(dir.path() / "a.py") == "a\n");
  CHECK(slurp(dir.path() / "notes.txt") == "notes\n");
  for (const auto& e : fs::recursive_directory_iterator(dir.path()))
    CHECK(e.path().filename().string().find(".sr-tmp-") == std::string::npos);
}

TEST_CASE("a failed rename restores the files renamed before it", "[code][version_files]") {
  speedrunner::testing::TempDir dir("sr-vf");
  std::ofstream(dir.path() / "a.py") << "old a\n";
  fs::create_directories(dir.path() / "busy/inner");  // a non-empty folder cannot be replaced by a file
  std::vector<FileWrite> writes{
      {dir.path() / "a.py", "new a\n", "old a\n", "a.py"},
      {dir.path() / "fresh/b.py", "b\n", std::nullopt, "fresh/b.py"},
      {dir.path() / "busy", "c\n", "", "busy"},
  };
  auto done = write_all_or_nothing(writes);
  REQUIRE_FALSE(done.has_value());
  CHECK(done.error().what.starts_with("could not replace busy"));
  CHECK(slurp(dir.path() / "a.py") == "old a\n");
  CHECK_FALSE(fs::exists(dir.path() / "fresh"));
  CHECK(fs::is_directory(dir.path() / "busy/inner"));
}

TEST_CASE("writes keep the file's permissions and can delete files", "[code][version_files]") {
  speedrunner::testing::TempDir dir("sr-vf");
  std::ofstream(dir.path() / "run.sh") << "echo 1\n";
  std::ofstream(dir.path() / "gone.txt") << "bye\n";
  fs::permissions(dir.path() / "run.sh", fs::perms::owner_all | fs::perms::group_read);
  REQUIRE(write_all_or_nothing({{dir.path() / "run.sh", "echo 2\n", "echo 1\n", "run.sh"},
                                {dir.path() / "gone.txt", std::nullopt, "bye\n", "gone.txt"}})
              .has_value());
  CHECK(slurp(dir.path() / "run.sh") == "echo 2\n");
  CHECK((fs::status(dir.path() / "run.sh").permissions() & fs::perms::owner_exec) != fs::perms::none);
  CHECK_FALSE(fs::exists(dir.path() / "gone.txt"));
}
