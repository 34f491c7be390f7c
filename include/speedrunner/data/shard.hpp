// The modded-nanogpt token shard format (.bin): a header of 256 little-endian
// int32 (magic 20240520, version 1, token count, rest 0) followed by the
// tokens as uint16 GPT-2 ids. Every document starts with <|endoftext|>.
#pragma once

#include <speedrunner/core/error.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace speedrunner::data {

inline constexpr std::int32_t shard_magic = 20240520;
inline constexpr std::int32_t shard_version = 1;
inline constexpr std::size_t shard_header_ints = 256;
inline constexpr std::size_t shard_header_bytes = shard_header_ints * sizeof(std::int32_t);
inline constexpr std::uint16_t end_of_text = 50256;

struct ShardInfo {
  std::filesystem::path path;
  std::uint64_t tokens = 0;  // from the header, checked against the file size
};

namespace detail {
struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;
}  // namespace detail

// Reads and validates a shard's header: magic, version, and that the file
// holds exactly the announced number of tokens.
[[nodiscard]] inline Result<ShardInfo> read_shard_header(const std::filesystem::path& path) {
  const std::string name = path.string();
  detail::File f(std::fopen(name.c_str(), "rb"));
  if (!f) return fail(name + ": cannot open token shard", "check the path and its permissions");
  std::array<std::int32_t, shard_header_ints> header{};
  if (std::fread(header.data(), sizeof(std::int32_t), header.size(), f.get()) != header.size())
    return fail(name + ": too short for a token shard header (needs 1024 bytes)",
                "regenerate the shard with `speedrun data build`");
  if (header[0] != shard_magic)
    return fail(name + ": not a token shard (magic " + std::to_string(header[0]) + ", expected " +
                    std::to_string(shard_magic) + ")",
                "point the data path at .bin files written by `speedrun data build` or modded-nanogpt");
  if (header[1] != shard_version)
    return fail(name + ": unsupported shard version " + std::to_string(header[1]) + " (expected 1)",
                "regenerate the shard with `speedrun data build`");
  if (header[2] < 0) return fail(name + ": negative token count in the header", "the file is corrupt; regenerate it");
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return fail(name + ": cannot read its size: " + ec.message());
  const std::uint64_t tokens = static_cast<std::uint64_t>(header[2]);
  const std::uint64_t expected = shard_header_bytes + tokens * sizeof(std::uint16_t);
  if (size != expected)
    return fail(name + ": header announces " + std::to_string(tokens) + " tokens (" +
                    std::to_string(expected) + " bytes) but the file has " + std::to_string(size) +
                    " bytes",
                "the file is truncated or corrupt; regenerate it");
  return ShardInfo{path, tokens};
}

// Reads `count` tokens starting at token `offset` into `out` (resized).
[[nodiscard]] inline Result<void> read_shard_tokens(const ShardInfo& shard, std::uint64_t offset,
                                                    std::uint64_t count, std::vector<std::uint16_t>& out) {
  const std::string name = shard.path.string();
  if (offset + count > shard.tokens)
    return fail(name + ": read of tokens [" + std::to_string(offset) + ", " + std::to_string(offset + count) +
                ") is past its " + std::to_string(shard.tokens) + " tokens");
  detail::File f(std::fopen(name.c_str(), "rb"));
  if (!f) return fail(name + ": cannot open token shard");
  if (std::fseek(f.get(), long(shard_header_bytes + offset * sizeof(std::uint16_t)), SEEK_SET) != 0)
    return fail(name + ": seek failed");
  out.resize(count);
  if (std::fread(out.data(), sizeof(std::uint16_t), count, f.get()) != count)
    return fail(name + ": short read (the file changed while reading?)");
  return {};
}

// Writes a shard atomically (temporary file, then rename), so a reader never
// sees a half-written one.
[[nodiscard]] inline Result<void> write_shard(const std::filesystem::path& path,
                                              std::span<const std::uint16_t> tokens) {
  const std::string name = path.string();
  if (tokens.size() > std::uint64_t(INT32_MAX))
    return fail(name + ": " + std::to_string(tokens.size()) + " tokens do not fit one shard (max 2^31-1)",
                "lower --shard-tokens");
  std::array<std::int32_t, shard_header_ints> header{};
  header[0] = shard_magic;
  header[1] = shard_version;
  header[2] = static_cast<std::int32_t>(tokens.size());
  const std::string tmp = name + ".tmp";
  {
    detail::File f(std::fopen(tmp.c_str(), "wb"));
    if (!f) return fail(tmp + ": cannot create", "check that the output folder exists and is writable");
    if (std::fwrite(header.data(), sizeof(std::int32_t), header.size(), f.get()) != header.size() ||
        std::fwrite(tokens.data(), sizeof(std::uint16_t), tokens.size(), f.get()) != tokens.size() ||
        std::fflush(f.get()) != 0)
      return fail(tmp + ": write failed", "check free disk space");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return fail(name + ": cannot rename the temporary file into place: " + ec.message());
  return {};
}

// Reads a whole shard's tokens after validating its header.
[[nodiscard]] inline Result<std::vector<std::uint16_t>> read_shard(const std::filesystem::path& path) {
  auto info = read_shard_header(path);
  if (!info) return std::unexpected(info.error());
  std::vector<std::uint16_t> tokens;
  if (auto read = read_shard_tokens(*info, 0, info->tokens, tokens); !read) return std::unexpected(read.error());
  return tokens;
}

// What a full scan of a shard finds beyond its header.
struct ShardStats {
  ShardInfo info;
  std::uint64_t documents = 0;  // <|endoftext|> tokens, one per document start
};

// Validates the header and every token: an id at or above `vocab_size` is an
// error naming its position (a shard of another tokenizer, or corrupt).
[[nodiscard]] inline Result<ShardStats> scan_shard(const std::filesystem::path& path,
                                                   std::uint32_t vocab_size = 50257) {
  auto info = read_shard_header(path);
  if (!info) return std::unexpected(info.error());
  ShardStats stats{*info, 0};
  std::vector<std::uint16_t> chunk;
  constexpr std::uint64_t chunk_tokens = std::uint64_t(1) << 22;
  for (std::uint64_t at = 0; at < info->tokens; at += chunk_tokens) {
    const std::uint64_t count = std::min(chunk_tokens, info->tokens - at);
    if (auto read = read_shard_tokens(*info, at, count, chunk); !read) return std::unexpected(read.error());
    for (std::size_t k = 0; k < chunk.size(); ++k) {
      if (chunk[k] >= vocab_size)
        return fail(path.string() + ": token " + std::to_string(at + k) + " is " + std::to_string(chunk[k]) +
                        ", outside GPT-2's vocabulary of " + std::to_string(vocab_size),
                    "the file is corrupt or was made by another tokenizer; regenerate it");
      stats.documents += chunk[k] == end_of_text;
    }
  }
  return stats;
}

enum class Split { train, val };

// "NAME_train_000001.bin" / "NAME_val_000000.bin", the modded-nanogpt names.
[[nodiscard]] inline std::string shard_file_name(std::string_view name, Split split, std::size_t index) {
  std::string digits = std::to_string(index);
  if (digits.size() < 6) digits.insert(0, 6 - digits.size(), '0');
  return std::string(name) + (split == Split::train ? "_train_" : "_val_") + digits + ".bin";
}

// The shards of one folder, by split, sorted by name.
struct ShardSet {
  std::vector<std::filesystem::path> train, val;
  std::vector<std::filesystem::path> unrecognized;  // other *.bin files
};

// Lists DIR's NAME_{train,val}_NNNNNN.bin files (any NAME).
[[nodiscard]] inline Result<ShardSet> find_shards(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    return fail(dir.string() + ": not a folder of token shards", "pass the folder holding the .bin files");
  ShardSet set;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".bin") continue;
    std::error_code sec;
    const bool regular = entry.is_regular_file(sec);
    if (!regular && entry.is_symlink())
      return fail(entry.path().string() + ": a symbolic link that leads to no file (" +
                      (sec ? sec.message() : std::string("its target is missing or not a file")) + ")",
                  "point it at a shard, or remove it");
    if (!regular) continue;
    const std::string stem = entry.path().stem().string();
    auto numbered = [&](std::string_view marker) {
      const auto at = stem.rfind(marker);
      if (at == std::string::npos || at == 0 || stem.size() != at + marker.size() + 6) return false;
      return std::all_of(stem.begin() + std::ptrdiff_t(at + marker.size()), stem.end(),
                         [](char c) { return c >= '0' && c <= '9'; });
    };
    if (numbered("_train_")) set.train.push_back(entry.path());
    else if (numbered("_val_")) set.val.push_back(entry.path());
    else set.unrecognized.push_back(entry.path());
  }
  if (ec) return fail(dir.string() + ": cannot list: " + ec.message());
  for (auto* list : {&set.train, &set.val, &set.unrecognized}) std::sort(list->begin(), list->end());
  return set;
}

}  // namespace speedrunner::data
