// Tests of include/speedrunner/data/build.hpp and `speedrun data build`: the
// fixture corpus builds to the same bytes every time, whatever the thread
// count, with documents split by format, deduplicated and each starting with
// <|endoftext|>. Needs the GPT-2 tokenizer files (run through the skip wrapper).
#include <speedrunner/data/build.hpp>

#include "catch.hpp"
#include "support.hpp"

#include <fstream>
#include <set>

namespace data = speedrunner::data;
using speedrunner::testing::TempDir;
using speedrunner::testing::run_shell;

namespace {

const data::Gpt2Tokenizer& tokenizer() {
  static const data::Gpt2Tokenizer t = data::Gpt2Tokenizer::load().value();
  return t;
}

std::filesystem::path fixture() { return speedrunner::testing::source_root() / "tests/data/fixtures/corpus"; }

std::string bytes_of(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

data::BuildOptions fixture_options(const std::filesystem::path& out) {
  data::BuildOptions o;
  o.sources = {fixture().string()};
  o.out = out;
  o.name = "fixture";
  o.val_tokens = 16;
  o.shard_tokens = 40;
  return o;
}

// Every document of the shards, decoded, split at <|endoftext|>.
std::multiset<std::string> documents_in(const std::vector<std::filesystem::path>& shards, bool& starts_with_eot) {
  std::vector<std::uint16_t> all;
  for (const auto& s : shards) {
    auto tokens = data::read_shard(s).value();
    all.insert(all.end(), tokens.begin(), tokens.end());
  }
  starts_with_eot = !all.empty() && all.front() == data::end_of_text;
  std::multiset<std::string> docs;
  std::vector<std::uint16_t> current;
  for (std::size_t i = 1; i <= all.size(); ++i) {
    if (i == all.size() || all[i] == data::end_of_text) {
      docs.insert(tokenizer().decode(current).value());
      current.clear();
    } else {
      current.push_back(all[i]);
    }
  }
  return docs;
}

}  // namespace

TEST_CASE("the fixture corpus builds to the same bytes with 1 or 3 threads", "[data][build]") {
  TempDir a, b;
  auto options = fixture_options(a.path());
  options.threads = 1;
  auto first = data::build_shards(options, tokenizer());
  REQUIRE(first);
  options.out = b.path();
  options.threads = 3;
  auto second = data::build_shards(options, tokenizer());
  REQUIRE(second);
  REQUIRE(first->shards.size() == second->shards.size());
  for (std::size_t k = 0; k < first->shards.size(); ++k) {
    CHECK(first->shards[k].filename() == second->shards[k].filename());
    CHECK(bytes_of(first->shards[k]) == bytes_of(second->shards[k]));
  }
}

TEST_CASE("a build splits formats, drops duplicates and blanks, and sizes the shards", "[data][build]") {
  TempDir out;
  auto report = data::build_shards(fixture_options(out.path()), tokenizer());
  REQUIRE(report);
  CHECK(report->files == 9);
  CHECK(report->skipped_files == 2);  // fruit.index, quotes.dat
  // 5 plain files + 3 dictionary entries + 3 fortunes
  CHECK(report->documents == 11);
  CHECK(report->duplicates == 1);     // alpha-copy.txt differs from alpha.txt only in blanks
  CHECK(report->empty_documents == 1);
  CHECK(report->val_tokens == 16);
  CHECK(report->val_documents + report->train_documents == 9);

  auto set = data::find_shards(out.path()).value();
  REQUIRE(set.val.size() == 1);
  CHECK(set.val[0].filename() == "fixture_val_000000.bin");
  CHECK(data::read_shard_header(set.val[0]).value().tokens == 16);
  REQUIRE(!set.train.empty());
  CHECK(set.train[0].filename() == "fixture_train_000001.bin");
  std::uint64_t train_tokens = 0;
  for (std::size_t k = 0; k < set.train.size(); ++k) {
    const auto tokens = data::read_shard_header(set.train[k]).value().tokens;
    if (k + 1 < set.train.size()) CHECK(tokens == 40);
    train_tokens += tokens;
  }
  CHECK(train_tokens == report->train_tokens);

  // train holds whole documents, each after <|endoftext|>, exactly the kept ones not in val
  bool starts = false;
  const auto train_docs = documents_in(set.train, starts);
  CHECK(starts);
  CHECK(train_docs.size() == report->train_documents);
  CHECK(train_docs.count("The third fortune.\n") + train_docs.count("Another fortune,\nover two lines.\n") +
            train_docs.count("A fortune about computers.\n") <= 3);
  for (const auto& d : train_docs) CHECK(d.find("\n%\n") == std::string::npos);
  CHECK(train_docs.count("The first document of the fixture corpus.\nIt has two lines.\n") <= 1);
}

TEST_CASE("a build refuses to overwrite shards unless forced", "[data][build]") {
  TempDir out;
  REQUIRE(data::build_shards(fixture_options(out.path()), tokenizer()));
  auto again = data::build_shards(fixture_options(out.path()), tokenizer());
  REQUIRE(!again);
  CHECK(again.error().what.find("already holds") != std::string::npos);
  CHECK(again.error().fix.find("--force") != std::string::npos);
  // a stale extra train shard from an earlier, larger build goes away with --force
  REQUIRE(data::write_shard(out.path() / "fixture_train_000099.bin", std::vector<std::uint16_t>{50256}));
  auto options = fixture_options(out.path());
  options.force = true;
  REQUIRE(data::build_shards(options, tokenizer()));
  CHECK(!std::filesystem::exists(out.path() / "fixture_train_000099.bin"));
}

TEST_CASE("a corpus too small for its validation split is an error", "[data][build]") {
  TempDir out;
  auto options = fixture_options(out.path());
  options.val_tokens = 1'000'000;
  auto r = data::build_shards(options, tokenizer());
  REQUIRE(!r);
  CHECK(r.error().what.find("too few for 1000000 validation tokens") != std::string::npos);
  CHECK(data::find_shards(out.path()).value().val.empty());  // nothing written
}

TEST_CASE("speedrun data build writes shards that data check accepts", "[data][build][cli]") {
  TempDir out;
  const auto exe = speedrunner::testing::speedrun_exe();
  auto build = run_shell(exe + " data build --source '" + fixture().string() + "/docs' '" + fixture().string() +
                         "/quotes' --out '" + out.path().string() + "' --val-tokens 8 --shard-tokens 1_000 --name t");
  INFO(build.output);
  REQUIRE(build.status == 0);
  CHECK(build.output.find("val        8 tokens") != std::string::npos);
  CHECK(build.output.find("read: 100%") != std::string::npos);  // plain progress lines off a terminal
  auto check = run_shell(exe + " data check '" + out.path().string() + "'");
  INFO(check.output);
  CHECK(check.status == 0);
  CHECK(check.output.find("t_val_000000.bin") != std::string::npos);
  CHECK(check.output.find("t_train_000001.bin") != std::string::npos);
}

TEST_CASE("speedrun data build names a missing tokenizer and the fix", "[data][build][cli]") {
  TempDir out, empty;
  auto r = run_shell(speedrunner::testing::speedrun_exe() + " data build --source '" + fixture().string() + "' --out '" +
                     out.path().string() + "' --val-tokens 8 --shard-tokens 100 --tokenizer '" + empty.path().string() + "'");
  CHECK(r.status == 2);
  CHECK(r.output.find("encoder.json: GPT-2 tokenizer file not found") != std::string::npos);
  CHECK(r.output.find("scripts/fetch-tokenizer") != std::string::npos);
}
