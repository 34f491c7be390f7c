// Tests for include/speedrunner/core/error.hpp.
#include <speedrunner/core/error.hpp>

#include "catch.hpp"

using speedrunner::Error;
using speedrunner::ExitCode;
using speedrunner::Result;

namespace {
Result<int> parse_positive(int x) {
  if (x <= 0) return speedrunner::fail("n_iterations: expected a positive integer, got " + std::to_string(x),
                                       "set n_iterations=1 or more");
  return x;
}
}  // namespace

TEST_CASE("a failed Result carries what went wrong and the fix", "[core][error]") {
  auto bad = parse_positive(0);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().what == "n_iterations: expected a positive integer, got 0");
  CHECK(bad.error().message() ==
        "n_iterations: expected a positive integer, got 0\n  fix: set n_iterations=1 or more");
  CHECK(bad.error().code == ExitCode::usage);
  auto good = parse_positive(3);
  REQUIRE(good.has_value());
  CHECK(*good == 3);
}

TEST_CASE("context prefixes where an error happened", "[core][error]") {
  Error e = std::move(parse_positive(-1).error()).context("config/default.json");
  CHECK(e.what.starts_with("config/default.json: n_iterations:"));
  CHECK(Error{"x", "", ExitCode::failure}.message() == "x");
}
