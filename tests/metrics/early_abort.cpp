// Tests of include/speedrunner/metrics/early_abort.hpp: stopping hopeless runs from their log.
#include <speedrunner/metrics/early_abort.hpp>

#include "catch.hpp"

namespace m = speedrunner::metrics;

TEST_CASE("a NaN loss stops the run, even when the line arrives in pieces", "[metrics][abort]") {
  m::LogWatch w({});
  CHECK_FALSE(w.feed("step:39/3200 train_loss:4.1 train_time:100ms\nstep:40/32").has_value());
  auto v = w.feed("00 train_loss:na");
  CHECK_FALSE(v.has_value());
  v = w.feed("n train_time:110ms\nmore\n");
  REQUIRE(v.has_value());
  CHECK(*v == "train_loss is nan at step 40 (non-finite loss)");
}

TEST_CASE("an infinite loss stops the run; other non-finite values do not", "[metrics][abort]") {
  m::LogWatch w({});
  CHECK_FALSE(w.feed("step:0/3200 val_loss:10.8 train_time:0ms step_avg:nanms\n").has_value());
  auto v = w.feed("step:1/3200 train_loss:inf\n");
  REQUIRE(v.has_value());
  CHECK(v->find("train_loss is inf") == 0);
}

TEST_CASE("a rule of the task stops a run still above its bound at a given step", "[metrics][abort]") {
  m::WatchRules rules;
  rules.rules = {{"val_loss", 1000, 4.0, std::nullopt}};
  m::LogWatch w(rules);
  CHECK_FALSE(w.feed("step:500/3200 val_loss:5.2 train_time:100ms\n").has_value());
  CHECK_FALSE(w.feed("step:1000/3200 val_loss:3.9 train_time:200ms\n").has_value());
  m::LogWatch slow(rules);
  auto v = slow.feed("step:1000/3200 val_loss:4.3 train_time:200ms\n");
  REQUIRE(v.has_value());
  CHECK(*v == "val_loss 4.3 is still above 4 at step 1000 (abort rule from step 1000)");
}

TEST_CASE("a final line without a newline is checked at the end", "[metrics][abort]") {
  m::LogWatch w({});
  CHECK_FALSE(w.feed("loss: -inf").has_value());
  CHECK(w.finish().has_value());
  m::WatchRules off;
  off.nonfinite_loss = false;
  m::LogWatch quiet(off);
  CHECK_FALSE(quiet.feed("loss: nan\n").has_value());
}

TEST_CASE("a line without end is kept only in part, and the lines after it are still read", "[metrics][abort]") {
  m::LogWatch w({});
  const std::string chunk(1 << 16, 'x');
  for (int i = 0; i < 512; ++i) CHECK_FALSE(w.feed(chunk).has_value());  // 32 MiB, one line
  auto v = w.feed("x\nstep:7/100 train_loss:nan\n");
  REQUIRE(v.has_value());
  CHECK(*v == "train_loss is nan at step 7 (non-finite loss)");
}
