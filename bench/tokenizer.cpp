// Tokenizer throughput: MB/s of GPT-2 encoding on one core and on all cores,
// over real documents (the mini corpus's sources by default), printed as a table.
//   bench/tokenizer [--source DIR_OR_GLOB...] [--mb N] [--threads N]
#include <speedrunner/data/corpus.hpp>
#include <speedrunner/data/mini_corpus.hpp>
#include <speedrunner/data/tokenizer.hpp>

#include <atomic>
#include <sys/resource.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace data = speedrunner::data;

namespace {

struct Row {
  std::string what;
  unsigned threads;
  double seconds, cpu_seconds;
  std::uint64_t bytes, tokens;
};

// Process CPU time: on a shared machine, MB per CPU-second is the speed of
// one core that is actually running, which wall time under load hides.
double cpu_now() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Encodes every document, `threads` workers pulling documents from a shared
// counter, each with its own cache (as `speedrun data build` does).
Row encode_all(const data::Gpt2Tokenizer& tok, const std::vector<std::string>& docs, unsigned threads,
               const std::string& what) {
  std::atomic<std::size_t> next{0};
  std::atomic<std::uint64_t> tokens{0}, bytes{0};
  const double cpu_start = cpu_now();
  const auto start = std::chrono::steady_clock::now();
  auto work = [&] {
    data::Gpt2Tokenizer::Cache cache;
    std::vector<std::uint16_t> out;
    std::uint64_t t = 0, b = 0;
    for (std::size_t i; (i = next.fetch_add(1)) < docs.size();) {
      out.clear();
      tok.encode(docs[i], out, cache);
      t += out.size();
      b += docs[i].size();
    }
    tokens += t;
    bytes += b;
  };
  std::vector<std::thread> pool;
  for (unsigned k = 1; k < threads; ++k) pool.emplace_back(work);
  work();
  for (auto& p : pool) p.join();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {what, threads, s, cpu_now() - cpu_start, bytes, tokens};
}

Row pretokenize_only(const std::vector<std::string>& docs) {
  const double cpu_start = cpu_now();
  const auto start = std::chrono::steady_clock::now();
  std::uint64_t pieces = 0, bytes = 0;
  for (const auto& d : docs) {
    data::detail::for_each_pretoken(d, [&](std::string_view) { ++pieces; });
    bytes += d.size();
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {"pre-tokenize only (pieces)", 1, s, cpu_now() - cpu_start, bytes, pieces};
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> sources;
  std::uint64_t max_mb = 64;
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--source") {
      while (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) sources.emplace_back(argv[++i]);
    } else if (a == "--mb" && i + 1 < argc) {
      max_mb = std::stoull(argv[++i]);
    } else if (a == "--threads" && i + 1 < argc) {
      threads = unsigned(std::stoul(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: %s [--source DIR_OR_GLOB...] [--mb N] [--threads N]\n", argv[0]);
      return 2;
    }
  }
  if (sources.empty()) {
    auto mini = data::mini_source_patterns();
    if (!mini) {
      std::fprintf(stderr, "tokenizer bench: %s\n  or pass --source DIR_OR_GLOB\n", mini.error().message().c_str());
      return 2;
    }
    sources = *mini;
  }
  auto tok = data::Gpt2Tokenizer::load();
  if (!tok) {
    std::fprintf(stderr, "tokenizer bench: %s\n", tok.error().message().c_str());
    return 2;
  }
  auto files = data::expand_sources(sources);
  if (!files) {
    std::fprintf(stderr, "tokenizer bench: %s\n", files.error().message().c_str());
    return 2;
  }
  // Take documents spread over all files (every k-th file) up to the budget,
  // so the sample mixes prose, markup and dictionaries.
  std::vector<std::string> docs;
  std::uint64_t total = 0;
  const std::uint64_t budget = max_mb * 1'000'000;
  for (std::size_t stride = 7, round = 0; round < stride && total < budget; ++round)
    for (std::size_t f = round; f < files->size() && total < budget; f += stride) {
      const auto& path = (*files)[f];
      const auto format = data::corpus_format_of(path);
      if (format == data::CorpusFormat::binary) continue;
      auto bytes = data::read_text_file(path);
      if (!bytes || !data::looks_like_text(*bytes)) continue;
      auto split = data::split_documents(path, *bytes, format);
      if (!split) continue;
      for (auto& d : *split) {
        if (total >= budget) break;
        total += d.text.size();
        docs.push_back(std::move(d.text));
      }
    }

  std::vector<Row> rows;
  rows.push_back(pretokenize_only(docs));
  rows.push_back(encode_all(*tok, docs, 1, "encode, cold cache"));
  rows.push_back(encode_all(*tok, docs, threads, "encode, cold caches"));
  double load[1] = {0};
  ::getloadavg(load, 1);
  std::printf("GPT-2 tokenizer: %zu documents, %.1f MB, %u hardware threads, load average %.1f\n\n", docs.size(),
              double(total) / 1e6, std::thread::hardware_concurrency(), load[0]);
  std::printf("| %-28s | %7s | %8s | %8s | %9s | %11s |\n", "run", "threads", "seconds", "MB/s", "MB/CPU-s", "Mtokens/s");
  std::printf("|%s|%s|%s|%s|%s|%s|\n", std::string(30, '-').c_str(), std::string(9, '-').c_str(),
              std::string(10, '-').c_str(), std::string(10, '-').c_str(), std::string(11, '-').c_str(),
              std::string(13, '-').c_str());
  for (const auto& r : rows)
    std::printf("| %-28s | %7u | %8.2f | %8.1f | %9.1f | %11.2f |\n", r.what.c_str(), r.threads, r.seconds,
                double(r.bytes) / 1e6 / r.seconds, double(r.bytes) / 1e6 / r.cpu_seconds, double(r.tokens) / 1e6 / r.seconds);
  return 0;
}
