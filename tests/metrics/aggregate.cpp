// Tests for include/speedrunner/metrics/aggregate.hpp against hand-worked cases:
// the four aggregates, numpy's percentile, and the stratified bootstrap on a
// fixed seed (the draws of std::mt19937_64 are fixed by the C++ standard).
#include <speedrunner/metrics/aggregate.hpp>

#include "catch.hpp"

#include <random>

namespace m = speedrunner::metrics;

TEST_CASE("the interquartile mean cuts a quarter of the scores from each end, as scipy's trim_mean(x, 0.25)",
          "[metrics][aggregate]") {
  CHECK(m::interquartile_mean({8, 1, 7, 2, 6, 3, 5, 4}) == Approx(4.5));  // mean of 3, 4, 5, 6
  CHECK(m::interquartile_mean({10, 0, 0.4, 0.2}) == Approx(0.3));          // mean of 0.2, 0.4
  CHECK(m::interquartile_mean({5, 1, 2, 4, 3}) == Approx(3.0));            // floor(5/4) = 1 cut: 2, 3, 4
  CHECK(m::interquartile_mean({1, 2, 6}) == Approx(3.0));                  // fewer than 4: nothing cut
  CHECK(std::isnan(m::interquartile_mean({})));
}

TEST_CASE("percentiles interpolate linearly between closest ranks, as numpy's default",
          "[metrics][aggregate]") {
  CHECK(m::percentile({4, 1, 3, 2}, 2.5) == Approx(1.075));  // rank 0.075
  CHECK(m::percentile({4, 1, 3, 2}, 97.5) == Approx(3.925)); // rank 2.925
  CHECK(m::percentile({4, 1, 3, 2}, 50) == Approx(2.5));
  CHECK(m::percentile({7}, 2.5) == Approx(7));
}

TEST_CASE("median and mean are over the strata's means, IQM and optimality gap over all runs", "[metrics][aggregate]") {
  // record A: FSRs 0 and 1 (mean 0.5); record B: 0.5; record C: 2 and 4 (mean 3)
  const m::Strata s{{0, 1}, {0.5}, {2, 4}};
  const auto p = m::aggregates(s);
  CHECK(p.median == Approx(0.5));     // median of 0.5, 0.5, 3
  CHECK(p.mean == Approx(4.0 / 3));   // mean of 0.5, 0.5, 3
  CHECK(p.iqm == Approx(3.5 / 3));    // all five sorted 0, .5, 1, 2, 4; one cut from each end
  CHECK(p.optimality_gap == Approx(0.3));  // min(x, 1) = 0, 1, .5, 1, 1: mean .7
  CHECK(m::optimality_gap(std::vector<double>{0.2, 0.4}, 0.5) == Approx(0.2));  // 0.5 - mean(0.2, 0.4)
}

TEST_CASE("the stratified bootstrap on a fixed seed gives the hand-worked intervals", "[metrics][aggregate][bootstrap]") {
  // std::mt19937_64(1) draws 2469588189546311528, 2516265689700432462, 8323445853463659930,
  // 387828560950575246, 6472927700900931384, 16811588669333006409, ...; multiply-shift by 3
  // (index = draw * 3 / 2^64) gives indices 0, 0, 1 | 0, 1, 2. So of the scores {0, 3, 6}
  // resample 1 is {0, 0, 3} and resample 2 is {0, 3, 6}.
  std::mt19937_64 check(1);
  REQUIRE(check() == 2469588189546311528ULL);  // the standard's generator, as assumed above
  m::Strata one{{0, 3, 6}};
  std::mt19937_64 rng(1);
  CHECK(m::resample(one, rng) == m::Strata{{0, 0, 3}});
  CHECK(m::resample(one, rng) == m::Strata{{0, 3, 6}});

  const auto e = m::estimate(one, 2, 1);
  CHECK(e.resamples == 2);
  CHECK(e.runs == 3);
  CHECK(e.point.mean == Approx(3));
  // means of the resamples 1 and 3 (IQM and median too: 3 scores, one stratum);
  // percentiles of two values: 1 + 0.025 * 2 and 1 + 0.975 * 2
  CHECK(e.mean.low == Approx(1.05));
  CHECK(e.mean.high == Approx(2.95));
  CHECK(e.iqm.low == Approx(1.05));
  CHECK(e.median.high == Approx(2.95));
  // gaps 1 - mean(0, 0, 1) = 2/3 and 1 - mean(0, 1, 1) = 1/3
  CHECK(e.optimality_gap.low == Approx(1.0 / 3 + 0.025 / 3));
  CHECK(e.optimality_gap.high == Approx(1.0 / 3 + 0.975 / 3));
  // the same seed gives the same interval; the point estimates do not depend on it
  const auto again = m::estimate(one, 2, 1);
  CHECK(again.mean.low == e.mean.low);
  CHECK(again.mean.high == e.mean.high);
}

TEST_CASE("bootstrap intervals: strata of one run do not move, two-valued strata reach both ends",
          "[metrics][aggregate][bootstrap]") {
  // one run per record: every resample is the data itself
  const auto fixed = m::estimate({{0.2}, {0.6}, {1.3}}, 1000, 7);
  CHECK(fixed.mean.low == Approx(0.7));
  CHECK(fixed.mean.high == Approx(0.7));
  CHECK(fixed.strata == 3);
  // {0, 1} resampled: means 0, 0.5, 1 with chances 1/4, 1/2, 1/4, so the 2.5th and
  // 97.5th percentiles of many resamples are 0 and 1
  const auto spread = m::estimate({{0, 1}}, m::default_resamples, 3);
  CHECK(spread.resamples == 50000);
  CHECK(spread.mean.low == Approx(0));
  CHECK(spread.mean.high == Approx(1));
  CHECK(spread.point.mean == Approx(0.5));
  CHECK(std::isnan(m::estimate({}, 10, 0).point.iqm));
}
