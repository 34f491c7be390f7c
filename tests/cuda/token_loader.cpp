// Tests of cuda/token_loader.hpp: shard discovery by file, folder and pattern;
// rank slices that tile one global batch; wrap-around; bad ids and shards.
#include "catch.hpp"
#include "support.hpp"

#include "token_loader.hpp"

#include <cstdint>
#include <numeric>
#include <vector>

using speedrunner::cuda::TokenLoader;
using speedrunner::testing::TempDir;
namespace data = speedrunner::data;

namespace {
std::vector<std::uint16_t> iota_tokens(std::size_t n, std::uint16_t start) {
  std::vector<std::uint16_t> t(n);
  std::iota(t.begin(), t.end(), start);
  return t;
}
}  // namespace

TEST_CASE("Rank slices of a step tile the single-rank batch of the same global size",
          "[cuda][data]") {
  TempDir dir;
  REQUIRE(data::write_shard(dir.path() / "train_000000.bin", iota_tokens(1000, 0)));
  const int T = 4;
  auto whole = TokenLoader::open((dir.path() / "train_*.bin").string(), 4, T, 0, 1, 50257);
  auto r0 = TokenLoader::open(dir.path().string(), 2, T, 0, 2, 50257);
  auto r1 = TokenLoader::open(dir.path().string(), 2, T, 1, 2, 50257);
  REQUIRE(whole);
  REQUIRE(r0);
  REQUIRE(r1);
  std::vector<int> in, tg, in0, tg0, in1, tg1;
  for (int step = 0; step < 3; ++step) {
    REQUIRE(whole->next_batch(in, tg));
    REQUIRE(r0->next_batch(in0, tg0));
    REQUIRE(r1->next_batch(in1, tg1));
    std::vector<int> joined(in0);
    joined.insert(joined.end(), in1.begin(), in1.end());
    CHECK(joined == in);
    for (std::size_t i = 0; i < in.size(); ++i)
      CHECK(tg[i] == in[i] + 1);  // targets are the next token
    CHECK(in.front() == step * 16);
  }
}

TEST_CASE("The loader wraps to the first shard and reset() restarts it", "[cuda][data]") {
  TempDir dir;
  REQUIRE(data::write_shard(dir.path() / "a.bin", iota_tokens(20, 0)));
  REQUIRE(data::write_shard(dir.path() / "b.bin", iota_tokens(20, 100)));
  auto loader = TokenLoader::open(dir.path().string(), 1, 8, 0, 1, 50257);
  REQUIRE(loader);
  CHECK(loader->total_tokens() == 40);
  std::vector<int> in, tg;
  std::vector<int> firsts;
  for (int i = 0; i < 5; ++i) {
    REQUIRE(loader->next_batch(in, tg));
    firsts.push_back(in.front());
  }
  CHECK(firsts == std::vector<int>{0, 8, 100, 108, 0});
  loader->reset();
  REQUIRE(loader->next_batch(in, tg));
  CHECK(in.front() == 0);
}

TEST_CASE("Bad shards and out-of-vocabulary ids are errors that name the file", "[cuda][data]") {
  TempDir dir;
  CHECK_FALSE(TokenLoader::open((dir.path() / "none_*.bin").string(), 1, 8, 0, 1, 50257));
  REQUIRE(data::write_shard(dir.path() / "small.bin", iota_tokens(8, 0)));
  auto too_small = TokenLoader::open((dir.path() / "small.bin").string(), 1, 8, 0, 1, 50257);
  REQUIRE_FALSE(too_small);
  CHECK(too_small.error().what.find("small.bin") != std::string::npos);
  REQUIRE(data::write_shard(dir.path() / "ids.bin", iota_tokens(64, 90)));
  auto loader = TokenLoader::open((dir.path() / "ids.bin").string(), 1, 8, 0, 1, 100);
  REQUIRE(loader);
  std::vector<int> in, tg;
  auto first = loader->next_batch(in, tg);  // ids 90..98: fine
  CHECK(first);
  auto second = loader->next_batch(in, tg);  // ids 98..106: past the vocabulary
  REQUIRE_FALSE(second);
  CHECK(second.error().what.find("outside the model's vocabulary") != std::string::npos);
}
