// Tests of include/speedrunner/data/build.hpp and `speedrun data build`: the
// fixture corpus builds to the same bytes every time, whatever the thread
// count, with documents split by format, deduplicated and each starting with
// <|endoftext|>. Needs the GPT-2 tokenizer files (run through the skip wrapper).
#include <speedrunner/data/build.hpp>
#include <speedrunner/data/identity.hpp>

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
                         "/quotes' --out '" + out.path().string() + "' --val-tokens 8 --name t");
  INFO(build.output);
  REQUIRE(build.status == 0);
  CHECK(build.output.find("val        8 tokens") != std::string::npos);
  CHECK(build.output.find("read: 100%") != std::string::npos);  // plain progress lines off a terminal
  CHECK(build.output.find("data hash  ") != std::string::npos);
  auto check = run_shell(exe + " data check '" + out.path().string() + "'");
  INFO(check.output);
  CHECK(check.status == 0);
  // check prints the hash build printed
  const auto at = build.output.find("data hash  ");
  CHECK(check.output.find("data hash " + build.output.substr(at + 11, 32)) != std::string::npos);
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

namespace {

// Every token of the shards, val first, then train in name order.
std::vector<std::uint16_t> tokens_of(const std::vector<std::filesystem::path>& shards) {
  std::vector<std::uint16_t> all;
  for (const auto& s : shards) {
    auto tokens = data::read_shard(s).value();
    all.insert(all.end(), tokens.begin(), tokens.end());
  }
  return all;
}

// The pieces of a token stream between <|endoftext|> tokens, decoded.
std::vector<std::string> decoded_documents(const std::vector<std::uint16_t>& all) {
  std::vector<std::string> docs;
  std::vector<std::uint16_t> current;
  for (std::size_t i = 1; i <= all.size(); ++i) {
    if (i == all.size() || all[i] == data::end_of_text) {
      docs.push_back(tokenizer().decode(current).value());
      current.clear();
    } else {
      current.push_back(all[i]);
    }
  }
  return docs;
}

std::string sentence(int i) {
  return "Sentence " + std::to_string(i) + " of the round trip says that " +
         std::string(i % 2 ? "odd" : "even") + " numbers follow " + std::to_string(i * 7919 % 1000) + ".";
}

}  // namespace

TEST_CASE("a build of distinct text files decodes back to every file's text", "[data][build]") {
  TempDir in, out;
  // one file of 200 sentences (once written as nothing but <|endoftext|>) and
  // twelve small ones, none a duplicate of another
  std::vector<std::string> texts;
  {
    std::string big;
    for (int i = 0; i < 200; ++i) big += sentence(i) + "\n";
    texts.push_back(big);
    for (int f = 0; f < 12; ++f) texts.push_back("File " + std::to_string(f) + ": " + sentence(1000 + f) + "\n");
    for (std::size_t f = 0; f < texts.size(); ++f)
      std::ofstream(in.path() / ("doc" + std::to_string(f) + ".txt"), std::ios::binary) << texts[f];
  }
  data::BuildOptions o;
  o.sources = {in.path().string()};
  o.out = out.path();
  o.name = "rt";
  o.val_tokens = 20;
  o.shard_tokens = 500;
  auto report = data::build_shards(o, tokenizer());
  REQUIRE(report);
  CHECK(report->duplicates == 0);
  CHECK(report->train_tokens > 2000);  // the big file alone is over 3000 tokens

  auto set = data::find_shards(out.path()).value();
  const auto val_docs = decoded_documents(tokens_of(set.val));
  const auto train_docs = decoded_documents(tokens_of(set.train));
  // train holds whole files; val holds whole files and perhaps the head of its last one
  std::multiset<std::string> found(train_docs.begin(), train_docs.end());
  found.insert(val_docs.begin(), val_docs.end() - (report->dropped_tokens ? 1 : 0));
  std::size_t whole = 0;
  for (const auto& t : texts) whole += found.count(t);
  CHECK(whole == texts.size() - (report->dropped_tokens ? 1 : 0));
  CHECK(found.size() == whole);
  if (report->dropped_tokens) {
    const std::string& head = val_docs.back();
    CHECK(std::count_if(texts.begin(), texts.end(), [&](const std::string& t) { return t.starts_with(head); }) >= 1);
  }
}

TEST_CASE("a build cuts long training documents into shuffled pieces that rejoin to the text", "[data][build]") {
  TempDir in, out;
  std::string big;
  for (int i = 0; i < 300; ++i) big += sentence(i) + (i % 5 == 4 ? "\n\n" : "\n");
  std::ofstream(in.path() / "long.txt", std::ios::binary) << big;
  big = data::normalize_document(big);  // as stored: one final newline
  std::vector<std::string> small;
  for (int f = 0; f < 30; ++f) {
    small.push_back("Short file " + std::to_string(f) + ". " + sentence(2000 + f) + "\n");
    std::ofstream(in.path() / ("s" + std::to_string(f) + ".txt"), std::ios::binary) << small.back();
  }
  data::BuildOptions o;
  o.sources = {in.path().string()};
  o.out = out.path();
  o.name = "cut";
  o.val_tokens = 30;
  o.shard_tokens = 1 << 16;
  o.max_document_tokens = 256;
  auto report = data::build_shards(o, tokenizer());
  REQUIRE(report);
  CHECK(report->cut_documents == 1);
  CHECK(report->pieces > 12);  // over 3000 tokens in pieces of at most 256
  CHECK(report->longest_train_document <= 256);

  auto set = data::find_shards(out.path()).value();
  const auto train = tokens_of(set.train);
  CHECK(train.size() == report->train_tokens);
  // every piece (from one <|endoftext|> to the next) fits the limit
  std::size_t longest = 0, start = 0;
  for (std::size_t i = 1; i <= train.size(); ++i)
    if (i == train.size() || train[i] == data::end_of_text) longest = std::max(longest, i - start), start = i;
  CHECK(longest <= 256);
  // the long file's pieces, in their order, rejoin to its text; most end at a line break
  std::vector<std::string> pieces;
  for (const auto& d : decoded_documents(train))
    if (std::find(small.begin(), small.end(), d) == small.end()) pieces.push_back(d);
  REQUIRE(pieces.size() == report->pieces - (report->train_documents - 1));
  std::sort(pieces.begin(), pieces.end(), [&](const std::string& a, const std::string& b) { return big.find(a) < big.find(b); });
  std::string joined;
  int at_line_break = 0;
  for (const auto& p : pieces) joined += p, at_line_break += p.ends_with("\n") ? 1 : 0;
  CHECK(joined == big);
  CHECK(at_line_break >= int(pieces.size()) - 1);
  // shuffled apart like documents: the pieces do not stand in one run, in order
  const auto sequence = decoded_documents(train);
  std::vector<std::size_t> where;
  for (const auto& p : pieces) where.push_back(std::size_t(std::find(sequence.begin(), sequence.end(), p) - sequence.begin()));
  bool one_run = true;
  for (std::size_t k = 1; k < where.size(); ++k) one_run = one_run && where[k] == where[k - 1] + 1;
  CHECK(!one_run);
}

TEST_CASE("a data hash names the tokens and their split, not the files", "[data][build][identity]") {
  TempDir a, b;
  auto options = fixture_options(a.path());
  REQUIRE(data::build_shards(options, tokenizer()));
  options.out = b.path();
  options.name = "other";
  REQUIRE(data::build_shards(options, tokenizer()));
  auto set_a = data::find_shards(a.path()).value(), set_b = data::find_shards(b.path()).value();
  const auto id_a = data::identify_data(set_a.val, set_a.train).value();
  const auto id_b = data::identify_data(set_b.val, set_b.train).value();
  CHECK(id_a.hash.size() == 32);
  CHECK(id_a.hash == id_b.hash);  // same tokens under another name
  CHECK(id_a.val_tokens == 16);
  CHECK(id_a.train_shards == set_a.train.size());
  // the same files through globs
  CHECK(data::identify_data(std::vector<std::string>{(a.path() / "fixture_val_*.bin").string()},
                            std::vector<std::string>{(a.path() / "fixture_train_*.bin").string()})
            .value()
            .hash == id_a.hash);
  // a val shard counted as train is other data
  std::vector<std::filesystem::path> all_train = set_a.val;
  all_train.insert(all_train.end(), set_a.train.begin(), set_a.train.end());
  CHECK(data::identify_data({}, all_train).value().hash != id_a.hash);
  // one token changed is other data
  auto tokens = data::read_shard(set_b.train.back()).value();
  tokens.back() = tokens.back() == 11 ? 12 : 11;
  REQUIRE(data::write_shard(set_b.train.back(), tokens));
  CHECK(data::identify_data(set_b.val, set_b.train).value().hash != id_a.hash);
  // a glob that matches nothing is named
  auto none = data::identify_data(std::vector<std::string>{(a.path() / "nothing_*.bin").string()}, {});
  REQUIRE(!none);
  CHECK(none.error().what.find("nothing_*.bin: no files match") != std::string::npos);
}
