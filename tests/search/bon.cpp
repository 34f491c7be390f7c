// Tests of include/speedrunner/search/bon.hpp: choices on constructed journals.
#include <speedrunner/search/bon.hpp>

#include "catch.hpp"
#include "journals.hpp"

#include <set>

namespace search = speedrunner::search;
using speedrunner::ideate::Stage;
using speedrunner::testing::empty_journal;
using speedrunner::testing::grow;

TEST_CASE("BoN drafts n_initial_hypotheses from the template first", "[search][bon]") {
  std::mt19937_64 rng(1);
  auto plan = search::BoN::forest().plan(empty_journal(), rng);
  CHECK(plan == std::vector<search::Decision>(3, {Stage::draft, 0}));
  CHECK(search::BoN::flat().plan(empty_journal(), rng).size() == 20);
}

TEST_CASE("BoN expands the best node with n_hypotheses children", "[search][bon]") {
  auto j = empty_journal();
  grow(j, 0, Stage::draft, 0, 400);
  grow(j, 0, Stage::draft, 0, 525);
  grow(j, 0, Stage::draft, 0, -1);
  std::mt19937_64 rng(1);
  auto plan = search::BoN::tree().plan(j, rng);
  CHECK(plan == std::vector<search::Decision>(3, {Stage::improve, 2}));
  j.selection.lower_is_better = true;
  CHECK(search::BoN::tree().plan(j, rng).front().parent == 1);
}

TEST_CASE("BoN debugs a buggy leaf when debug_prob says so, up to max_bug_depth", "[search][bon]") {
  auto j = empty_journal();
  grow(j, 0, Stage::draft, 0, 400);
  auto bug = grow(j, 1, Stage::improve, 1, -1);
  search::BoN always{.n_initial_hypotheses = 1, .n_hypotheses = 2, .debug_prob = 1.0, .max_bug_depth = 2};
  std::mt19937_64 rng(1);
  CHECK(always.plan(j, rng) == std::vector<search::Decision>{{Stage::debug, bug}});
  auto deeper = grow(j, bug, Stage::debug, 2, -1);   // bug depth 2 = the cap: still debugged
  CHECK(j.at(deeper).bug_depth == 2);
  CHECK(always.plan(j, rng) == std::vector<search::Decision>{{Stage::debug, deeper}});
  grow(j, deeper, Stage::debug, 3, -1);              // bug depth 3: past the cap
  CHECK(always.plan(j, rng) == std::vector<search::Decision>(2, {Stage::improve, 1}));
}

TEST_CASE("BoN with nothing valid branches from the template again", "[search][bon]") {
  auto j = empty_journal();
  grow(j, 0, Stage::draft, 0, -1);
  std::mt19937_64 rng(1);
  CHECK(search::BoN{}.plan(j, rng) == std::vector<search::Decision>{{Stage::draft, 0}});
}

TEST_CASE("BoN's debug choice is drawn from the seed", "[search][bon]") {
  auto j = empty_journal();
  for (int i = 0; i < 4; ++i) grow(j, 0, Stage::draft, 0, -1);
  search::BoN debugging{.debug_prob = 1.0};
  std::set<int> picked;
  for (std::uint64_t seed = 0; seed < 40; ++seed) {
    std::mt19937_64 rng(seed);
    auto plan = debugging.plan(j, rng);
    REQUIRE(plan.size() == 1);
    CHECK(plan[0].stage == Stage::debug);
    picked.insert(plan[0].parent);
  }
  CHECK(picked == std::set<int>{1, 2, 3, 4});
}
