// Synthetic run folders for the viewer's tests: a config.json naming the
// condition, a journal written by the real Journal, version folders with code
// and training logs, and record templates with measured baselines.
#pragma once

#include <speedrunner/workspace/journal.hpp>

#include "support.hpp"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace speedrunner::testing {

inline void put(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

// Templates record_1 (100 s, calibrated 98-104 s), record_2 (60 s, 58-61 s), record_3 (45 s).
inline std::filesystem::path write_templates(const std::filesystem::path& root) {
  const auto t = root / "templates";
  put(t / "record_1/results.json",
      R"({"tracks": {"mini": {"train_time_ms": 100000, "train_time_ms_min": 98000, "train_time_ms_max": 104000}}})");
  put(t / "record_2/results.json",
      R"({"tracks": {"mini": {"train_time_ms": 60000, "train_time_ms_min": 58000, "train_time_ms_max": 61000}}})");
  put(t / "record_3/results.json", R"({"tracks": {"mini": {"train_time_ms": 45000}}})");
  return t;
}

// One node to write: its parent, validity and train_time (ms), or buggy.
struct FakeNode {
  int parent;
  bool buggy = false;
  double train_time_ms = 0;
  bool finished = true;
};

// A speedrun run from `record` whose v_0 is not run and whose nodes are `nodes`
// (ids 1, 2, ...); each node's code is `train.cpp` with its id in it, each
// valid node's log two validation lines ending at its train_time.
inline std::filesystem::path write_run(const std::filesystem::path& dir, int record, const std::string& scaffold,
                                       const std::string& hints_level, const std::vector<FakeNode>& nodes) {
  namespace ws = speedrunner::workspace;
  std::string hints = hints_level.empty() ? "[]" : "[\"data/record_" + std::to_string(record) + "/level_" + hints_level + "_x.txt\"]";
  put(dir / "config.json", "{\"choices\": {\"science_runner\": \"" + scaffold + "\", \"model\": \"replay\"}, "
                           "\"knowledge_src_paths\": " + hints + ", \"task\": {\"name\": \"nanogpt_speedrun\", \"record\": " +
                           std::to_string(record) + ", \"track\": \"mini\", \"metrics_at_most\": {\"val_loss\": 3.5}}}");
  auto j = ws::Journal::with_root({"train_time", true}, 0);
  put(dir / "v_0/train.cpp", "int main() {\n  return 0;\n}\n");
  for (const auto& f : nodes) {
    auto& n = j.add_child(f.parent, speedrunner::ideate::Stage::improve, 0);
    const auto id = n.id;
    n.hypothesis = {"idea " + std::to_string(id), "try idea " + std::to_string(id)};
    n.cost.usd = 0.01;
    put(dir / n.name() / "train.cpp", "int main() {\n  int idea = " + std::to_string(id) + ";\n  return 0;\n}\n");
    if (!f.finished) {
      n.phase = ws::Phase::coded;
      continue;
    }
    n.phase = ws::Phase::done;
    if (f.buggy) {
      n.status = ws::Status::buggy;
      n.reason = "exit status 1";
      n.outcome = "buggy: exit status 1";
      put(dir / n.name() / "stderr.log", "error: boom\n");
    } else {
      n.status = ws::Status::ok;
      n.valid = true;
      n.metrics = {{"train_time", f.train_time_ms}, {"val_loss", 3.45}};
      n.outcome = "train_time " + std::to_string(f.train_time_ms);
      put(dir / n.name() / "stdout.log",
          "step:0/100 val_loss:10.9 train_time:0ms step_avg:nanms\n"
          "step:50/100 val_loss:4.2 train_time:" + std::to_string(f.train_time_ms / 2) + "ms step_avg:1ms\n"
          "step:100/100 val_loss:3.45 train_time:" + std::to_string(f.train_time_ms) + "ms step_avg:1ms\n");
    }
    j.judge(n);
  }
  REQUIRE(j.save(dir / "journal.json"));
  return dir;
}

}  // namespace speedrunner::testing
