// The modded-nanogpt token shard format (.bin): a header of 256 little-endian
// int32 (magic 20240520, version 1, token count, rest 0) followed by the
// tokens as uint16 GPT-2 ids. Every document starts with <|endoftext|>.
#pragma once

#include <speedrunner/core/error.hpp>

#include <array>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
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

}  // namespace speedrunner::data
