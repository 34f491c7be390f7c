// The level-0 oracle through the speedrun executable: ideator=dummy passes a
// diff hint through as the hypothesis and coder=patch applies it, so v_1 is the
// target tree byte for byte (collatz, and each NanoGPT record R -> R+1).
#include <speedrunner/data/identity.hpp>
#include <speedrunner/workspace/journal.hpp>

#include "catch.hpp"
#include "support.hpp"

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace fs = std::filesystem;
namespace ws = speedrunner::workspace;
using namespace speedrunner::testing;

namespace {

// One iteration of best-of-1 from v_0: the draft v_1 is the patched tree.
std::string oracle_command(const fs::path& cwd, const std::string& task, const fs::path& hint, const fs::path& run,
                           const std::string& extra = "") {
  return "cd '" + cwd.string() + "' && " + speedrun_exe() + " task=" + task +
         " ideator=dummy coder=patch science_runner=bon n_iterations=1 'knowledge_src_paths=[" + hint.string() +
         "]' workspace.root='" + run.string() + "' " + extra;
}

// A template's code: every file but its measured results and build outputs.
std::map<std::string, std::string> code_of(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const std::string rel = fs::relative(e.path(), dir).generic_string();
    if (rel == "results.json" || rel == "summary.json" || rel.starts_with("build/")) continue;
    out[rel] = slurp(e.path());
  }
  return out;
}

}  // namespace

TEST_CASE("ideator=dummy with a diff hint and coder=patch make v_1 the target tree byte for byte",
          "[runner][cli][oracle]") {
  TempDir tmp;
  link_sources(tmp.path());
  const fs::path templ = source_root() / "workspace_templates" / "collatz";
  const std::string before = slurp(templ / "collatz.cpp");
  const std::string old_loop = "  for (std::uint64_t i = 1; i < limit; ++i) {\n";
  const std::string new_loop = "  for (std::uint64_t i = limit - 1; i >= 1; --i) {\n";
  REQUIRE(before.find(old_loop) != std::string::npos);
  std::string target = before;
  target.replace(target.find(old_loop), old_loop.size(), new_loop);
  // written as the level-0 hints are: comment lines, then a git diff that also creates a file
  const std::string hint =
      "# Level 0 hint, collatz: walk the start values from the top down.\n"
      "# Paths are relative to the workspace; apply from its root (patch -p1, or coder=patch).\n"
      "diff --git a/collatz.cpp b/collatz.cpp\n--- a/collatz.cpp\n+++ b/collatz.cpp\n"
      "@@ -31,3 +31,3 @@\n   int max_steps = 0;\n-" + old_loop + "+" + new_loop +
      "     const int steps = collatz_steps(i);\n"
      "diff --git a/NOTES.md b/NOTES.md\nnew file mode 100644\n--- /dev/null\n+++ b/NOTES.md\n@@ -0,0 +1,2 @@\n"
      "+# Notes\n+Long chains start high.\n";
  spit(tmp.path() / "hint" / "level_0_diff.txt", hint);
  const fs::path run = tmp.path() / "run";

  auto r = run_shell(oracle_command(tmp.path(), "collatz", tmp.path() / "hint" / "level_0_diff.txt", run));
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(slurp(run / "v_1" / "collatz.cpp") == target);
  CHECK(slurp(run / "v_1" / "run.sh") == slurp(templ / "run.sh"));
  CHECK(slurp(run / "v_1" / "NOTES.md") == "# Notes\nLong chains start high.\n");
  CHECK(slurp(run / "v_0" / "collatz.cpp") == before);  // the parent is untouched
  auto j = ws::Journal::load(run / "journal.json");
  REQUIRE(j.has_value());
  REQUIRE(j->n_nodes() == 1);  // v_1; the root v_0 is not counted
  CHECK(j->at(1).hypothesis.summary == "hints: # Level 0 hint, collatz: walk the start values from the top down.");
  CHECK(j->at(1).valid);  // the patched program built, ran and printed its metrics line
  CHECK(j->at(1).metrics.at("max_steps") > 0);
}

TEST_CASE("coder=patch with hints that hold no diff makes the node buggy with the fix", "[runner][cli][oracle]") {
  TempDir tmp;
  link_sources(tmp.path());
  spit(tmp.path() / "hint.txt", "Walk the start values from the top down.\n");
  const fs::path run = tmp.path() / "run";
  auto r = run_shell(oracle_command(tmp.path(), "collatz", tmp.path() / "hint.txt", run));
  INFO(r.output);
  CHECK(r.status == 1);  // no valid node
  auto j = ws::Journal::load(run / "journal.json");
  REQUIRE(j.has_value());
  REQUIRE(j->n_nodes() == 1);  // v_1; the root v_0 is not counted
  CHECK(j->at(1).buggy());
  CHECK(j->at(1).reason.find("coder=patch applies a unified diff without a model") != std::string::npos);
  CHECK(slurp(run / "v_1" / "collatz.cpp") == slurp(run / "v_0" / "collatz.cpp"));
}

// Checks the code path only: the launch command is replaced by a script that
// prints one fake log line, so neither nvcc nor a GPU nor the track's data is
// needed (the data pin is dropped; the script lives in the host's /tmp, which a
// sandboxed node does not see, so the sandbox is off) and the times mean nothing. The device run of the same command line measures the FSR.
TEST_CASE("the runner turns record R into record R+1 with coder=patch and the level-0 hint (code path only)",
          "[runner][cli][oracle][records]") {
  TempDir tmp;
  link_sources(tmp.path());
  const fs::path fake = tmp.path() / "fake_train.sh";
  // a loss below the task's target (3.89 on the mini track), so v_1 counts as valid
  spit(fake, "#!/bin/sh\necho 'step:10/10 val_loss:3.0 train_time:1000ms step_avg:100ms'\n");
  fs::permissions(fake, fs::perms::owner_exec, fs::perm_options::add);
  const fs::path templates = source_root() / "workspace_templates" / "nanogpt_speedrun";
  const fs::path hints = source_root() / "data" / "nanogpt_speedrun_knowledge_in_levels";
  for (int rec = 1; rec <= 4; ++rec) {
    const std::string R = std::to_string(rec), next = std::to_string(rec + 1);
    INFO("record " << R << " -> " << next);
    const fs::path run = tmp.path() / ("run_" + R);
    auto r = run_shell(oracle_command(tmp.path(), "nanogpt_speedrun/record_" + R,
                                      hints / ("record_" + R) / "level_0_diff.txt", run,
                                      "task.launch_command='" + fake.string() + "' '~task.tracks.mini.data_hash' executor.sandbox=off"));
    INFO(r.output);
    REQUIRE(r.status == 0);
    const auto want = code_of(templates / ("record_" + next));
    for (const auto& [rel, bytes] : want) {
      INFO(rel);
      REQUIRE(fs::exists(run / "v_1" / rel));
      CHECK(slurp(run / "v_1" / rel) == bytes);
    }
    for (const auto& [rel, bytes] : code_of(templates / ("record_" + R))) {
      INFO(rel << " is gone from record " << next);
      if (!want.contains(rel)) CHECK_FALSE(fs::exists(run / "v_1" / rel));
    }
    auto j = ws::Journal::load(run / "journal.json");
    REQUIRE(j.has_value());
    CHECK(j->at(1).valid);  // the task reads n_steps from step:N/M (task.metric_keys)
    CHECK(j->at(1).metrics.at("n_steps") == 10);
    CHECK(j->at(1).metrics.at("train_time") == 1000);
  }
}

TEST_CASE("a run on a track with pinned data refuses other tokens, naming both hashes",
          "[runner][cli][records][data]") {
  TempDir tmp;
  link_sources(tmp.path());
  const fs::path shards = tmp.path() / "shards";
  fs::create_directories(shards);
  std::vector<std::uint16_t> val(64), train(300);
  for (std::size_t i = 0; i < val.size(); ++i) val[i] = std::uint16_t(i % 50257);
  for (std::size_t i = 0; i < train.size(); ++i) train[i] = std::uint16_t((i * 31) % 50257);
  REQUIRE(speedrunner::data::write_shard(shards / "t_val_000000.bin", val));
  REQUIRE(speedrunner::data::write_shard(shards / "t_train_000001.bin", train));
  const auto id = speedrunner::data::identify_data(std::vector<fs::path>{shards / "t_val_000000.bin"},
                                                   std::vector<fs::path>{shards / "t_train_000001.bin"});
  REQUIRE(id);
  auto start = [&](const std::string& hash, const std::string& name) {
    return run_shell("cd '" + tmp.path().string() + "' && " + speedrun_exe() +
                     " task=nanogpt_speedrun/record_1 n_iterations=1 workspace.root='" + (tmp.path() / name).string() +
                     "' task.tracks.mini.val_files='" + (shards / "t_val_*.bin").string() +
                     "' task.tracks.mini.train_files='" + (shards / "t_train_*.bin").string() +
                     "' task.tracks.mini.data_hash=" + hash + " task.launch_command=true");
  };
  const std::string other(32, '0');
  auto refused = start(other, "run_other");
  INFO(refused.output);
  CHECK(refused.status != 0);
  CHECK(refused.output.find("has hash " + id->hash + ", but the track is defined as data " + other) != std::string::npos);
  CHECK(refused.output.find("speedrun data mini --force") != std::string::npos);
  CHECK(!fs::exists(tmp.path() / "run_other" / "journal.json"));  // nothing started
  auto accepted = start(id->hash, "run_same");
  INFO(accepted.output);
  CHECK(accepted.output.find("the track is defined as data") == std::string::npos);
  CHECK(fs::exists(tmp.path() / "run_same" / "journal.json"));
}
