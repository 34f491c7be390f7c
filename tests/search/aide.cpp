// Tests of include/speedrunner/search/aide.hpp: choices on constructed journals.
#include <speedrunner/search/aide.hpp>

#include "catch.hpp"
#include "journals.hpp"

namespace search = speedrunner::search;
using speedrunner::ideate::Stage;
using speedrunner::testing::empty_journal;
using speedrunner::testing::grow;

TEST_CASE("Aide drafts its drafts as one batch, then one node per iteration", "[search][aide]") {
  search::Aide aide{.drafts = 3, .debug_prob = 0.0};
  auto j = empty_journal();
  std::mt19937_64 rng(1);
  CHECK(aide.plan(j, rng) == std::vector<search::Decision>(3, {Stage::draft, 0}));
  grow(j, 0, Stage::draft, 0, 300);
  grow(j, 0, Stage::draft, 0, 500);
  grow(j, 0, Stage::draft, 0, -1);
  CHECK(aide.plan(j, rng) == std::vector<search::Decision>{{Stage::improve, 2}});
}

TEST_CASE("Aide greedily improves the global best valid node", "[search][aide]") {
  search::Aide aide{.drafts = 1, .debug_prob = 0.0};
  auto j = empty_journal();
  grow(j, 0, Stage::draft, 0, 500);              // v_1
  grow(j, 1, Stage::improve, 1, 600);            // v_2 best
  grow(j, 2, Stage::improve, 2, 550);            // v_3 worse child of the best
  std::mt19937_64 rng(1);
  CHECK(aide.plan(j, rng) == std::vector<search::Decision>{{Stage::improve, 2}});
  aide.improve_from = search::ImproveFrom::latest_iteration;
  CHECK(aide.plan(j, rng) == std::vector<search::Decision>{{Stage::improve, 2}});
  search::Aide multi{.drafts = 1, .debug_prob = 0.0, .n_hypotheses = 3};
  CHECK(multi.plan(j, rng) == std::vector<search::Decision>(3, {Stage::improve, 2}));
}

TEST_CASE("Aide debugs a buggy leaf with debug_prob and redrafts while nothing is valid", "[search][aide]") {
  auto j = empty_journal();
  grow(j, 0, Stage::draft, 0, -1);
  std::mt19937_64 rng(1);
  search::Aide never{.drafts = 1, .debug_prob = 0.0};
  CHECK(never.plan(j, rng) == std::vector<search::Decision>{{Stage::draft, 0}});
  search::Aide always{.drafts = 1, .debug_prob = 1.0, .max_bug_depth = 1};
  CHECK(always.plan(j, rng) == std::vector<search::Decision>{{Stage::debug, 1}});
  grow(j, 1, Stage::debug, 1, -1);               // bug depth 2: past the cap of 1
  CHECK(always.plan(j, rng) == std::vector<search::Decision>{{Stage::draft, 0}});
}
