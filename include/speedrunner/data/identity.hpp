// The identity of a track's data: one content hash over its shards' tokens, so
// that a calibration, an oracle run and a user's run can show that they trained
// and validated on the same tokens (`speedrun data check` prints it, a task's
// `data.data_hash` pins it, `speedrun report` compares it with the baselines').
#pragma once

#include <speedrunner/core/error.hpp>
#include <speedrunner/data/corpus.hpp>
#include <speedrunner/data/shard.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace speedrunner::data {

struct DataIdentity {
  std::string hash;  // 32 hex digits over val then train, each shard's tokens in order
  std::uint64_t val_tokens = 0, train_tokens = 0;
  std::size_t val_shards = 0, train_shards = 0;
};

// Hashes the shards' tokens, val shards first, then train, each list in the
// order given (`find_shards` sorts by name). File names and folders do not
// count, only which split a token is in and the order of the tokens.
[[nodiscard]] inline Result<DataIdentity> identify_data(const std::vector<std::filesystem::path>& val,
                                                        const std::vector<std::filesystem::path>& train) {
  DataIdentity id;
  // two independent 64-bit lanes, as hash_document has
  std::uint64_t a = 0x73706565647275ULL, b = 0x646174612d6964ULL;  // "speedru", "data-id"
  std::vector<std::uint16_t> chunk;
  constexpr std::uint64_t chunk_tokens = 1 << 20;
  for (int split = 0; split < 2; ++split) {
    const auto& shards = split == 0 ? val : train;
    a = detail::mix64(a ^ (0x5EED0000ULL + std::uint64_t(split)));
    b = detail::mix64(b + 0x9E3779B97F4A7C15ULL * (std::uint64_t(split) + 1));
    for (const auto& path : shards) {
      auto info = read_shard_header(path);
      if (!info) return std::unexpected(info.error());
      for (std::uint64_t at = 0; at < info->tokens; at += chunk_tokens) {
        const std::uint64_t n = std::min(chunk_tokens, info->tokens - at);
        if (auto r = read_shard_tokens(*info, at, n, chunk); !r) return std::unexpected(r.error());
        const std::string_view bytes(reinterpret_cast<const char*>(chunk.data()), chunk.size() * sizeof(std::uint16_t));
        a = detail::mix64(a ^ detail::hash_bytes(bytes));
        b = detail::mix64((b ^ detail::hash_bytes(bytes.substr(bytes.size() / 2))) + n);
      }
      // a shard boundary counts: the loaders read shard by shard
      a = detail::mix64(a ^ info->tokens);
      b = detail::mix64(b + info->tokens * 0xC2B2AE3D27D4EB4FULL);
      (split == 0 ? id.val_tokens : id.train_tokens) += info->tokens;
      ++(split == 0 ? id.val_shards : id.train_shards);
    }
  }
  char hex[33];
  std::snprintf(hex, sizeof hex, "%016llx%016llx", static_cast<unsigned long long>(a), static_cast<unsigned long long>(b));
  id.hash = hex;
  return id;
}

// The identity of the shards that globs (or files) name, each glob's matches in
// name order. An empty match is an error naming the glob.
[[nodiscard]] inline Result<DataIdentity> identify_data(const std::vector<std::string>& val_sources,
                                                        const std::vector<std::string>& train_sources) {
  std::vector<std::filesystem::path> lists[2];
  for (int split = 0; split < 2; ++split) {
    for (const auto& source : split == 0 ? val_sources : train_sources) {
      auto files = expand_sources({source});
      if (!files) return std::unexpected(files.error());
      lists[split].insert(lists[split].end(), files->begin(), files->end());
    }
  }
  return identify_data(lists[0], lists[1]);
}

}  // namespace speedrunner::data
