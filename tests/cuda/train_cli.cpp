// The trainer's command line without a GPU (cuda/train_gpt2.cpp): bad options
// are errors that say what to do, and --write-synthetic writes valid shards.
#include "catch.hpp"
#include "support.hpp"

#include <speedrunner/data/shard.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using speedrunner::testing::run_shell;
using speedrunner::testing::TempDir;

namespace {
std::string trainer() {
  const char* p = std::getenv("SPEEDRUN_TRAIN_GPT2");
  return p != nullptr ? p : "speedrun-train-gpt2";
}
}  // namespace

TEST_CASE("The trainer rejects bad options with exit 2 and a fix", "[cuda][cli]") {
  auto unknown = run_shell(trainer() + " --bogus 1");
  CHECK(unknown.status == 2);
  CHECK(unknown.output.find("unknown option --bogus") != std::string::npos);
  CHECK(unknown.output.find("fix:") != std::string::npos);
  auto not_number = run_shell(trainer() + " --batch many");
  CHECK(not_number.status == 2);
  CHECK(not_number.output.find("needs a number") != std::string::npos);
  auto no_data = run_shell(trainer() + " --steps 10");
  CHECK(no_data.status == 2);
  CHECK(no_data.output.find("--train and --val are required") != std::string::npos);
  auto bad_shape = run_shell(trainer() + " --train a --val b --width 100");
  CHECK(bad_shape.status == 2);
  CHECK(bad_shape.output.find("model shape") != std::string::npos);
  auto zero_stage = run_shell(trainer() + " --zero 2");
  CHECK(zero_stage.status == 2);
  CHECK(zero_stage.output.find("--zero 2") != std::string::npos);
  CHECK(zero_stage.output.find("use --zero 0 (all-reduce) or --zero 1") != std::string::npos);
  auto help = run_shell(trainer() + " --help");
  CHECK(help.status == 0);
  CHECK(help.output.find("--nproc N") != std::string::npos);
  CHECK(help.output.find("--zero N") != std::string::npos);
}

TEST_CASE("--write-synthetic writes a valid train/val shard pair inside the vocabulary",
          "[cuda][cli]") {
  TempDir dir;
  auto run = run_shell(trainer() + " --write-synthetic " + dir.path().string() +
                       " --synthetic-tokens 50000 --model tiny");
  REQUIRE(run.status == 0);
  for (const char* name : {"synthetic_train_000000.bin", "synthetic_val_000000.bin"}) {
    auto info = speedrunner::data::read_shard_header(dir.path() / name);
    REQUIRE(info);
    std::vector<std::uint16_t> tokens;
    REQUIRE(speedrunner::data::read_shard_tokens(*info, 0, info->tokens, tokens));
    bool inside = true;
    for (auto t : tokens) inside = inside && t < 100;  // the tiny model's vocabulary
    CHECK(inside);
  }
}

TEST_CASE("The trainer reports missing or corrupt shards before touching a GPU", "[cuda][cli]") {
  TempDir dir;
  auto missing = run_shell(trainer() + " --train " + (dir.path() / "none_*.bin").string() +
                           " --val " + (dir.path() / "none_*.bin").string());
  CHECK(missing.status == 2);
  CHECK(missing.output.find("matches no token shard") != std::string::npos);
  {
    std::FILE* f = std::fopen((dir.path() / "bad.bin").c_str(), "wb");
    REQUIRE(f != nullptr);
    const std::vector<std::int32_t> header(256, 7);
    std::fwrite(header.data(), sizeof(std::int32_t), header.size(), f);
    std::fclose(f);
  }
  auto corrupt = run_shell(trainer() + " --train " + (dir.path() / "bad.bin").string() + " --val " +
                           (dir.path() / "bad.bin").string());
  CHECK(corrupt.status == 2);
  CHECK(corrupt.output.find("bad.bin: not a token shard") != std::string::npos);
}
