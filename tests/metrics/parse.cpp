// Tests of include/speedrunner/metrics/parse.hpp: pairs, units, totals and JSON lines.
#include <speedrunner/metrics/parse.hpp>

#include "catch.hpp"

#include <cmath>

namespace m = speedrunner::metrics;

TEST_CASE("a nanogpt validation line gives step, val_loss and times with their units", "[metrics][parse]") {
  auto p = m::parse_pairs("step:1750/3200 val_loss:3.5287 train_time:612402ms step_avg:350.72ms");
  REQUIRE(p.size() == 4);
  CHECK(p["step"].value == 1750);
  CHECK(p["val_loss"].value == Approx(3.5287));
  CHECK(p["train_time"].value == 612402);
  CHECK(p["train_time"].unit == m::Unit::ms);
  CHECK(m::convert(p["train_time"], m::Unit::s) == Approx(612.402));
}

TEST_CASE("a collatz line gives its metrics, seconds included", "[metrics][parse]") {
  auto p = m::parse_pairs("limit: 10000000 start_value: 8400511 max_steps: 685 runtime: 1.93s");
  CHECK(p["start_value"].value == 8400511);
  CHECK(p["max_steps"].value == 685);
  CHECK(p["runtime"].unit == m::Unit::s);
  CHECK(m::convert(p["runtime"], m::Unit::ms) == Approx(1930));
}

TEST_CASE("JSON lines, equals signs and punctuation are read; words without numbers are not",
          "[metrics][parse]") {
  auto j = m::parse_pairs(R"(  {"val_loss": 3.27, "train_time": "12.5s", "note": "ok"})");
  CHECK(j["val_loss"].value == Approx(3.27));
  CHECK(j["train_time"].value == 12.5);
  CHECK(j["train_time"].unit == m::Unit::s);
  CHECK_FALSE(j.contains("note"));
  auto e = m::parse_pairs("loss=2.5, lr=0.001; status: running | acc: 0.9");
  CHECK(e["loss"].value == 2.5);
  CHECK(e["lr"].value == 0.001);
  CHECK(e["acc"].value == 0.9);
  CHECK_FALSE(e.contains("status"));
  auto nan = m::parse_pairs("step:40/3200 train_loss:nan");
  CHECK(std::isnan(nan["train_loss"].value));
  CHECK_FALSE(m::parse_quantity("12parsecs").has_value());
  CHECK_FALSE(m::parse_quantity("abc").has_value());
}
