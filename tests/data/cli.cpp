// `speedrun data` from the outside: usage errors and `data check` on good and
// damaged shard folders (no tokenizer needed).
#include <speedrunner/data/shard.hpp>

#include "catch.hpp"
#include "support.hpp"

#include <fstream>

namespace data = speedrunner::data;
using speedrunner::testing::TempDir;
using speedrunner::testing::run_shell;

namespace {
std::string speedrun(const std::string& args) { return speedrunner::testing::speedrun_exe() + " " + args; }
}  // namespace

TEST_CASE("speedrun data without a command prints its usage and fails", "[data][cli]") {
  auto r = run_shell(speedrun("data"));
  CHECK(r.status == 2);
  CHECK(r.output.find("speedrun data build --source") != std::string::npos);
  CHECK(run_shell(speedrun("data --help")).status == 0);
}

TEST_CASE("speedrun data build names what is missing or malformed", "[data][cli]") {
  auto no_out = run_shell(speedrun("data build --source . --val-tokens 1 --shard-tokens 10"));
  CHECK(no_out.status == 2);
  CHECK(no_out.output.find("needs --out DIR") != std::string::npos);
  auto bad_number = run_shell(speedrun("data build --source . --out /tmp/x --val-tokens lots --shard-tokens 10"));
  CHECK(bad_number.status == 2);
  CHECK(bad_number.output.find("--val-tokens needs a whole number, not 'lots'") != std::string::npos);
  auto unknown = run_shell(speedrun("data build --frob"));
  CHECK(unknown.status == 2);
  CHECK(unknown.output.find("unknown option '--frob'") != std::string::npos);
  auto no_source = run_shell(speedrun("data build --source --out x"));
  CHECK(no_source.status == 2);
  CHECK(no_source.output.find("--source needs at least one") != std::string::npos);
  auto sub = run_shell(speedrun("data bake"));
  CHECK(sub.status == 2);
  CHECK(sub.output.find("unknown data command 'bake'") != std::string::npos);
}

TEST_CASE("speedrun data check counts the tokens of FineWeb-named shards", "[data][cli]") {
  TempDir dir;
  REQUIRE(data::write_shard(dir.path() / "fineweb_val_000000.bin", std::vector<std::uint16_t>{50256, 1, 2, 50256, 3}));
  REQUIRE(data::write_shard(dir.path() / "fineweb_train_000001.bin", std::vector<std::uint16_t>(1000, 50256)));
  REQUIRE(data::write_shard(dir.path() / "fineweb_train_000002.bin", std::vector<std::uint16_t>{50256, 7}));
  auto r = run_shell(speedrun("data check '" + dir.path().string() + "'"));
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK(r.output.find("val   5 tokens in 1 shard(s)") != std::string::npos);
  CHECK(r.output.find("train 1002 tokens in 2 shard(s)") != std::string::npos);
}

TEST_CASE("speedrun data check names each corrupt shard with its reason and fails", "[data][cli]") {
  TempDir dir;
  REQUIRE(data::write_shard(dir.path() / "fineweb_val_000000.bin", std::vector<std::uint16_t>{50256, 1}));
  REQUIRE(data::write_shard(dir.path() / "fineweb_train_000001.bin", std::vector<std::uint16_t>{50256, 2, 3}));
  std::ofstream(dir.path() / "fineweb_train_000001.bin", std::ios::app) << "x";  // an extra byte
  std::ofstream(dir.path() / "fineweb_train_000002.bin") << "not a shard at all";
  auto r = run_shell(speedrun("data check '" + dir.path().string() + "'"));
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK(r.output.find("fineweb_train_000001.bin: header announces 3 tokens") != std::string::npos);
  CHECK(r.output.find("fineweb_train_000002.bin: too short") != std::string::npos);
  CHECK(r.output.find("2 corrupt shard(s)") != std::string::npos);
  CHECK(r.output.find("val   2 tokens in 1 shard(s)") != std::string::npos);
}

TEST_CASE("speedrun data check on a folder without shards fails", "[data][cli]") {
  TempDir dir;
  auto empty = run_shell(speedrun("data check '" + dir.path().string() + "'"));
  CHECK(empty.status == 1);
  CHECK(empty.output.find("holds no NAME_train_NNNNNN.bin") != std::string::npos);
  auto missing = run_shell(speedrun("data check '" + (dir.path() / "nope").string() + "'"));
  CHECK(missing.status == 2);
  CHECK(missing.output.find("not a folder of token shards") != std::string::npos);
}

TEST_CASE("speedrun data check names a shard symlink that is dangling or points at itself", "[data][cli][bad_input]") {
  for (const char* target : {"gone_train_000001.bin", "self_train_000001.bin"}) {
    TempDir dir;
    std::filesystem::create_symlink(target, dir.path() / (std::string(target) == "gone_train_000001.bin"
                                                              ? "link_train_000001.bin" : target));
    auto r = run_shell(speedrun("data check '" + dir.path().string() + "'"));
    INFO(r.output);
    CHECK(r.status == 2);
    CHECK(r.output.find("a symbolic link that leads to no file") != std::string::npos);
  }
}
