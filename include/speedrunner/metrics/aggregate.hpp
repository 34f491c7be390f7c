// Aggregate scores over many runs the way rliable does (Agarwal et al., 2021,
// "Deep RL at the Edge of the Statistical Precipice"): the interquartile mean,
// median, mean and optimality gap of per-run scores grouped in strata (here:
// one stratum per record), each with a 95% interval from a stratified
// bootstrap (runs resampled with replacement within each stratum) and the
// percentile method. The RNG is seeded, so the same inputs give the same
// intervals. `speedrun report` and `speedrun view` both print these numbers.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <random>
#include <span>
#include <vector>

namespace speedrunner::metrics {

// rliable's get_interval_estimates resamples 50,000 times by default; so do we.
inline constexpr int default_resamples = 50000;

// Scores of one stratum (the runs of one record); a strata list is one condition.
using Strata = std::vector<std::vector<double>>;

[[nodiscard]] inline double mean_of(std::span<const double> xs) {
  if (xs.empty()) return NAN;
  return std::accumulate(xs.begin(), xs.end(), 0.0) / static_cast<double>(xs.size());
}

// numpy.percentile's default (linear interpolation between closest ranks); q in [0, 100].
[[nodiscard]] inline double percentile(std::vector<double> xs, double q) {
  if (xs.empty()) return NAN;
  std::sort(xs.begin(), xs.end());
  const double pos = q / 100.0 * static_cast<double>(xs.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const auto hi = std::min(lo + 1, xs.size() - 1);
  return xs[lo] + (pos - static_cast<double>(lo)) * (xs[hi] - xs[lo]);
}

// The mean of the middle half: scipy.stats.trim_mean(x, 0.25), which cuts
// floor(n / 4) scores from each end (none for fewer than 4).
[[nodiscard]] inline double interquartile_mean(std::vector<double> xs) {
  if (xs.empty()) return NAN;
  std::sort(xs.begin(), xs.end());
  const std::size_t cut = xs.size() / 4;
  return mean_of(std::span<const double>(xs).subspan(cut, xs.size() - 2 * cut));
}

// gamma - mean(min(x, gamma)): how far the runs fall short of the target score
// on average (gamma = 1: all of the record's speedup recovered).
[[nodiscard]] inline double optimality_gap(std::span<const double> xs, double gamma = 1.0) {
  if (xs.empty()) return NAN;
  double sum = 0;
  for (double x : xs) sum += std::min(x, gamma);
  return gamma - sum / static_cast<double>(xs.size());
}

// The four aggregates of one condition, as rliable defines them on a
// runs x tasks matrix: IQM and optimality gap over all runs' scores together,
// median and mean over the strata's mean scores (each record weighs the same).
struct Point {
  double iqm = NAN, median = NAN, mean = NAN, optimality_gap = NAN;
};
[[nodiscard]] inline Point aggregates(const Strata& strata, double gamma = 1.0) {
  std::vector<double> all, stratum_means;
  for (const auto& s : strata) {
    if (s.empty()) continue;
    all.insert(all.end(), s.begin(), s.end());
    stratum_means.push_back(mean_of(s));
  }
  if (all.empty()) return {};
  return {interquartile_mean(all), percentile(stratum_means, 50), mean_of(stratum_means), optimality_gap(all, gamma)};
}

struct Interval {
  double low = NAN, high = NAN;
};
// Each aggregate with its 95% interval.
struct Estimate {
  Point point;
  Interval iqm, median, mean, optimality_gap;
  int resamples = 0;
  int runs = 0, strata = 0;
};

namespace detail {
// An index in [0, n) from one 64-bit draw (Lemire's multiply-shift): the same on
// every standard library, unlike std::uniform_int_distribution.
[[nodiscard]] inline std::size_t draw_index(std::mt19937_64& rng, std::size_t n) {
  return static_cast<std::size_t>((static_cast<unsigned __int128>(rng()) * n) >> 64);
}
}  // namespace detail

// One stratified bootstrap resample: each stratum's runs drawn with replacement,
// as many as it has, stratum by stratum in order, run by run.
[[nodiscard]] inline Strata resample(const Strata& strata, std::mt19937_64& rng) {
  Strata out;
  out.reserve(strata.size());
  for (const auto& s : strata) {
    std::vector<double> r(s.size());
    for (auto& x : r) x = s[detail::draw_index(rng, s.size())];
    out.push_back(std::move(r));
  }
  return out;
}

// The point estimates and their stratified-bootstrap 95% percentile intervals
// (2.5th and 97.5th percentiles of `resamples` resampled aggregates), from a
// std::mt19937_64 seeded with `seed`.
[[nodiscard]] inline Estimate estimate(const Strata& strata, int resamples = default_resamples,
                                       std::uint64_t seed = 0, double gamma = 1.0) {
  Estimate e;
  e.point = aggregates(strata, gamma);
  e.resamples = std::max(1, resamples);
  for (const auto& s : strata) {
    e.runs += static_cast<int>(s.size());
    e.strata += s.empty() ? 0 : 1;
  }
  if (e.runs == 0) return e;
  std::mt19937_64 rng(seed);
  std::vector<double> iqm, median, mean, gap;
  for (auto* v : {&iqm, &median, &mean, &gap}) v->reserve(static_cast<std::size_t>(e.resamples));
  for (int i = 0; i < e.resamples; ++i) {
    const Point p = aggregates(resample(strata, rng), gamma);
    iqm.push_back(p.iqm);
    median.push_back(p.median);
    mean.push_back(p.mean);
    gap.push_back(p.optimality_gap);
  }
  auto ci = [](std::vector<double>& v) { return Interval{percentile(v, 2.5), percentile(v, 97.5)}; };
  e.iqm = ci(iqm);
  e.median = ci(median);
  e.mean = ci(mean);
  e.optimality_gap = ci(gap);
  return e;
}

}  // namespace speedrunner::metrics
