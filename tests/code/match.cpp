// Tests for include/speedrunner/code/match.hpp: the rungs of the matching
// ladder one by one, and a seeded round-trip property: random files and random
// edits written as SEARCH/REPLACE blocks apply back exactly.
#include <speedrunner/code/apply.hpp>
#include <speedrunner/code/match.hpp>
#include <speedrunner/code/search_replace.hpp>

#include "catch.hpp"
#include "support.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace speedrunner::code;
namespace fs = std::filesystem;

TEST_CASE("each rung of the ladder reports itself", "[code][match]") {
  CHECK(replace_first("a\nb\n", "b\n", "c\n")->how == MatchKind::exact);
  CHECK(replace_first("a \nb\n", "a\n", "c\n")->how == MatchKind::trailing_whitespace);
  CHECK(replace_first("  a\n  b\n", "a\nb\n", "c\n")->how == MatchKind::indentation);
  CHECK(replace_first("a\nb\nc\n", "a\n...\nc\n", "A\n...\nC\n")->how == MatchKind::elision);
  auto fuzzy = replace_first("the quick brown fox jumps\n", "the quick brown fax jumps\n", "x\n");
  REQUIRE(fuzzy.has_value());
  CHECK(fuzzy->how == MatchKind::fuzzy);
  CHECK(fuzzy->similarity > 0.9);
  CHECK(fuzzy->similarity < 1.0);
}

TEST_CASE("the fuzzy threshold and ambiguity epsilon are honoured", "[code][match]") {
  const std::string file = "the quick brown fox jumps\n";
  MatchOptions off;
  off.fuzzy_threshold = 1.01;
  auto refused = replace_first(file, "the quick brown fax jumps\n", "x\n", off);
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().why == Miss::not_found);
  REQUIRE(refused.error().closest.has_value());
  CHECK(refused.error().closest->text == file);

  // 24/25 vs 23/25 similar: ambiguous only when epsilon covers the gap.
  const std::string two = "abcdefghijklmnopqrstuvwxy\nabcdefghijklmnopqrstuvwXY\n";
  MatchOptions tight;
  tight.fuzzy_threshold = 0.8;
  tight.ambiguity_epsilon = 0.01;
  auto taken = replace_first(two, "abcdefghijklmnopqrstuvwxZ\n", "z\n", tight);
  REQUIRE(taken.has_value());
  CHECK(taken->content == "z\nabcdefghijklmnopqrstuvwXY\n");
  MatchOptions loose = tight;
  loose.ambiguity_epsilon = 0.05;
  auto ambiguous = replace_first(two, "abcdefghijklmnopqrstuvwxZ\n", "z\n", loose);
  REQUIRE_FALSE(ambiguous.has_value());
  CHECK(ambiguous.error().why == Miss::ambiguous);
  CHECK(ambiguous.error().places == std::vector<std::size_t>{0, 1});
}

TEST_CASE("an empty SEARCH matches only an empty text", "[code][match]") {
  CHECK(replace_first("", "", "new\n")->content == "new\n");
  CHECK(replace_first("old\n", "", "new\n").error().why == Miss::not_found);
}

namespace {

// Lines unlikely to repeat (a random word each), with indentation, trailing
// blanks, unicode, `...` and blank lines mixed in.
std::string random_line(std::mt19937& rng, const std::string& tag) {
  static const std::vector<std::string> words = {"alpha", "β", "gamma_δ", "x = 1", "return", "…", "🚀", "if (a)", "{", "}", "..."};
  std::uniform_int_distribution<int> pick(0, 19);
  int kind = pick(rng);
  if (kind == 0) return "";
  std::string line(static_cast<std::size_t>(pick(rng) % 4) * 2, ' ');
  if (kind == 1) line += '\t';
  line += tag + std::to_string(rng() % 1000000);
  for (int w = pick(rng) % 4; w > 0; --w) line += " " + words[rng() % words.size()];
  if (kind == 2) line += "  ";
  return line;
}

std::vector<std::string> random_lines(std::mt19937& rng, std::size_t n, const std::string& tag) {
  std::vector<std::string> lines;
  for (std::size_t i = 0; i < n; ++i) lines.push_back(random_line(rng, tag));
  return lines;
}

std::string joined(const std::vector<std::string>& lines, std::size_t from, std::size_t to) {
  std::string s;
  for (std::size_t i = from; i < to; ++i) s += lines[i] + "\n";
  return s;
}

// Non-overlapping spans [first, last) whose text first occurs at `first`.
struct Span {
  std::size_t first, last;
  std::vector<std::string> replacement;
};

std::vector<Span> random_spans(std::mt19937& rng, const std::vector<std::string>& lines, std::size_t want) {
  std::vector<Span> spans;
  std::size_t at = 0;
  while (spans.size() < want && at < lines.size()) {
    std::size_t first = at + rng() % std::max<std::size_t>(1, (lines.size() - at) / 2);
    std::size_t len = 1 + rng() % 4;
    if (first + len > lines.size()) break;
    std::string text = joined(lines, first, first + len);
    std::string all = joined(lines, 0, lines.size());
    // The span must match here and nowhere earlier, and hold a non-blank line.
    std::size_t line_offset = joined(lines, 0, first).size();
    bool blank = std::all_of(lines.begin() + first, lines.begin() + first + len, [](const std::string& l) {
      return l.find_first_not_of(" \t") == std::string::npos;
    });
    if (!blank && (all.find(text) == line_offset || (line_offset > 0 && all.find("\n" + text) + 1 == line_offset))) {
      spans.push_back({first, first + len, random_lines(rng, rng() % 4, "new")});
    }
    at = first + len + 1;
  }
  return spans;
}

}  // namespace

TEST_CASE("random edits expressed as blocks apply back exactly (in memory)", "[code][match][property]") {
  std::mt19937 rng(20240520);
  SearchReplace format;
  int applied = 0;
  for (int iter = 0; iter < 2000; ++iter) {
    auto lines = random_lines(rng, 1 + rng() % 40, "w");
    const bool final_newline = rng() % 5 != 0;
    std::string text = joined(lines, 0, lines.size());
    if (!final_newline) text.pop_back();
    auto spans = random_spans(rng, lines, 1 + rng() % 3);
    if (spans.empty()) continue;
    std::string answer;
    std::vector<std::string> expected_lines;
    std::size_t cursor = 0;
    for (const auto& s : spans) {
      answer += format.render({"f.txt", joined(lines, s.first, s.last), joined(s.replacement, 0, s.replacement.size()),
                               Edit::Kind::search_replace});
      for (; cursor < s.first; ++cursor) expected_lines.push_back(lines[cursor]);
      for (const auto& r : s.replacement) expected_lines.push_back(r);
      cursor = s.last;
    }
    for (; cursor < lines.size(); ++cursor) expected_lines.push_back(lines[cursor]);
    std::string expected = joined(expected_lines, 0, expected_lines.size());
    if (!final_newline && !expected.empty()) expected.pop_back();

    auto edits = format.parse(answer);
    REQUIRE(edits.has_value());
    REQUIRE(edits->size() == spans.size());
    std::string current = text;
    for (const auto& e : *edits) {
      auto r = replace_first(current, e.search, e.replace);
      INFO("iteration " << iter << "\nfile:\n" << text << "\nanswer:\n" << answer);
      REQUIRE(r.has_value());
      CHECK(r->how == MatchKind::exact);
      current = r->content;
    }
    INFO("iteration " << iter);
    REQUIRE(current == expected);
    ++applied;
  }
  CHECK(applied > 1500);
}

TEST_CASE("random edits across files apply back exactly on disk, CRLF included", "[code][apply][property]") {
  std::mt19937 rng(1729);
  SearchReplace format;
  for (int iter = 0; iter < 60; ++iter) {
    speedrunner::testing::TempDir dir("sr-roundtrip");
    std::string answer;
    std::vector<std::pair<std::string, std::string>> expected;
    for (int f = 0; f < 3; ++f) {
      const std::string name = "d" + std::to_string(f) + "/file" + std::to_string(f) + ".txt";
      auto lines = random_lines(rng, 1 + rng() % 30, "w");
      const bool crlf = rng() % 3 == 0;
      std::string text = joined(lines, 0, lines.size());
      auto spans = random_spans(rng, lines, 1 + rng() % 3);
      std::vector<std::string> out;
      std::size_t cursor = 0;
      for (const auto& s : spans) {
        answer += format.render({name, joined(lines, s.first, s.last), joined(s.replacement, 0, s.replacement.size()),
                                 Edit::Kind::search_replace});
        for (; cursor < s.first; ++cursor) out.push_back(lines[cursor]);
        for (const auto& r : s.replacement) out.push_back(r);
        cursor = s.last;
      }
      for (; cursor < lines.size(); ++cursor) out.push_back(lines[cursor]);
      std::string want = joined(out, 0, out.size());
      if (crlf) {
        text = speedrunner::code::detail::to_crlf(text);
        want = speedrunner::code::detail::to_crlf(want);
      }
      fs::create_directories((dir.path() / name).parent_path());
      std::ofstream(dir.path() / name, std::ios::binary) << text;
      expected.emplace_back(name, want);
    }
    if (answer.empty()) continue;
    auto edits = format.parse(answer);
    REQUIRE(edits.has_value());
    auto report = apply_edits(dir.path(), *edits);
    REQUIRE(report.has_value());
    INFO("iteration " << iter << "\n" << reflection(*report, format));
    REQUIRE(report->ok());
    for (const auto& [name, want] : expected) {
      std::ifstream in(dir.path() / name, std::ios::binary);
      std::ostringstream got;
      got << in.rdbuf();
      CHECK(got.str() == want);
    }
  }
}
