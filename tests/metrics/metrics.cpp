// Tests of include/speedrunner/metrics/metrics.hpp: reading a run's metrics by the task's contract.
#include <speedrunner/metrics/metrics.hpp>

#include "catch.hpp"

namespace m = speedrunner::metrics;

namespace {
m::Contract speedrun_contract() {
  m::Contract c;
  c.metrics = {{"val_loss"}, {"train_time", m::Unit::ms}};
  c.selection = "train_time";
  c.lower_is_better = true;
  c.at_most = {{"val_loss", 3.28}};
  return c;
}
constexpr const char* speedrun_log =
    "step:0/3200 val_loss:10.8258 train_time:0ms step_avg:nanms\n"
    "step:1/3200 train_loss:10.8258 train_time:120ms step_avg:nanms\n"
    "step:3000/3200 val_loss:3.2904 train_time:2781011ms step_avg:927.93ms\n"
    "step:3125/3200 val_loss:3.2791 train_time:2897543ms step_avg:927.95ms\n"
    "step:3200/3200 val_loss:3.2775 train_time:2968348ms step_avg:927.99ms\n"
    "peak memory consumption: 22107 MiB\n";
}  // namespace

TEST_CASE("the speedrun's metrics are the first time val_loss reaches its target", "[metrics]") {
  auto r = m::read(speedrun_log, speedrun_contract());
  REQUIRE(r.found());
  CHECK(r.valid);
  CHECK(r.line == 4);
  CHECK(r.values.at("train_time") == 2897543);
  CHECK(r.values.at("val_loss") == Approx(3.2791));
}

TEST_CASE("a metric reads another log key when it names one (n_steps from step:N/M)", "[metrics]") {
  auto c = speedrun_contract();
  c.metrics.push_back({"n_steps", m::Unit::none, true, "step"});
  auto r = m::read(speedrun_log, c);
  REQUIRE(r.found());
  CHECK(r.line == 4);
  CHECK(r.values.at("n_steps") == 3125);
  CHECK_FALSE(r.values.contains("step"));
  c.metrics.back().key.clear();  // without the key, no line carries n_steps
  CHECK(m::read(speedrun_log, c).reason == "no line of the log carries all of val_loss, train_time, n_steps");
}

TEST_CASE("Pick::last takes the final qualifying line", "[metrics]") {
  auto c = speedrun_contract();
  c.pick = m::Pick::last;
  auto r = m::read(speedrun_log, c);
  CHECK(r.line == 5);
  CHECK(r.values.at("train_time") == 2968348);
}

TEST_CASE("a run that never reaches its bound is invalid with the reason", "[metrics]") {
  auto r = m::read("step:3200/3200 val_loss:3.3012 train_time:2968348ms step_avg:927.99ms\n",
                   speedrun_contract());
  REQUIRE(r.found());
  CHECK_FALSE(r.valid);
  CHECK(r.reason == "val_loss 3.3012 is above its bound 3.28 (metrics_at_most)");
}

TEST_CASE("the collatz line, with the runtime bound and higher max_steps better", "[metrics]") {
  m::Contract c;
  c.metrics = {{"runtime", m::Unit::s}, {"start_value", m::Unit::none, true}, {"max_steps", m::Unit::none, true}};
  c.selection = "max_steps";
  c.at_most = {{"runtime", 2.0}};
  auto r = m::read("searching below 10000000\nlimit: 10000000 start_value: 8400511 max_steps: 685 runtime: 1250ms\n", c);
  CHECK(r.valid);
  CHECK(r.values.at("runtime") == Approx(1.25));
  CHECK(r.values.at("max_steps") == 685);
  auto slow = m::read("limit: 10000000 start_value: 8400511 max_steps: 685 runtime: 2.5s\n", c);
  CHECK_FALSE(slow.valid);
  CHECK(slow.reason.find("runtime 2.5 is above its bound 2") == 0);
  auto fraction = m::read("start_value: 3.5 max_steps: 685 runtime: 1s\n", c);
  CHECK_FALSE(fraction.found());
}

TEST_CASE("a log without the metrics says which were expected", "[metrics]") {
  auto r = m::read("Segmentation fault (core dumped)\n", speedrun_contract());
  CHECK_FALSE(r.found());
  CHECK_FALSE(r.valid);
  CHECK(r.reason == "no line of the log carries all of val_loss, train_time");
}

TEST_CASE("a non-finite metric makes a line invalid", "[metrics]") {
  auto r = m::read("step:10/3200 val_loss:nan train_time:100ms\n", speedrun_contract());
  REQUIRE(r.found());
  CHECK_FALSE(r.valid);
  CHECK(r.reason == "val_loss is nan");
}
