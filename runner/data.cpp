// `speedrun data build|mini|check`: text corpora into GPT-2 token shards
// (modded-nanogpt's .bin format), the mini track's corpus, and shard checks.
#include "commands.hpp"

#include <speedrunner/data/build.hpp>
#include <speedrunner/data/identity.hpp>
#include <speedrunner/data/mini_corpus.hpp>
#include <speedrunner/data/shard.hpp>
#include <speedrunner/data/tokenizer.hpp>

#include <array>
#include <chrono>
#include <initializer_list>
#include <cstdio>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

namespace speedrun {
namespace {

namespace data = speedrunner::data;
using speedrunner::ExitCode;

constexpr std::string_view build_usage =
    "  speedrun data build --source DIR_OR_GLOB... --out DIR --val-tokens N [--shard-tokens N]\n"
    "                      [--max-document-tokens N] [--name NAME] [--threads N] [--force] [--tokenizer DIR]\n"
    "      tokenize a corpus into NAME_val_000000.bin and NAME_train_%06d.bin (NAME: corpus;\n"
    "      --shard-tokens: 100000000, FineWeb's; --max-document-tokens: 0, no limit)\n";
constexpr std::string_view mini_usage =
    "  speedrun data mini [--out DIR] [--val-tokens N] [--shard-tokens N] [--max-document-tokens N]\n"
    "                     [--threads N] [--force]\n"
    "      build the mini track's corpus from Debian documentation packages (default out: data/mini,\n"
    "      1048576 val tokens, 8388608 tokens a shard, training documents cut at 4096 tokens)\n";
constexpr std::string_view check_usage =
    "  speedrun data check DIR\n"
    "      validate a folder of shards, print their token counts and the data's hash\n";
constexpr std::string_view data_notes =
    "\n"
    "A source is a file, a folder (every file below it) or a quoted glob ('docs/**/*.rst').\n"
    "Dictionaries in dictd format and fortune files are split into one document per entry.\n"
    "The tokenizer files come from $SPEEDRUNNER_TOKENIZER_DIR or ~/.cache/speedrunner/tokenizer\n"
    "(scripts/fetch-tokenizer installs them through npm).\n"
    "A training document longer than --max-document-tokens is cut into pieces (at a line break\n"
    "where one is near), each starting with <|endoftext|>, shuffled apart like documents.\n"
    "The data's hash covers every token, in order, and which split it is in: a task pins its\n"
    "track's data with data.data_hash, and `speedrun report` compares it with the baselines'.\n"
    "docs/data.md has the details.\n";

void print_usage(std::FILE* to, std::initializer_list<std::string_view> parts) {
  std::fputs("Usage:\n", to);
  for (auto p : parts) std::fwrite(p.data(), 1, p.size(), to);
  std::fwrite(data_notes.data(), 1, data_notes.size(), to);
}

bool asks_help(std::span<const std::string_view> args) {
  return !args.empty() && (args[0] == "--help" || args[0] == "-h");
}

int usage_error(const std::string& what) {
  std::fprintf(stderr, "speedrun data: %s\n  fix: see `speedrun data --help`\n", what.c_str());
  return int(ExitCode::usage);
}

int report_error(const speedrunner::Error& e) {
  std::fprintf(stderr, "speedrun data: %s\n", e.message().c_str());
  return int(e.code);
}

std::optional<std::uint64_t> parse_count(std::string_view text) {
  std::uint64_t v = 0;
  if (text.empty()) return std::nullopt;
  for (char c : text) {
    if (c == '_' || c == ',') continue;  // 10_000_000 reads as it looks
    if (c < '0' || c > '9' || v > (UINT64_MAX - 9) / 10) return std::nullopt;
    v = v * 10 + std::uint64_t(c - '0');
  }
  return v;
}

// Draws one progress line: redrawn in place on a terminal, a plain line per
// stage step (0, 25, 50, 75, 100%) otherwise, so logs stay readable.
class ProgressBar {
 public:
  ProgressBar() : terminal_(::isatty(STDERR_FILENO) == 1) {}
  void operator()(const data::BuildProgress& p) {
    const int percent = p.total == 0 ? 100 : int(p.done * 100 / p.total);
    if (terminal_) {
      const auto now = std::chrono::steady_clock::now();
      if (p.done != p.total && now - last_ < std::chrono::milliseconds(100)) return;
      last_ = now;
      constexpr int width = 30;
      std::string bar(std::size_t(percent * width / 100), '#');
      bar.resize(width, '.');
      std::fprintf(stderr, "\r%-9.*s [%s] %3d%% %llu/%llu %.*s   ", int(p.stage.size()), p.stage.data(), bar.c_str(),
                   percent, (unsigned long long)p.done, (unsigned long long)p.total, int(p.unit.size()), p.unit.data());
      if (p.done == p.total) std::fputc('\n', stderr);
    } else {
      const int step = percent / 25;
      if (p.stage == stage_ && step == step_) return;
      stage_ = std::string(p.stage);
      step_ = step;
      std::fprintf(stderr, "%s: %d%% (%llu/%llu %.*s)\n", stage_.c_str(), percent, (unsigned long long)p.done,
                   (unsigned long long)p.total, int(p.unit.size()), p.unit.data());
    }
    std::fflush(stderr);
  }

 private:
  bool terminal_;
  std::chrono::steady_clock::time_point last_{};
  std::string stage_;
  int step_ = -1;
};

void print_report(const data::BuildReport& r, const std::filesystem::path& out) {
  std::printf("files      %llu read, %llu skipped (binary or index files)\n", (unsigned long long)r.files,
              (unsigned long long)r.skipped_files);
  std::printf("documents  %llu found, %llu duplicates and %llu empty dropped, %llu kept (%.1f MB of text)\n",
              (unsigned long long)r.documents, (unsigned long long)r.duplicates, (unsigned long long)r.empty_documents,
              (unsigned long long)(r.val_documents + r.train_documents), double(r.text_bytes) / 1e6);
  std::printf("val        %llu tokens from %llu documents (%llu tokens of its last document dropped)\n",
              (unsigned long long)r.val_tokens, (unsigned long long)r.val_documents, (unsigned long long)r.dropped_tokens);
  std::printf("train      %llu tokens from %llu documents in %zu shards\n", (unsigned long long)r.train_tokens,
              (unsigned long long)r.train_documents, r.shards.empty() ? 0 : r.shards.size() - 1);
  if (r.cut_documents != 0)
    std::printf("cut        %llu long documents, into %llu training pieces in all; the longest has %llu tokens\n",
                (unsigned long long)r.cut_documents, (unsigned long long)r.pieces,
                (unsigned long long)r.longest_train_document);
  std::printf("written    %s\n", out.string().c_str());
}

struct BuildArgs {
  data::BuildOptions options;
  std::filesystem::path tokenizer_dir = data::default_tokenizer_dir();
  bool has_out = false, has_val = false;
};

// Parses the options build and mini share; `allow_sources` only for build.
std::optional<int> parse_build_args(std::span<const std::string_view> args, BuildArgs& b, bool allow_sources) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    auto value = [&]() -> std::optional<std::string_view> {
      if (i + 1 >= args.size() || args[i + 1].starts_with("--")) return std::nullopt;
      return args[++i];
    };
    auto count = [&](std::uint64_t& into) -> std::optional<int> {
      auto v = value();
      auto n = v ? parse_count(*v) : std::nullopt;
      if (!n) return usage_error(std::string(a) + " needs a whole number" + (v ? ", not '" + std::string(*v) + "'" : ""));
      into = *n;
      return std::nullopt;
    };
    if (a == "--source" && allow_sources) {
      std::size_t before = b.options.sources.size();
      while (i + 1 < args.size() && !args[i + 1].starts_with("--")) b.options.sources.emplace_back(args[++i]);
      if (b.options.sources.size() == before) return usage_error("--source needs at least one file, folder or glob");
    } else if (a == "--out") {
      auto v = value();
      if (!v) return usage_error("--out needs a folder");
      b.options.out = std::string(*v);
      b.has_out = true;
    } else if (a == "--name") {
      auto v = value();
      if (!v) return usage_error("--name needs a shard name prefix");
      b.options.name = std::string(*v);
    } else if (a == "--tokenizer") {
      auto v = value();
      if (!v) return usage_error("--tokenizer needs the folder holding encoder.json and vocab.bpe");
      b.tokenizer_dir = std::string(*v);
    } else if (a == "--val-tokens") {
      if (auto e = count(b.options.val_tokens)) return e;
      b.has_val = true;
    } else if (a == "--shard-tokens") {
      if (auto e = count(b.options.shard_tokens)) return e;
    } else if (a == "--max-document-tokens") {
      if (auto e = count(b.options.max_document_tokens)) return e;
    } else if (a == "--threads") {
      std::uint64_t t = 0;
      if (auto e = count(t)) return e;
      if (t == 0 || t > 1024) return usage_error("--threads must be between 1 and 1024");
      b.options.threads = unsigned(t);
    } else if (a == "--force") {
      b.options.force = true;
    } else {
      return usage_error("unknown option '" + std::string(a) + "'");
    }
  }
  return std::nullopt;
}

int run_build(const BuildArgs& b) {
  auto tokenizer = data::Gpt2Tokenizer::load(b.tokenizer_dir);
  if (!tokenizer) return report_error(tokenizer.error());
  ProgressBar bar;
  const auto start = std::chrono::steady_clock::now();
  auto report = data::build_shards(b.options, *tokenizer, std::ref(bar));
  if (!report) return report_error(report.error());
  print_report(*report, b.options.out);
  std::vector<std::filesystem::path> val(report->shards.begin(), report->shards.begin() + 1),
      train(report->shards.begin() + 1, report->shards.end());
  auto id = data::identify_data(val, train);
  if (!id) return report_error(id.error());
  std::printf("data hash  %s\n", id->hash.c_str());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("time       %.1f s\n", seconds);
  return 0;
}

int data_build(std::span<const std::string_view> args) {
  BuildArgs b;
  if (auto e = parse_build_args(args, b, true)) return *e;
  if (b.options.sources.empty()) return usage_error("data build needs --source");
  if (!b.has_out) return usage_error("data build needs --out DIR");
  if (!b.has_val) return usage_error("data build needs --val-tokens N");
  return run_build(b);
}

int data_mini(std::span<const std::string_view> args) {
  BuildArgs b;
  b.options.out = "data/mini";
  b.options.name = "mini";
  b.options.val_tokens = 1 << 20;
  b.options.shard_tokens = 1 << 23;
  b.options.min_total_tokens = data::mini_min_tokens;
  b.options.max_document_tokens = data::mini_max_document_tokens;
  if (auto e = parse_build_args(args, b, false)) return *e;
  auto sources = data::mini_source_patterns();
  if (!sources) return report_error(sources.error());
  b.options.sources = std::move(*sources);
  return run_build(b);
}

int data_check(std::span<const std::string_view> args) {
  if (args.size() != 1 || args[0].starts_with("--")) return usage_error("data check needs exactly one folder");
  const std::filesystem::path dir(args[0]);
  auto set = data::find_shards(dir);
  if (!set) return report_error(set.error());
  if (set->train.empty() && set->val.empty())
    return report_error({dir.string() + ": holds no NAME_train_NNNNNN.bin or NAME_val_NNNNNN.bin shards",
                         "pass the folder that `speedrun data build` or cached_fineweb10B.py wrote", ExitCode::failure});
  std::uint64_t totals[2] = {0, 0}, documents[2] = {0, 0}, files[2] = {0, 0};
  int bad = 0;
  std::printf("%-36s %14s %12s\n", "shard", "tokens", "documents");
  for (int split = 0; split < 2; ++split) {
    for (const auto& path : split == 0 ? set->val : set->train) {
      auto stats = data::scan_shard(path);
      if (!stats) {
        std::printf("%-36s %s\n", path.filename().string().c_str(), "CORRUPT");
        std::fprintf(stderr, "speedrun data check: %s\n", stats.error().message().c_str());
        ++bad;
        continue;
      }
      std::printf("%-36s %14llu %12llu\n", path.filename().string().c_str(), (unsigned long long)stats->info.tokens,
                  (unsigned long long)stats->documents);
      totals[split] += stats->info.tokens;
      documents[split] += stats->documents;
      ++files[split];
    }
  }
  std::printf("val   %llu tokens in %llu shard(s)\ntrain %llu tokens in %llu shard(s)\n", (unsigned long long)totals[0],
              (unsigned long long)files[0], (unsigned long long)totals[1], (unsigned long long)files[1]);
  if (bad == 0)
    if (auto id = data::identify_data(set->val, set->train)) std::printf("data hash %s\n", id->hash.c_str());
  for (const auto& p : set->unrecognized)
    std::fprintf(stderr, "speedrun data check: note: %s is not named like a shard (NAME_train_NNNNNN.bin); not checked\n",
                 p.string().c_str());
  if (bad != 0) {
    std::fprintf(stderr, "speedrun data check: %d corrupt shard(s)\n  fix: regenerate them (speedrun data build)\n", bad);
    return int(ExitCode::failure);
  }
  return 0;
}

}  // namespace

int data_command(std::span<const std::string_view> args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_usage(args.empty() ? stderr : stdout, {build_usage, mini_usage, check_usage});
    return args.empty() ? int(ExitCode::usage) : 0;
  }
  const auto rest = args.subspan(1);
  const std::array<std::pair<std::string_view, std::string_view>, 3> usages{
      {{"build", build_usage}, {"mini", mini_usage}, {"check", check_usage}}};
  for (const auto& [name, usage] : usages)
    if (args[0] == name && asks_help(rest)) return print_usage(stdout, {usage}), 0;
  if (args[0] == "build") return data_build(rest);
  if (args[0] == "mini") return data_mini(rest);
  if (args[0] == "check") return data_check(rest);
  return usage_error("unknown data command '" + std::string(args[0]) + "' (build, mini, check)");
}

}  // namespace speedrun
