// Open-addressing hash maps for the tokenizer's hot path: byte strings to
// ids, and token-id pairs to merges. Lookups hash a few bytes and probe one
// cache line in the common case, which std::unordered_map cannot promise.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace speedrunner::data::detail {

[[nodiscard]] inline std::uint64_t mix64(std::uint64_t h) {
  h ^= h >> 31;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 29;
  return h;
}

[[nodiscard]] inline std::uint64_t hash_bytes(std::string_view s) {
  std::uint64_t h = 0x9E3779B97F4A7C15ULL ^ s.size();
  const char* p = s.data();
  std::size_t n = s.size();
  for (; n >= 8; n -= 8, p += 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    h = mix64(h ^ w) * 0x94d049bb133111ebULL;
  }
  std::uint64_t w = 0;
  std::memcpy(&w, p, n);
  return mix64(h ^ w);
}

// Byte string -> uint32 value. Keys are copied into one arena.
class StringIdMap {
 public:
  StringIdMap() { rehash(64); }

  [[nodiscard]] const std::uint32_t* find(std::string_view key) const {
    const std::uint64_t h = hash_bytes(key);
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.length == empty) return nullptr;
      if (s.hash == h && s.length == key.size() &&
          std::memcmp(keys_.data() + s.offset, key.data(), key.size()) == 0)
        return &s.value;
    }
  }

  // Inserts or overwrites.
  void insert(std::string_view key, std::uint32_t value) {
    if ((size_ + 1) * 2 > slots_.size()) rehash(slots_.size() * 2);
    const std::uint64_t h = hash_bytes(key);
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.length == empty) {
        s = Slot{h, std::uint32_t(keys_.size()), std::uint32_t(key.size()), value};
        keys_.append(key);
        ++size_;
        return;
      }
      if (s.hash == h && s.length == key.size() &&
          std::memcmp(keys_.data() + s.offset, key.data(), key.size()) == 0) {
        s.value = value;
        return;
      }
    }
  }

  void clear() {
    keys_.clear();
    size_ = 0;
    slots_.assign(64, Slot{});
    mask_ = 63;
  }
  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] std::size_t key_bytes() const { return keys_.size(); }

 private:
  static constexpr std::uint32_t empty = std::numeric_limits<std::uint32_t>::max();
  struct Slot {
    std::uint64_t hash = 0;
    std::uint32_t offset = 0;
    std::uint32_t length = empty;
    std::uint32_t value = 0;
  };

  void rehash(std::size_t capacity) {
    std::vector<Slot> old(capacity);
    old.swap(slots_);
    mask_ = capacity - 1;
    for (const Slot& s : old) {
      if (s.length == empty) continue;
      std::size_t i = s.hash & mask_;
      while (slots_[i].length != empty) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;
  std::string keys_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

// (left id, right id) -> the merge they make: its rank (priority) and result.
struct Merge {
  std::uint32_t rank;
  std::uint32_t token;
};

class PairMergeMap {
 public:
  static constexpr std::uint32_t no_rank = std::numeric_limits<std::uint32_t>::max();

  PairMergeMap() : slots_(64), mask_(63) {}

  [[nodiscard]] Merge find(std::uint32_t left, std::uint32_t right) const {
    const std::uint64_t key = std::uint64_t(left) << 32 | right;
    for (std::size_t i = mix64(key) & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.key == key) return s.merge;
      if (s.key == empty_key) return Merge{no_rank, 0};
    }
  }

  // Keeps the first (lowest-rank) merge of a pair listed twice.
  void insert(std::uint32_t left, std::uint32_t right, Merge merge) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    const std::uint64_t key = std::uint64_t(left) << 32 | right;
    for (std::size_t i = mix64(key) & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.key == key) return;
      if (s.key == empty_key) {
        s = Slot{key, merge};
        ++size_;
        return;
      }
    }
  }
  [[nodiscard]] std::size_t size() const { return size_; }

 private:
  static constexpr std::uint64_t empty_key = std::numeric_limits<std::uint64_t>::max();
  struct Slot {
    std::uint64_t key = empty_key;
    Merge merge{no_rank, 0};
  };
  void grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    mask_ = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.key == empty_key) continue;
      std::size_t i = mix64(s.key) & mask_;
      while (slots_[i].key != empty_key) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }
  std::vector<Slot> slots_;
  std::size_t mask_;
  std::size_t size_ = 0;
};

}  // namespace speedrunner::data::detail
