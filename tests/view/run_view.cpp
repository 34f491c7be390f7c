// Tests for include/speedrunner/view/run_view.hpp: validation curves read from
// logs, node kinds against the record's calibration spread, diffs and scores.
#include <speedrunner/view/run_view.hpp>

#include "catch.hpp"
#include "runs.hpp"

namespace view = speedrunner::view;
using namespace speedrunner::testing;

TEST_CASE("validation curves are read from step:N/M val_loss:X train_time:Yms lines", "[view][curves]") {
  const auto c = view::validation_curve("hello\nstep:0/10 val_loss:10.5 train_time:0ms step_avg:nanms\n"
                                        "step:5/10 train_loss:4.0 train_time:50ms\n"
                                        "step:10/10 val_loss:3.25 train_time:1234.5ms step_avg:1ms");
  REQUIRE(c.size() == 2);
  CHECK(c[0].step == 0);
  CHECK(c[0].val_loss == 10.5);
  CHECK(c[1].step == 10);
  CHECK(c[1].val_loss == 3.25);
  CHECK(c[1].train_time_ms == 1234.5);
  CHECK(view::validation_curve("no validation here\n").empty());
}

TEST_CASE("nodes are improved only when faster than every calibration run of record R", "[view][kinds]") {
  TempDir tmp;
  const auto templates = write_templates(tmp.path());
  // record 1 calibrated 98-104 s: 80 s improves, 99 s is inside the spread
  const auto dir = write_run(tmp.path() / "run", 1, "aide", "0",
                             {{0, false, 80000}, {0, false, 99000}, {1, true}, {1, false, 0, false}});
  auto run = view::load_run(dir, {.templates = templates});
  REQUIRE(run.has_value());
  REQUIRE(run->nodes.size() == 5);
  CHECK(run->nodes[0].kind == view::NodeKind::template_);
  CHECK(run->nodes[1].kind == view::NodeKind::improved);
  CHECK(run->nodes[2].kind == view::NodeKind::no_improvement);
  CHECK(run->nodes[3].kind == view::NodeKind::buggy);
  CHECK(run->nodes[4].kind == view::NodeKind::in_flight);
  REQUIRE(run->score.has_value());
  CHECK(run->score->fsr == Approx(0.5));  // (100 - 80) / (100 - 60)
  CHECK(run->condition.hints == "0");
  CHECK(run->condition.scaffold == "aide");
  CHECK(run->target == 3.5);
  CHECK(run->nodes[1].curve.size() == 3);
  CHECK(run->nodes[3].diff.find("-  int idea = 1;\n+  int idea = 3;\n") != std::string::npos);  // against v_1
  CHECK(run->nodes[3].log_head.find("error: boom") != std::string::npos);
  CHECK(run->nodes[0].diff.empty());
  CHECK_FALSE(run->judgement.has_value());
}

TEST_CASE("a run without a record is shown unscored, its nodes compared with their valid ancestors", "[view][kinds]") {
  TempDir tmp;
  const auto dir = write_run(tmp.path() / "run", 1, "bon", "", {{0, false, 500}, {1, false, 400}, {1, false, 600}});
  put(dir / "config.json", R"({"choices": {"science_runner": "bon", "model": "replay"}, "task": {"name": "collatz"}})");
  auto run = view::load_run(dir, {.templates = tmp.path() / "none"});
  REQUIRE(run.has_value());
  CHECK_FALSE(run->score.has_value());
  CHECK(run->unscored.find("no record") != std::string::npos);
  CHECK(run->condition.hints == "none");
  CHECK(run->nodes[1].kind == view::NodeKind::valid);            // nothing measured above it
  CHECK(run->nodes[2].kind == view::NodeKind::improved);         // 400 < v_1's 500
  CHECK(run->nodes[3].kind == view::NodeKind::no_improvement);   // 600 > 500
}
