// Tests of runner/progress.hpp: plain lines off a terminal, and the live status line.
#include "../../runner/progress.hpp"

#include <speedrunner/workspace/atomic_file.hpp>

#include "catch.hpp"
#include "support.hpp"

#include <cstdio>

TEST_CASE("off a terminal, progress prints one timestamped line per event", "[runner][progress]") {
  speedrunner::testing::TempDir tmp;
  const auto path = tmp.path() / "progress.txt";
  std::FILE* f = std::fopen(path.c_str(), "w");
  REQUIRE(f != nullptr);
  speedrun::Progress progress(f);
  speedrunner::RunStatus s;
  s.elapsed_s = 1.5;
  progress({speedrunner::EventKind::finished, nullptr, "v_1: max_steps 559"}, s);
  s.elapsed_s = 12.25;
  progress({speedrunner::EventKind::stopped, nullptr, "n_iterations (5) reached"}, s);
  progress.finish();
  std::fclose(f);
  CHECK(*speedrunner::workspace::read_file(path) ==
        "[    1.5s] v_1: max_steps 559\n[   12.2s] n_iterations (5) reached\n");
}

TEST_CASE("the status line shows iteration, nodes, running jobs, the best node, tokens and cost",
          "[runner][progress]") {
  speedrunner::RunStatus s;
  s.iteration = 2;
  s.n_iterations = 5;
  s.nodes = 6;
  s.max_nodes = 20;
  s.running = 1;
  s.best = "v_6";
  s.best_score = 685;
  s.selection = "max_steps";
  s.usage.input_tokens = 12000;
  s.usage.output_tokens = 800;
  s.usd = 0.042;
  s.elapsed_s = 31;
  CHECK(speedrun::Progress::status_line(s) ==
        "iteration 2/5 | nodes 6/20 | running 1 | best v_6 max_steps 685 | tokens 12000 in, 800 out | $0.042 | 31 s");
  s.best.clear();
  CHECK(speedrun::Progress::status_line(s).find("best - |") != std::string::npos);
}
