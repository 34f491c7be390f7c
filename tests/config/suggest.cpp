// Tests for include/speedrunner/config/suggest.hpp.
#include <speedrunner/config/suggest.hpp>

#include "catch.hpp"

namespace cfg = speedrunner::config;

TEST_CASE("edit distance counts insertions, deletions, substitutions and swaps", "[config][suggest]") {
  CHECK(cfg::edit_distance("", "") == 0);
  CHECK(cfg::edit_distance("model", "model") == 0);
  CHECK(cfg::edit_distance("modle", "model") == 1);  // swap
  CHECK(cfg::edit_distance("o3_mni", "o3_mini") == 1);
  CHECK(cfg::edit_distance("kitten", "sitting") == 3);
  CHECK(cfg::edit_distance("abc", "") == 3);
}

TEST_CASE("did you mean picks the nearest choice, or nothing when none is near", "[config][suggest]") {
  std::vector<std::string> groups{"coder", "executor", "ideator", "model", "science_runner", "task"};
  CHECK(cfg::did_you_mean("modle", groups) == " (did you mean model?)");
  CHECK(cfg::did_you_mean("sciense_runner", groups) == " (did you mean science_runner?)");
  CHECK(cfg::did_you_mean("zzzzzz", groups).empty());
  CHECK(cfg::list_choices({"b", "a"}) == "a, b");
  CHECK(cfg::list_choices({}) == "(none)");
}
