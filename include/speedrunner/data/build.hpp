// Corpus -> token shards: reads the sources, splits and deduplicates documents,
// tokenizes them on all cores, splits train/val by document and writes
// NAME_val_000000.bin and NAME_train_%06d.bin. The output depends only on the
// input bytes: not on the thread count, file system order or time.
#pragma once

#include <speedrunner/core/error.hpp>
#include <speedrunner/data/corpus.hpp>
#include <speedrunner/data/shard.hpp>
#include <speedrunner/data/tokenizer.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <numeric>
#include <span>
#include <string>
#include <thread>
#include <vector>

namespace speedrunner::data {

struct BuildOptions {
  std::vector<std::string> sources;    // files, folders, globs
  std::filesystem::path out;
  std::string name = "corpus";
  std::uint64_t val_tokens = 1 << 20;  // exactly this many in NAME_val_000000.bin
  std::uint64_t shard_tokens = 100'000'000;
  unsigned threads = 0;                // 0: every core
  bool force = false;                  // replace NAME_* shards already in `out`
  std::uint64_t min_total_tokens = 0;  // fail when the corpus is smaller
  // Training documents longer than this many tokens (0: no limit) are cut into
  // pieces, each starting with <|endoftext|>, at a line break where one is near,
  // and the pieces are shuffled apart like documents: one long document (a
  // 650K-token changelog) would otherwise fill whole steps in a row.
  std::uint64_t max_document_tokens = 0;
};

// One progress event: a stage and how far along it is (done of total units).
struct BuildProgress {
  std::string_view stage;  // "read", "tokenize", "write"
  std::uint64_t done = 0, total = 0;
  std::string_view unit;   // "files", "MB", "shards"
};

struct BuildReport {
  std::uint64_t files = 0, skipped_files = 0;  // skipped: binary or index files
  std::uint64_t documents = 0, duplicates = 0, empty_documents = 0;
  std::uint64_t text_bytes = 0;                // of the kept documents
  std::uint64_t val_documents = 0, train_documents = 0;
  std::uint64_t val_tokens = 0, train_tokens = 0;
  std::uint64_t dropped_tokens = 0;            // the val split's cut-off tail, kept out of train
  std::uint64_t cut_documents = 0, pieces = 0; // training documents cut at max_document_tokens, into pieces
  std::uint64_t longest_train_document = 0;    // tokens, after cutting
  std::vector<std::filesystem::path> shards;
};

namespace detail {

// A deterministic shuffle key: the content hash, salted per purpose.
[[nodiscard]] inline std::uint64_t order_key(const DocumentHash& h, std::uint64_t salt) {
  return mix64(h.high ^ salt) ^ h.low;
}

// GPT-2's tokens for "\n" and "\n\n": where a long document is best cut.
inline constexpr std::uint16_t newline_token = 198, blank_line_token = 628;

// Where to end a piece of `tokens` that starts at `begin` and may hold `room`
// tokens: after the last line break in the second half of that room, else at
// the room's end.
[[nodiscard]] inline std::size_t piece_end(const std::vector<std::uint16_t>& tokens, std::size_t begin, std::size_t room) {
  const std::size_t hard = begin + room;
  if (hard >= tokens.size()) return tokens.size();
  for (std::size_t k = hard; k > begin + room / 2; --k)
    if (tokens[k - 1] == blank_line_token || tokens[k - 1] == newline_token) return k;
  return hard;
}

}  // namespace detail

[[nodiscard]] inline Result<BuildReport> build_shards(const BuildOptions& options, const Gpt2Tokenizer& tokenizer,
                                                      const std::function<void(const BuildProgress&)>& progress = {}) {
  namespace fs = std::filesystem;
  auto report_progress = [&](std::string_view stage, std::uint64_t done, std::uint64_t total, std::string_view unit) {
    if (progress) progress(BuildProgress{stage, done, total, unit});
  };
  if (options.shard_tokens == 0 || options.shard_tokens > std::uint64_t(INT32_MAX))
    return fail("--shard-tokens " + std::to_string(options.shard_tokens) + " is out of range", "use 1 to 2147483647");
  if (options.val_tokens > std::uint64_t(INT32_MAX))
    return fail("--val-tokens " + std::to_string(options.val_tokens) + " does not fit one shard", "use at most 2147483647");
  if (options.max_document_tokens != 0 && options.max_document_tokens < 16)
    return fail("--max-document-tokens " + std::to_string(options.max_document_tokens) + " is too small to cut documents into",
                "use 0 (no limit) or at least 16");
  if (options.name.empty() || options.name.find_first_of("/\\ ") != std::string::npos)
    return fail("--name '" + options.name + "' is not a plain file name prefix", "use letters, digits, - or _");

  // Refuse to overwrite shards of the same name unless asked: nothing already written is lost.
  std::error_code ec;
  fs::create_directories(options.out, ec);
  if (ec) return fail(options.out.string() + ": cannot create the output folder: " + ec.message(), "check the path and permissions");
  auto existing = find_shards(options.out);
  if (!existing) return std::unexpected(existing.error());
  std::vector<fs::path> ours;
  for (const auto* list : {&existing->train, &existing->val})
    for (const auto& p : *list)
      if (p.filename().string().starts_with(options.name + "_")) ours.push_back(p);
  if (!ours.empty() && !options.force)
    return fail(options.out.string() + ": already holds " + std::to_string(ours.size()) + " shard(s) named " + options.name +
                    "_* (" + ours.front().filename().string() + ", ...)",
                "pass --force to replace them, or choose another --out or --name");

  auto files = expand_sources(options.sources);
  if (!files) return std::unexpected(files.error());

  BuildReport report;
  // 1. read and split, in file order
  struct Doc {
    std::string text;
    DocumentHash hash;
    std::vector<std::uint16_t> tokens;
  };
  std::vector<Doc> docs;
  {
    for (std::size_t f = 0; f < files->size(); ++f) {
      const fs::path& path = (*files)[f];
      report_progress("read", f, files->size(), "files");
      ++report.files;
      const CorpusFormat format = corpus_format_of(path);
      if (format == CorpusFormat::binary) {
        ++report.skipped_files;
        continue;
      }
      auto bytes = read_text_file(path);
      if (!bytes) return std::unexpected(bytes.error());
      if (!looks_like_text(*bytes)) {
        ++report.skipped_files;
        continue;
      }
      auto split = split_documents(path, *bytes, format);
      if (!split) return std::unexpected(split.error());
      for (auto& d : *split) {
        ++report.documents;
        std::string text = normalize_document(d.text);
        if (text.empty()) {
          ++report.empty_documents;
          continue;
        }
        docs.push_back({std::move(text), {}, {}});
        docs.back().hash = hash_document(docs.back().text);
      }
    }
    report_progress("read", files->size(), files->size(), "files");
    // dedupe: keep the first copy in file order
    std::vector<std::size_t> order(docs.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return docs[a].hash < docs[b].hash; });
    std::vector<bool> keep(docs.size(), true);
    for (std::size_t k = 1; k < order.size(); ++k)
      if (docs[order[k]].hash == docs[order[k - 1]].hash) keep[order[k]] = false;
    // compact in place; a document never moves onto itself (a self-move
    // assignment empties a std::string, which once lost every document
    // kept before the first duplicate)
    std::size_t w = 0;
    for (std::size_t k = 0; k < docs.size(); ++k) {
      if (!keep[k]) continue;
      if (w != k) docs[w] = std::move(docs[k]);
      ++w;
    }
    report.duplicates = docs.size() - w;
    docs.resize(w);
  }
  for (const auto& d : docs) report.text_bytes += d.text.size();

  // 2. tokenize on every core; each document's tokens land in its own slot,
  // so the result does not depend on scheduling
  {
    const unsigned threads = options.threads != 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());
    std::atomic<std::size_t> next{0};
    std::atomic<std::uint64_t> bytes_done{0};
    std::mutex progress_mutex;
    const std::uint64_t total_mb = (report.text_bytes + 999'999) / 1'000'000;
    auto work = [&] {
      Gpt2Tokenizer::Cache cache;
      std::uint64_t last_reported = 0;
      for (std::size_t i; (i = next.fetch_add(1)) < docs.size();) {
        auto& d = docs[i];
        d.tokens.push_back(end_of_text);
        tokenizer.encode(d.text, d.tokens, cache);
        const std::uint64_t done = bytes_done.fetch_add(d.text.size()) + d.text.size();
        if (progress && done - last_reported > 4'000'000) {
          last_reported = done;
          std::lock_guard lock(progress_mutex);
          report_progress("tokenize", done / 1'000'000, total_mb, "MB");
        }
        std::string().swap(d.text);  // the text is no longer needed
      }
    };
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
    report_progress("tokenize", total_mb, total_mb, "MB");
  }
  std::uint64_t total_tokens = 0;
  for (const auto& d : docs) total_tokens += d.tokens.size();
  if (total_tokens < options.val_tokens + options.min_total_tokens || total_tokens <= options.val_tokens)
    return fail("the corpus has " + std::to_string(total_tokens) + " tokens, too few for " +
                    std::to_string(options.val_tokens) + " validation tokens" +
                    (options.min_total_tokens ? " and the required " + std::to_string(options.min_total_tokens) + " in all" : std::string()),
                "add sources or lower --val-tokens", ExitCode::failure);

  // 3. split by document: val takes whole documents in one hash order while
  // they fit, and cuts one when fewer than 4096 tokens are missing (its tail
  // is dropped: no text is in both splits); train takes the rest in another
  // hash order, a shuffle that mixes the sources
  std::vector<std::size_t> order(docs.size());
  std::iota(order.begin(), order.end(), 0);
  auto by_key = [&](std::uint64_t salt) {
    return [&docs, salt](std::size_t a, std::size_t b) {
      const auto ka = detail::order_key(docs[a].hash, salt), kb = detail::order_key(docs[b].hash, salt);
      return ka != kb ? ka < kb : docs[a].hash < docs[b].hash;
    };
  };
  std::sort(order.begin(), order.end(), by_key(0x76616c));  // "val"
  std::vector<std::uint16_t> val;
  val.reserve(options.val_tokens);
  std::vector<bool> in_val(docs.size(), false);
  std::size_t taken = 0;
  for (std::size_t k = 0; k < order.size() && val.size() < options.val_tokens; ++k) {
    const auto& t = docs[order[k]].tokens;
    const std::uint64_t missing = options.val_tokens - val.size();
    if (t.size() > missing && missing >= 4096) continue;  // too big to fit: leave it to train
    const std::size_t n = std::min<std::size_t>(t.size(), missing);
    val.insert(val.end(), t.begin(), t.begin() + std::ptrdiff_t(n));
    report.dropped_tokens += t.size() - n;
    in_val[order[k]] = true;
    ++taken;
  }
  if (val.size() < options.val_tokens)
    return fail("the corpus cannot fill " + std::to_string(options.val_tokens) + " validation tokens with whole documents",
                "lower --val-tokens or add sources", ExitCode::failure);
  // train: every other document, cut into pieces of at most max_document_tokens
  // (each piece after the first gets its own <|endoftext|>), in a hash order
  struct Piece {
    std::size_t doc, begin, end;  // tokens [begin, end) of docs[doc]
    DocumentHash key;
  };
  std::vector<Piece> train;
  for (std::size_t k : order) {
    if (in_val[k]) continue;
    const auto& t = docs[k].tokens;
    const std::size_t limit = options.max_document_tokens;
    if (limit == 0 || t.size() <= limit) {
      train.push_back({k, 0, t.size(), docs[k].hash});
      continue;
    }
    ++report.cut_documents;
    std::uint64_t index = 0;
    // the first piece holds the document's own <|endoftext|>; later ones get one
    for (std::size_t at = 0; at < t.size(); ++index) {
      const std::size_t end = detail::piece_end(t, at, at == 0 ? limit : limit - 1);
      const DocumentHash h = docs[k].hash;
      train.push_back({k, at, end, {h.high ^ detail::mix64(index), h.low + index * 0x9E3779B97F4A7C15ULL}});
      at = end;
    }
  }
  if (train.empty()) return fail("no documents are left for training after the validation split", "lower --val-tokens or add sources", ExitCode::failure);
  report.val_documents = taken;
  report.val_tokens = val.size();
  std::sort(train.begin(), train.end(), [salt = std::uint64_t(0x747261696e)](const Piece& a, const Piece& b) {  // "train"
    const auto ka = detail::order_key(a.key, salt), kb = detail::order_key(b.key, salt);
    return ka != kb ? ka < kb : a.key < b.key;
  });
  report.train_documents = 0;
  std::uint64_t train_tokens = 0;
  for (const auto& p : train) {
    const std::uint64_t n = p.end - p.begin + (p.begin != 0 ? 1 : 0);
    train_tokens += n;
    report.longest_train_document = std::max(report.longest_train_document, n);
    report.train_documents += p.begin == 0 ? 1 : 0;
  }
  report.pieces = train.size();

  // 4. write: remove our stale shards first (--force), then val and train
  for (const auto& p : ours) fs::remove(p, ec);
  const std::uint64_t shard_count = (train_tokens + options.shard_tokens - 1) / options.shard_tokens;
  report_progress("write", 0, shard_count + 1, "shards");
  std::size_t written = 0;
  const fs::path val_path = options.out / shard_file_name(options.name, Split::val, 0);
  if (auto w = write_shard(val_path, val); !w) return std::unexpected(w.error());
  report.shards.push_back(val_path);
  report_progress("write", ++written, shard_count + 1, "shards");
  std::vector<std::uint16_t>().swap(val);
  std::vector<std::uint16_t> shard;
  shard.reserve(std::min<std::uint64_t>(options.shard_tokens, train_tokens));
  std::size_t index = 1;
  auto flush = [&]() -> Result<void> {
    const fs::path p = options.out / shard_file_name(options.name, Split::train, index++);
    if (auto w = write_shard(p, shard); !w) return w;
    report.shards.push_back(p);
    report.train_tokens += shard.size();
    shard.clear();
    report_progress("write", ++written, shard_count + 1, "shards");
    return {};
  };
  auto append = [&](std::span<const std::uint16_t> t) -> Result<void> {
    for (std::size_t at = 0; at < t.size();) {
      const std::size_t n = std::min<std::size_t>(t.size() - at, options.shard_tokens - shard.size());
      shard.insert(shard.end(), t.begin() + std::ptrdiff_t(at), t.begin() + std::ptrdiff_t(at + n));
      at += n;
      if (shard.size() == options.shard_tokens)
        if (auto w = flush(); !w) return w;
    }
    return {};
  };
  for (const auto& p : train) {
    const std::uint16_t eot = end_of_text;
    if (p.begin != 0)
      if (auto w = append({&eot, 1}); !w) return std::unexpected(w.error());
    const auto& t = docs[p.doc].tokens;
    if (auto w = append(std::span(t).subspan(p.begin, p.end - p.begin)); !w) return std::unexpected(w.error());
  }
  if (!shard.empty())
    if (auto w = flush(); !w) return std::unexpected(w.error());
  return report;
}

}  // namespace speedrunner::data
