// Shard discovery and per-rank batching (see token_loader.hpp).
#include "token_loader.hpp"

#include <algorithm>

namespace speedrunner::cuda {

namespace {
bool wildcard_match(std::string_view pattern, std::string_view name) {
  const auto star = pattern.find('*');
  if (star == std::string_view::npos) return pattern == name;
  const auto head = pattern.substr(0, star), tail = pattern.substr(star + 1);
  if (name.size() < head.size() || name.substr(0, head.size()) != head) return false;
  for (std::size_t i = head.size(); i <= name.size(); ++i)
    if (wildcard_match(tail, name.substr(i))) return true;
  return false;
}
}  // namespace

Result<std::vector<std::filesystem::path>> find_shards(const std::string& pattern) {
  namespace fs = std::filesystem;
  std::vector<fs::path> found;
  std::error_code ec;
  const fs::path path(pattern);
  if (fs::is_regular_file(path, ec)) {
    found.push_back(path);
  } else {
    const bool is_dir = fs::is_directory(path, ec);
    const fs::path dir = is_dir ? path : (path.has_parent_path() ? path.parent_path() : fs::path("."));
    const std::string name_pattern = is_dir ? "*.bin" : path.filename().string();
    if (!fs::is_directory(dir, ec))
      return fail(pattern + ": no such shard file or folder", "point --train/--val at .bin token shards");
    for (const auto& entry : fs::directory_iterator(dir, ec))
      if (entry.is_regular_file() && wildcard_match(name_pattern, entry.path().filename().string()))
        found.push_back(entry.path());
    std::sort(found.begin(), found.end());
  }
  if (found.empty())
    return fail(pattern + ": matches no token shard",
                "write shards with `speedrun data build` (or --write-synthetic) and check the pattern");
  return found;
}

Result<TokenLoader> TokenLoader::open(const std::string& pattern, int B, int T, int rank, int world, int vocab) {
  auto paths = find_shards(pattern);
  if (!paths) return std::unexpected(std::move(paths.error()));
  TokenLoader loader;
  loader.B_ = B, loader.T_ = T, loader.rank_ = rank, loader.world_ = world, loader.vocab_ = vocab;
  const std::uint64_t needed = std::uint64_t(B) * T * world + 1;
  for (const auto& p : *paths) {
    auto info = data::read_shard_header(p);
    if (!info) return std::unexpected(std::move(info.error()));
    if (info->tokens < needed)
      return fail(p.string() + ": " + std::to_string(info->tokens) + " tokens, fewer than one global batch (" +
                      std::to_string(needed) + ")",
                  "use a smaller --batch/--seq or fewer GPUs, or larger shards");
    loader.total_tokens_ += info->tokens;
    loader.shards_.push_back(std::move(*info));
  }
  loader.reset();
  return loader;
}

void TokenLoader::reset() {
  shard_ = 0;
  position_ = 0;
}

Result<void> TokenLoader::next_batch(std::vector<int>& inputs, std::vector<int>& targets) {
  const std::uint64_t local = std::uint64_t(B_) * T_, global = local * world_;
  if (position_ + global + 1 > shards_[shard_].tokens) {
    shard_ = (shard_ + 1) % shards_.size();
    position_ = 0;
  }
  auto read = data::read_shard_tokens(shards_[shard_], position_ + local * rank_, local + 1, buffer_);
  if (!read) return std::unexpected(std::move(read.error()));
  inputs.resize(local);
  targets.resize(local);
  for (std::uint64_t i = 0; i <= local; ++i)
    if (buffer_[i] >= vocab_)
      return fail(shards_[shard_].path.string() + ": token id " + std::to_string(buffer_[i]) +
                      " is outside the model's vocabulary of " + std::to_string(vocab_),
                  "tokenize with the GPT-2 tokenizer, or raise --vocab");
  for (std::uint64_t i = 0; i < local; ++i) {
    inputs[i] = buffer_[i];
    targets[i] = buffer_[i + 1];
  }
  position_ += global;
  return {};
}

}  // namespace speedrunner::cuda
