// Batches of tokens from .bin shards for one rank of a data-parallel run: each
// step takes B*T*world consecutive tokens (+1 for the shifted targets) and
// rank r reads its B*T-token slice, so any world size sees the same global batch.
#pragma once

#include <speedrunner/core/error.hpp>
#include <speedrunner/data/shard.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace speedrunner::cuda {

// Shards named by a file, a folder (its *.bin), or a pattern with '*' in the
// file name ("data/fineweb_train_*.bin"), sorted by name.
[[nodiscard]] Result<std::vector<std::filesystem::path>> find_shards(const std::string& pattern);

class TokenLoader {
 public:
  [[nodiscard]] // Token ids must be below `vocab` (a corrupt shard is an error, not a crash).
  [[nodiscard]] static Result<TokenLoader> open(const std::string& pattern, int B, int T, int rank, int world,
                                                int vocab);

  // Fills inputs and targets (B*T each); wraps around to the first shard at the end.
  [[nodiscard]] Result<void> next_batch(std::vector<int>& inputs, std::vector<int>& targets);
  // Back to the first batch (validation restarts at the same tokens each time).
  void reset();

  [[nodiscard]] std::uint64_t total_tokens() const { return total_tokens_; }

 private:
  std::vector<data::ShardInfo> shards_;
  std::uint64_t total_tokens_ = 0;
  int B_ = 0, T_ = 0, rank_ = 0, world_ = 1, vocab_ = 0;
  std::size_t shard_ = 0;
  std::uint64_t position_ = 0;  // start of the current global batch in the shard
  std::vector<std::uint16_t> buffer_;
};

}  // namespace speedrunner::cuda
