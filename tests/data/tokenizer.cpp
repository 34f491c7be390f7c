// Tests of include/speedrunner/data/tokenizer.hpp against the reference
// tokenizer's ids (tests/data/fixtures/tokenizer_expected.json, written by
// scripts/tokenizer-reference). Needs the GPT-2 files from scripts/fetch-tokenizer;
// meson runs this program through skip-without-tokenizer.sh, which skips it without them.
#include <speedrunner/data/shard.hpp>
#include <speedrunner/data/tokenizer.hpp>

#include "catch.hpp"
#include "support.hpp"

#include <boost/json.hpp>

#include <fstream>
#include <random>
#include <sstream>

using speedrunner::testing::slurp;

using speedrunner::data::Gpt2Tokenizer;
using speedrunner::data::SpecialTokens;

namespace {

const Gpt2Tokenizer& tokenizer() {
  static const Gpt2Tokenizer t = [] {
    auto loaded = Gpt2Tokenizer::load();
    if (!loaded) FAIL(loaded.error().message());
    return std::move(*loaded);
  }();
  return t;
}

struct Case {
  std::string name, text;
  std::vector<std::uint16_t> ids, ids_special;
};

std::vector<Case> reference_cases() {
  const auto path = speedrunner::testing::source_root() / "tests/data/fixtures/tokenizer_expected.json";
  const auto json = boost::json::parse(slurp(path));
  std::vector<Case> cases;
  for (const auto& c : json.at("cases").as_array()) {
    Case k{std::string(c.at("name").as_string()), std::string(c.at("text").as_string()), {}, {}};
    for (const auto& id : c.at("ids").as_array()) k.ids.push_back(std::uint16_t(id.as_int64()));
    for (const auto& id : c.at("ids_special").as_array()) k.ids_special.push_back(std::uint16_t(id.as_int64()));
    cases.push_back(std::move(k));
  }
  return cases;
}

}  // namespace

TEST_CASE("the tokenizer loads GPT-2's 50257 tokens and 50000 merges", "[data][tokenizer]") {
  CHECK(tokenizer().vocab_size() == 50257);
  CHECK(tokenizer().merge_count() == 50000);
  CHECK(tokenizer().end_of_text_id() == speedrunner::data::end_of_text);
}

TEST_CASE("encoding agrees with the reference tokenizer on every test text", "[data][tokenizer]") {
  const auto cases = reference_cases();
  REQUIRE(cases.size() > 400);
  Gpt2Tokenizer::Cache cache;
  for (const auto& c : cases) {
    INFO("case " << c.name);
    std::vector<std::uint16_t> ids;
    tokenizer().encode(c.text, ids, cache);
    CHECK(ids == c.ids);
    // a second pass reads the pieces from the cache and must not change a thing
    std::vector<std::uint16_t> again;
    tokenizer().encode(c.text, again, cache);
    CHECK(again == c.ids);
    CHECK(tokenizer().encode(c.text, SpecialTokens::allowed) == c.ids_special);
  }
}

TEST_CASE("decoding the ids gives back the text byte for byte", "[data][tokenizer]") {
  for (const auto& c : reference_cases()) {
    INFO("case " << c.name);
    CHECK(tokenizer().decode(c.ids).value() == c.text);
    CHECK(tokenizer().decode(tokenizer().encode(c.text, SpecialTokens::allowed)).value() == c.text);
  }
}

TEST_CASE("<|endoftext|> is the special token only when the caller allows it", "[data][tokenizer]") {
  const std::string text = "a<|endoftext|>b";
  const auto plain = tokenizer().encode(text);
  const auto special = tokenizer().encode(text, SpecialTokens::allowed);
  CHECK(std::count(plain.begin(), plain.end(), 50256) == 0);
  CHECK(special == std::vector<std::uint16_t>{64, 50256, 65});
  CHECK(tokenizer().decode(special).value() == text);
}

TEST_CASE("bytes that are not valid UTF-8 still round-trip", "[data][tokenizer]") {
  const std::string text = std::string("ok \xff\xfe bad \xc3 trunc \xe2\x82 end \xed\xa0\x80 surrogate \xf4\x90\x80\x80", 41);
  const auto ids = tokenizer().encode(text);
  CHECK(!ids.empty());
  CHECK(tokenizer().decode(ids).value() == text);
}

TEST_CASE("a tiny cache that keeps being cleared gives the same ids", "[data][tokenizer]") {
  const auto cases = reference_cases();
  Gpt2Tokenizer::Cache small(4);
  for (const auto& c : cases) {
    std::vector<std::uint16_t> ids;
    tokenizer().encode(c.text, ids, small);
    CHECK(ids == c.ids);
  }
  CHECK(small.size() <= 4);
}

TEST_CASE("decoding an id outside the vocabulary is an error naming it", "[data][tokenizer]") {
  const std::vector<std::uint16_t> ids{15496, 60000};
  auto text = tokenizer().decode(ids);
  REQUIRE(!text);
  CHECK(text.error().what.find("60000") != std::string::npos);
  CHECK(text.error().what.find("position 1") != std::string::npos);
}

TEST_CASE("broken tokenizer files are errors that name the file and the fix", "[data][tokenizer]") {
  SECTION("missing folder") {
    speedrunner::testing::TempDir dir;
    auto t = Gpt2Tokenizer::load(dir.path());
    REQUIRE(!t);
    CHECK(t.error().what.find("encoder.json") != std::string::npos);
    CHECK(t.error().fix.find("scripts/fetch-tokenizer") != std::string::npos);
  }
  SECTION("encoder.json that is not JSON") {
    auto t = Gpt2Tokenizer::parse("{not json", "#version: 0.2\n", "enc.json", "merges.bpe");
    REQUIRE(!t);
    CHECK(t.error().what.starts_with("enc.json: "));
  }
  SECTION("a merge of unknown tokens names its line") {
    std::string encoder = "{";
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      // GPT-2's printable stand-in for each byte, written as a JSON \u escape
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      char buf[32];
      std::snprintf(buf, sizeof buf, "\"\\u%04x\": %d, ", printable ? b : 256 + n++, b);
      encoder += buf;
    }
    encoder += "\"<|endoftext|>\": 256}";
    auto good = Gpt2Tokenizer::parse(encoder, "#version: 0.2\n", "enc.json", "merges.bpe");
    CHECK(!good);  // no merges at all
    auto bad = Gpt2Tokenizer::parse(encoder, "#version: 0.2\na b\n", "enc.json", "merges.bpe");
    REQUIRE(!bad);
    CHECK(bad.error().what.starts_with("merges.bpe:2: "));
  }
}

TEST_CASE("the heap BPE for long pieces makes exactly the merges of the scanning one", "[data][tokenizer]") {
  std::mt19937 rng(20240520);
  const std::string alphabets[] = {"abcdefghijklmnopqrstuvwxyz", "aaaab", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
                                   "0123456789", " ", "-=*", "\xc3\xa9\xe4\xb8\xad"};
  std::vector<std::uint32_t> scanned, heaped;
  for (int round = 0; round < 300; ++round) {
    const std::string& alphabet = alphabets[std::size_t(round) % std::size(alphabets)];
    const std::size_t length = 2 + rng() % (round < 280 ? 400 : 3000);
    std::string piece;
    for (std::size_t k = 0; k < length; ++k) piece += alphabet[rng() % alphabet.size()];
    tokenizer().bpe_short(piece, scanned);
    tokenizer().bpe_long(piece, heaped);
    INFO("round " << round << ", length " << length);
    REQUIRE(scanned == heaped);
  }
}

TEST_CASE("a megabyte without spaces encodes in one piece and round-trips", "[data][tokenizer]") {
  std::mt19937 rng(7);
  const std::string letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";  // one \p{L}+ piece
  std::string blob;
  for (int k = 0; k < 1'000'000; ++k) blob += letters[rng() % letters.size()];
  const auto ids = tokenizer().encode(blob);
  CHECK(ids.size() > 200'000);
  CHECK(tokenizer().decode(ids).value() == blob);
}
