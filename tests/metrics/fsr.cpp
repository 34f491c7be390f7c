// Tests for include/speedrunner/metrics/fsr.hpp: the FSR formula, t_agent over
// a journal's nodes (v_0 included), and the per-record / top-k summaries.
#include <speedrunner/metrics/fsr.hpp>

#include "catch.hpp"

#include <vector>

namespace m = speedrunner::metrics;

TEST_CASE("FSR is 0 at record R's time, 1 at record R+1's and linear between", "[metrics][fsr]") {
  const m::Baseline b{100.0, 60.0};
  REQUIRE(*m::fraction_of_speedup_recovered(b, 100.0) == Approx(0.0));
  REQUIRE(*m::fraction_of_speedup_recovered(b, 60.0) == Approx(1.0));
  REQUIRE(*m::fraction_of_speedup_recovered(b, 80.0) == Approx(0.5));
  REQUIRE(*m::fraction_of_speedup_recovered(b, 40.0) == Approx(1.5));   // beating R+1
  REQUIRE(*m::fraction_of_speedup_recovered(b, 120.0) == Approx(-0.5)); // slower than R
}

TEST_CASE("FSR refuses a step whose next record is not faster, naming both times", "[metrics][fsr]") {
  auto r = m::fraction_of_speedup_recovered({9040.5, 9134.0}, 9000.0);
  REQUIRE_FALSE(r);
  CHECK(r.error().what.find("not faster") != std::string::npos);
  CHECK(r.error().what.find("9134") != std::string::npos);
  CHECK(r.error().kind == "no_speedup");  // reports label such a step and leave it out of their means
  CHECK_FALSE(m::fraction_of_speedup_recovered({100.0, 60.0}, 0.0));
  CHECK_FALSE(m::fraction_of_speedup_recovered({0.0, 60.0}, 50.0));
}

TEST_CASE("the FSR range spans the calibration spread of both baselines, and is empty when it voids the step",
          "[metrics][fsr]") {
  // t_R 100 (runs 95-105), t_R+1 60 (runs 55-62), the agent at 60
  const m::Baseline spread{100.0, 60.0, 95.0, 105.0, 55.0, 62.0};
  const auto r = m::fsr_range(spread, 60.0);
  REQUIRE(r.has_value());
  CHECK(r->low == Approx(35.0 / 40.0));   // t_R 95, t_R+1 55
  CHECK(r->high == Approx(35.0 / 33.0));  // t_R 95, t_R+1 62
  const auto single = m::fsr_range({100.0, 60.0}, 80.0);  // one figure each: the range is the FSR itself
  REQUIRE(single.has_value());
  CHECK(single->low == Approx(0.5));
  CHECK(single->high == Approx(0.5));
  CHECK_FALSE(m::fsr_range({100.0, 60.0, 58.0, 100.0, 55.0, 62.0}, 60.0));  // t_R 58 < t_R+1 62
}

TEST_CASE("t_agent is the best valid train_time, with v_0 standing in as t_R when unmeasured", "[metrics][fsr]") {
  std::vector<m::NodeTime> nodes{{0, false, std::nullopt}, {1, true, 90.0}, {2, false, 10.0}, {3, true, 75.0}};
  CHECK(m::agent_time(nodes, 100.0) == Approx(75.0));  // node 2 is invalid: its 10 ms does not count
  std::vector<m::NodeTime> all_broken{{0, false, std::nullopt}, {1, false, 50.0}, {2, true, std::nullopt}};
  CHECK(m::agent_time(all_broken, 100.0) == Approx(100.0));  // FSR 0, never below
  std::vector<m::NodeTime> measured_root{{0, true, 104.0}, {1, true, 110.0}};
  CHECK(m::agent_time(measured_root, 100.0) == Approx(104.0));  // the measured v_0 replaces the stand-in
}

TEST_CASE("summaries average per record, then over records; top-k keeps each record's k best runs", "[metrics][fsr]") {
  auto run = [](int record, double fsr) {
    m::RunScore s;
    s.record = record;
    s.track = "mini";
    s.fsr = fsr;
    return s;
  };
  auto rep = m::summarize({run(1, 0.2), run(1, 0.8), run(1, 0.5), run(2, 1.0)}, 2);
  REQUIRE(rep.records.size() == 2);
  CHECK(rep.records[0].record == 1);
  CHECK(rep.records[0].runs == 3);
  CHECK(rep.records[0].mean_fsr == Approx(0.5));
  CHECK(rep.records[0].top_k_fsr == Approx(0.65));  // (0.8 + 0.5) / 2
  CHECK(rep.records[1].k == 1);                       // only one run: k is capped
  CHECK(rep.records[1].top_k_fsr == Approx(1.0));
  CHECK(rep.mean_fsr == Approx(0.75));                // records weigh the same, not runs
  CHECK(rep.mean_top_k_fsr == Approx(0.825));
  CHECK(rep.runs.size() == 4);
  CHECK(m::summarize({}, 1).records.empty());
}
