// Tests of include/speedrunner/data/corpus.hpp: source expansion, compressed
// files, dictd and fortune splitting, normalization and hashing.
#include <speedrunner/data/corpus.hpp>

#include "catch.hpp"
#include "support.hpp"

#include <fstream>

namespace data = speedrunner::data;
using speedrunner::testing::TempDir;
using speedrunner::testing::run_shell;

namespace {

std::filesystem::path fixture() { return speedrunner::testing::source_root() / "tests/data/fixtures/corpus"; }

std::vector<std::string> names_relative(const std::vector<std::filesystem::path>& files, const std::filesystem::path& base) {
  std::vector<std::string> out;
  for (const auto& f : files) out.push_back(f.lexically_relative(base).string());
  return out;
}

void write(const std::filesystem::path& p, std::string_view text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

}  // namespace

TEST_CASE("a folder source lists every file below it, sorted", "[data][corpus]") {
  auto files = data::expand_sources({fixture().string()});
  REQUIRE(files);
  CHECK(names_relative(*files, fixture()) ==
        std::vector<std::string>{"docs/alpha-copy.txt", "docs/alpha.txt", "docs/blank.txt", "docs/nested/page.rst",
                                 "docs/nested/unicode.md", "fruit.dict", "fruit.index", "quotes", "quotes.dat"});
}

TEST_CASE("globs match by segment and ** spans folders", "[data][corpus]") {
  const std::string base = fixture().string();
  auto rst = data::expand_sources({base + "/**/*.rst", base + "/docs/*.txt"});
  REQUIRE(rst);
  CHECK(names_relative(*rst, fixture()) ==
        std::vector<std::string>{"docs/alpha-copy.txt", "docs/alpha.txt", "docs/blank.txt", "docs/nested/page.rst"});
  auto overlapping = data::expand_sources({base + "/docs/**", base + "/docs/alpha.txt"});
  REQUIRE(overlapping);
  CHECK(overlapping->size() == 5);  // each file once
}

TEST_CASE("a source that matches nothing is an error naming it", "[data][corpus]") {
  auto none = data::expand_sources({fixture().string() + "/**/*.nothing"});
  REQUIRE(!none);
  CHECK(none.error().what.find("*.nothing: no files match") != std::string::npos);
  CHECK(!data::expand_sources({"/no/such/folder"}));
}

TEST_CASE("formats are told apart by the files beside them", "[data][corpus]") {
  CHECK(data::corpus_format_of(fixture() / "fruit.dict") == data::CorpusFormat::dictd);
  CHECK(data::corpus_format_of(fixture() / "fruit.index") == data::CorpusFormat::binary);
  CHECK(data::corpus_format_of(fixture() / "quotes") == data::CorpusFormat::fortune);
  CHECK(data::corpus_format_of(fixture() / "quotes.dat") == data::CorpusFormat::binary);
  CHECK(data::corpus_format_of(fixture() / "docs/alpha.txt") == data::CorpusFormat::plain);
}

TEST_CASE("a dictd dictionary splits into one document per entry", "[data][corpus]") {
  auto text = data::read_text_file(fixture() / "fruit.dict");
  REQUIRE(text);
  auto docs = data::split_documents(fixture() / "fruit.dict", *text, data::CorpusFormat::dictd);
  REQUIRE(docs);
  // apple is named twice (apple, pome) but comes once; the metadata entry is left out
  REQUIRE(docs->size() == 3);
  CHECK((*docs)[0].text == "Apple\n   A round fruit of a rosaceous tree.\n\n");
  CHECK((*docs)[0].origin.ends_with("fruit.dict#apple"));
  CHECK((*docs)[2].text.starts_with("Cherry"));
}

TEST_CASE("a compressed dictionary (.dict.dz) reads like the plain one", "[data][corpus]") {
  TempDir dir;
  std::filesystem::copy_file(fixture() / "fruit.index", dir.path() / "fruit.index");
  REQUIRE(run_shell("gzip -c '" + (fixture() / "fruit.dict").string() + "' > '" + (dir.path() / "fruit.dict.dz").string() + "'").status == 0);
  const auto dz = dir.path() / "fruit.dict.dz";
  REQUIRE(data::corpus_format_of(dz) == data::CorpusFormat::dictd);
  auto text = data::read_text_file(dz);
  REQUIRE(text);
  CHECK(*text == data::read_text_file(fixture() / "fruit.dict").value());
  CHECK(data::split_documents(dz, *text, data::CorpusFormat::dictd).value().size() == 3);
}

TEST_CASE("a damaged dictd index is an error naming its line", "[data][corpus]") {
  TempDir dir;
  write(dir.path() / "d.dict", "entry text\n");
  write(dir.path() / "d.index", "ok\tA\tB\nbroken line\n");
  auto docs = data::split_documents(dir.path() / "d.dict", "entry text\n", data::CorpusFormat::dictd);
  REQUIRE(!docs);
  CHECK(docs.error().what.find("d.index:2: not a dictd index line") != std::string::npos);
  write(dir.path() / "d.index", "far\tA\tZZ\n");
  auto past = data::split_documents(dir.path() / "d.dict", "entry text\n", data::CorpusFormat::dictd);
  REQUIRE(!past);
  CHECK(past.error().what.find("points past the end") != std::string::npos);
}

TEST_CASE("fortune files split at lines holding only %", "[data][corpus]") {
  auto text = data::read_text_file(fixture() / "quotes");
  REQUIRE(text);
  auto docs = data::split_documents(fixture() / "quotes", *text, data::CorpusFormat::fortune);
  REQUIRE(docs);
  REQUIRE(docs->size() == 3);
  CHECK((*docs)[0].text == "A fortune about computers.\n");
  CHECK((*docs)[1].text == "Another fortune,\nover two lines.\n");
  CHECK((*docs)[2].text == "The third fortune.\n");
  // the UTF-8 twin FILE.u8 splits the same way
  TempDir dir;
  write(dir.path() / "q", "x\n%\ny\n");
  write(dir.path() / "q.dat", std::string("\0\0", 2));
  write(dir.path() / "q.u8", "x\n%\ny\n");
  CHECK(data::corpus_format_of(dir.path() / "q.u8") == data::CorpusFormat::fortune);
}

TEST_CASE("gzip files are decompressed and damaged ones named", "[data][corpus]") {
  TempDir dir;
  write(dir.path() / "page.txt", "compressed text\n");
  REQUIRE(run_shell("gzip '" + (dir.path() / "page.txt").string() + "'").status == 0);
  CHECK(data::read_text_file(dir.path() / "page.txt.gz").value() == "compressed text\n");
  write(dir.path() / "bad.gz", "\x1f\x8b this is not deflate data at all");
  auto bad = data::read_text_file(dir.path() / "bad.gz");
  REQUIRE(!bad);
  CHECK(bad.error().what.find("bad.gz") != std::string::npos);
}

TEST_CASE("normalization drops carriage returns, line-end blanks and blank edges", "[data][corpus]") {
  CHECK(data::normalize_document("\n\n  a line  \r\nnext\t\n\n\n") == "  a line\nnext\n");
  CHECK(data::normalize_document("no newline") == "no newline\n");
  CHECK(data::normalize_document(" \n\t\n") == "");
  CHECK(data::normalize_document("") == "");
  CHECK(data::normalize_document("a\n\n\nb\n") == "a\n\n\nb\n");  // inner blank lines stay
}

TEST_CASE("document hashes tell texts apart and agree on equal ones", "[data][corpus]") {
  CHECK(data::hash_document("same text") == data::hash_document(std::string("same ") + "text"));
  CHECK(!(data::hash_document("text a") == data::hash_document("text b")));
  const std::string long_a(10000, 'a');
  std::string long_b = long_a;
  long_b[9000] = 'b';
  CHECK(!(data::hash_document(long_a) == data::hash_document(long_b)));
}

TEST_CASE("binary files are recognized by a NUL byte", "[data][corpus]") {
  CHECK(data::looks_like_text("plain text\n"));
  CHECK(!data::looks_like_text(std::string("\x89PNG\0\0", 6)));
}
