// Laws every SearchPolicy keeps (include/speedrunner/search/policy.hpp), run over the shipped policies.
#include <speedrunner/search/aide.hpp>
#include <speedrunner/search/bon.hpp>
#include <speedrunner/search/policy.hpp>

#include "catch.hpp"
#include "journals.hpp"

#include <tuple>

namespace search = speedrunner::search;
using speedrunner::ideate::Stage;
using speedrunner::testing::empty_journal;
using speedrunner::testing::grow;

using Policies = std::tuple<search::BoN, search::Aide>;

TEMPLATE_LIST_TEST_CASE("a search policy starts by drafting from v_0", "[search][laws]", Policies) {
  STATIC_REQUIRE(search::SearchPolicy<TestType>);
  std::mt19937_64 rng(1);
  auto plan = TestType{}.plan(empty_journal(), rng);
  REQUIRE_FALSE(plan.empty());
  for (const auto& d : plan) CHECK(d == search::Decision{Stage::draft, 0});
}

TEMPLATE_LIST_TEST_CASE("a search policy only extends finished nodes, and the same seed gives the same plan",
                        "[search][laws]", Policies) {
  auto j = empty_journal();
  grow(j, 0, Stage::draft, 0, 100);
  grow(j, 0, Stage::draft, 0, -1);
  grow(j, 0, Stage::draft, 0, -1);
  grow(j, 0, Stage::draft, 0, 300);
  grow(j, 0, Stage::draft, 0, -1);
  TestType policy{};
  policy.debug_prob = 0.5;
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    std::mt19937_64 a(seed), b(seed);
    auto first = policy.plan(j, a);
    CHECK(first == policy.plan(j, b));
    for (const auto& d : first) {
      CHECK(j.at(d.parent).finished());
      if (d.stage == Stage::debug) CHECK(j.at(d.parent).buggy());
      if (d.stage == Stage::improve) CHECK(d.parent == 4);
    }
  }
}

TEST_CASE("a type without plan() is not a search policy", "[search][laws]") {
  struct Picker {
    int choose() const { return 0; }
  };
  STATIC_REQUIRE_FALSE(search::SearchPolicy<Picker>);
  STATIC_REQUIRE_FALSE(search::SearchPolicy<int>);
}

TEST_CASE("improving from the latest iteration can leave the global best behind", "[search]") {
  auto j = empty_journal();
  grow(j, 0, Stage::draft, 0, 600);          // v_1: global best
  grow(j, 1, Stage::improve, 1, -1);         // v_2: buggy
  grow(j, 2, Stage::debug, 2, 500);          // v_3: fixed, but worse than v_1
  CHECK(search::detail::improve_target(j, search::ImproveFrom::global_best) == 1);
  CHECK(search::detail::improve_target(j, search::ImproveFrom::latest_iteration) == 3);
}
