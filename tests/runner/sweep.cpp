// `speedrun sweep` and `speedrun cumulative` end to end, offline: fake NanoGPT
// records (a shell script that prints the speedrun's log line, calibrated
// results.json beside it) in a --config-dir, the replay model as the coder,
// hint files per record and level. Sweeps and chains are killed and resumed.
#include <speedrunner/workspace/journal.hpp>

#include "catch.hpp"
#include "support.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;
using namespace speedrunner::testing;

namespace {

// Records 1-4 whose "trainer" reports train_time T - SPEEDUP; the replay coder's
// one edit adds 100 to SPEEDUP. Human times: 1000, 800, 600, 500 ms.
struct FakeRecords {
  TempDir tmp{"sr-sweep"};
  fs::path conf = tmp.path() / "conf", templates = tmp.path() / "templates", hints = tmp.path() / "hints",
           transcript = tmp.path() / "transcript.jsonl";
  FakeRecords() {
    const int human[] = {1000, 800, 600, 500};
    for (int r = 1; r <= 4; ++r) {
      const fs::path t = templates / ("record_" + std::to_string(r));
      spit(t / "train.sh", "T=" + std::to_string(human[r - 1]) +
                               "\nSPEEDUP=0\n# speedups\nsleep 0.2\n"
                               "echo \"step:10/10 val_loss:3.2 train_time:$((T-SPEEDUP))ms step_avg:1ms\"\n");
      spit(t / "results.json", "{\"record\": " + std::to_string(r) + ", \"tracks\": {\"mini\": {\"train_time_ms\": " +
                                   std::to_string(human[r - 1]) + "}}}\n");
      spit(conf / "task" / "nanogpt_speedrun" / ("record_" + std::to_string(r) + ".json"),
           "{\"name\": \"fake_speedrun\", \"record\": " + std::to_string(r) +
               ", \"description\": \"Make train.sh report a lower train_time.\", \"code_instructions\": \"Keep the "
               "log line.\", \"template_dir\": \"" + t.string() +
               "\", \"entry_files\": [\"train.sh\"], \"launch_command\": \"sh train.sh\", \"env\": {}, "
               "\"metrics\": {\"val_loss\": \"number\", \"train_time\": \"duration\"}, \"selection\": {\"metric\": "
               "\"train_time\", \"direction\": \"lower\"}, \"metrics_at_most\": {\"val_loss\": 3.28}, "
               "\"metrics_at_least\": {}, \"time_limit_s\": 30}\n");
      for (int level = 0; level <= 3; ++level)
        spit(hints / ("record_" + std::to_string(r)) / ("level_" + std::to_string(level) + "_hint.txt"),
             "Level " + std::to_string(level) + " hint for record " + std::to_string(r) + ": raise SPEEDUP by 100.\n");
    }
    const std::string edit =
        "Add one speedup.\n\ntrain.sh\n```bash\n<<<<<<< SEARCH\n# speedups\n=======\n# speedups\n"
        "SPEEDUP=$((SPEEDUP+100))\n>>>>>>> REPLACE\n```\n";
    std::string lines;
    for (int i = 0; i < 12; ++i) lines += boost::json::serialize(boost::json::object{{"answer", edit}}) + "\n";
    spit(transcript, lines);
  }
  // every cell or stage: replay coder, two drafts in one iteration, no log summaries
  [[nodiscard]] std::string overrides() const {
    return "model=replay model.transcript=" + transcript.string() +
           " n_iterations=1 science_runner.n_initial_hypotheses=2 science_runner.max_n_nodes=2 "
           "analysis.summarize=false executor.max_parallel=2";
  }
  [[nodiscard]] std::string in_tmp(const std::string& command) const {
    return "cd '" + tmp.path().string() + "' && " + command;
  }
};

int count_exits(const fs::path& state, int want_rc = -1) {
  int n = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(state, ec))
    if (e.path().extension() == ".exit" && (want_rc < 0 || std::stoi(slurp(e.path())) == want_rc)) ++n;
  return n;
}

bool wait_for(const std::function<bool()>& ok, std::chrono::seconds limit = std::chrono::seconds(90)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (ok()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

}  // namespace

TEST_CASE("a sweep of 2 records x 3 levels x 2 scaffolds x 2 seeds runs, is killed, resumes and reports",
          "[runner][cli][sweep]") {
  FakeRecords f;
  const fs::path sweep = f.tmp.path() / "sweep";
  const std::string grid = " --config-dir conf --records 1,2 --levels none,1,1+2 --scaffolds flat,tree --seeds 0,1"
                           " --knowledge-dir hints --templates templates ";
  // started in the background, killed (SIGKILL: no chance to clean up) once a few cells ended
  // `cd X; cmd & echo $!`: $! is speedrun itself, not a subshell around it
  auto started = run_shell("cd '" + f.tmp.path().string() + "'; " + speedrun_exe() + " sweep sweep" + grid +
                           "--parallel 3 " + f.overrides() + " >first.txt 2>&1 & echo $! >sweep.pid");
  REQUIRE(started.status == 0);
  REQUIRE(wait_for([&] { return count_exits(sweep / "state") >= 4; }));
  const std::string pid = slurp(f.tmp.path() / "sweep.pid");
  REQUIRE(run_shell("kill -9 " + pid).status == 0);
  const int ended_before = count_exits(sweep / "state");
  INFO(slurp(f.tmp.path() / "first.txt"));
  REQUIRE(ended_before < 24);

  // the manifest names every cell and the overrides that make it
  auto manifest = boost::json::parse(slurp(sweep / "sweep.json"));
  const auto& cells = manifest.at("cells").as_array();
  REQUIRE(cells.size() == 24);
  CHECK(cells[0].at("id").as_string() == "r1-Lnone-flat-s0");
  CHECK(cells[23].at("id").as_string() == "r2-L1+2-tree-s1");
  CHECK(manifest.at("launch").at("parallel").as_int64() == 3);

  // a finished cell is left alone by the resume
  const fs::path first_cell = sweep / "cells" / "r1-Lnone-flat-s0";
  REQUIRE(fs::exists(sweep / "state" / "r1-Lnone-flat-s0.exit"));
  const auto mtime = fs::last_write_time(first_cell / "journal.json");

  // the same command (or the folder alone) resumes: cells still running are waited for, the rest run
  auto resumed = run_shell(f.in_tmp(speedrun_exe() + " sweep sweep --parallel 4"));
  INFO(resumed.output);
  REQUIRE(resumed.status == 0);
  CHECK(resumed.output.find("24 cells: pending 0, running 0, done 24") != std::string::npos);
  CHECK(resumed.output.find("best FSR 0.5") != std::string::npos);
  CHECK(count_exits(sweep / "state", 0) == 24);
  CHECK(fs::last_write_time(first_cell / "journal.json") == mtime);

  // each cell is an ordinary run folder with its condition in its config
  auto cfg = boost::json::parse(slurp(sweep / "cells" / "r2-L1+2-tree-s1" / "config.json"));
  CHECK(cfg.at("choices").at("ideator").as_string() == "dummy");
  CHECK(cfg.at("choices").at("science_runner").as_string() == "scaffold/tree");
  CHECK(cfg.at("seed").as_int64() == 1);
  const auto& hints = cfg.at("knowledge_src_paths").as_array();
  REQUIRE(hints.size() == 2);
  CHECK(std::string(hints[1].as_string()).ends_with("record_2/level_2_*.txt"));
  auto no_hint = speedrunner::workspace::Journal::load(first_cell / "journal.json");
  REQUIRE(no_hint.has_value());
  CHECK(no_hint->at(1).hypothesis.summary == "no hints: the coder plans a change and implements it");
  CHECK(no_hint->best_valid().has_value());

  // nothing left to do: the same grid again changes nothing
  auto again = run_shell(f.in_tmp(speedrun_exe() + " sweep sweep" + grid + f.overrides()));
  CHECK(again.status == 0);
  CHECK(fs::last_write_time(first_cell / "journal.json") == mtime);
  auto other = run_shell(f.in_tmp(speedrun_exe() + " sweep sweep --config-dir conf --records 1 " + f.overrides()));
  CHECK(other.status == 2);
  CHECK(other.output.find("holds a sweep of another grid (24 cells)") != std::string::npos);

  auto status = run_shell(f.in_tmp(speedrun_exe() + " sweep sweep --status"));
  CHECK(status.status == 0);
  CHECK(status.output.find("r2-L1+2-tree-s1") != std::string::npos);

  // report scores the sweep: every run recovers half of its record's speedup
  auto report = run_shell(f.in_tmp(speedrun_exe() + " report sweep --templates templates"));
  INFO(report.output);
  REQUIRE(report.status == 0);
  CHECK(report.output.find("mean FSR over 2 record(s): 0.500") != std::string::npos);
  CHECK(report.output.find("r2-L1+2-tree-s1") != std::string::npos);
}

TEST_CASE("a sweep retries failed cells only when asked, and stops at its money budget", "[runner][cli][sweep]") {
  FakeRecords f;
  // the cell's template does not exist yet: it fails, and is not run again by a plain resume
  const fs::path missing = f.tmp.path() / "late_template";
  auto first = run_shell(f.in_tmp(speedrun_exe() + " sweep s1 --config-dir conf --records 1 --levels 1 "
                                                   "--knowledge-dir hints --templates templates " +
                                   f.overrides() + " task.template_dir=" + missing.string()));
  INFO(first.output);
  CHECK(first.status == 1);
  CHECK(first.output.find("r1-L1: failed") != std::string::npos);
  CHECK(first.output.find("--retry-failed") != std::string::npos);
  auto plain = run_shell(f.in_tmp(speedrun_exe() + " sweep s1"));
  CHECK(plain.status == 1);
  CHECK(plain.output.find("failed 1") != std::string::npos);
  fs::copy(f.templates / "record_1", missing);
  auto retried = run_shell(f.in_tmp(speedrun_exe() + " sweep s1 --retry-failed"));
  INFO(retried.output);
  CHECK(retried.status == 0);
  CHECK(retried.output.find("1 cells: pending 0, running 0, done 1") != std::string::npos);

  // each coder answer costs $1 (1000 input tokens at $1000 per million): a $3 budget stops after two cells
  std::string lines;
  const std::string edit = "train.sh\n```bash\n<<<<<<< SEARCH\n# speedups\n=======\n# speedups\nSPEEDUP=1\n>>>>>>> REPLACE\n```\n";
  for (int i = 0; i < 4; ++i)
    lines += boost::json::serialize(boost::json::object{
                 {"answer", edit}, {"usage", boost::json::object{{"input_tokens", 1000}, {"output_tokens", 0}}}}) +
             "\n";
  spit(f.tmp.path() / "paid.jsonl", lines);
  auto paid = run_shell(f.in_tmp(speedrun_exe() + " sweep s2 --config-dir conf --records 1 --seeds 0,1,2,3 "
                                                  "--budget-usd 3 --templates templates " +
                                 f.overrides() + " ideator=dummy model.transcript=" + (f.tmp.path() / "paid.jsonl").string() +
                                 " '+model.price={\"input\": 1000, \"output\": 0}'"));
  INFO(paid.output);
  CHECK(paid.status == 3);
  CHECK(paid.output.find("stopped: money budget of $3 spent") != std::string::npos);
  CHECK(count_exits(f.tmp.path() / "s2" / "state") < 4);
}

TEST_CASE("a sweep with --slurm submits each cell as a batch job and follows it with squeue",
          "[runner][cli][sweep][slurm]") {
  FakeRecords f;
  // stand-ins for sbatch (runs the script in the background, its pid is the job id) and squeue
  const fs::path bin = f.tmp.path() / "bin";
  spit(bin / "sbatch", "#!/bin/sh\nfor a; do f=$a; done\necho \"$*\" >> \"$(dirname \"$0\")/sbatch.log\"\n"
                       "sh \"$f\" >/dev/null 2>&1 </dev/null &\necho $!\n");
  spit(bin / "squeue", "#!/bin/sh\nfor a; do l=$a; done\n"
                       "for id in $(echo \"$l\" | tr , ' '); do kill -0 \"$id\" 2>/dev/null && echo \"$id\"; done\nexit 0\n");
  fs::permissions(bin / "sbatch", fs::perms::owner_all);
  fs::permissions(bin / "squeue", fs::perms::owner_all);
  auto r = run_shell(f.in_tmp("PATH='" + bin.string() + "':$PATH " + speedrun_exe() +
                              " sweep s --config-dir conf --records 1,2 --levels 2 --knowledge-dir hints "
                              "--templates templates --slurm --parallel 2 --poll 0.2 --sbatch --gpus-per-node=1 " +
                              f.overrides()));
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(r.output.find("2 cells: pending 0, running 0, done 2") != std::string::npos);
  CHECK(slurp(bin / "sbatch.log").find("--parsable") != std::string::npos);
  const std::string script = slurp(f.tmp.path() / "s" / "state" / "r1-L2.sbatch");
  CHECK(script.find("#SBATCH --gpus-per-node=1\n") != std::string::npos);
  CHECK(script.find("#SBATCH --job-name=sweep-r1-L2\n") != std::string::npos);
  CHECK(fs::exists(f.tmp.path() / "s" / "cells" / "r2-L2" / "journal.json"));
}

TEST_CASE("cumulative chains records from the best code of each stage, is killed and resumes",
          "[runner][cli][cumulative]") {
  FakeRecords f;
  const fs::path dir = f.tmp.path() / "chain";
  const std::string args = " --config-dir conf --from 1 --to 4 --level 1 --knowledge-dir hints --templates templates ";
  auto started = run_shell("cd '" + f.tmp.path().string() + "'; " + speedrun_exe() + " cumulative chain" + args +
                           f.overrides() + " >first.txt 2>&1 & echo $! >chain.pid");
  REQUIRE(started.status == 0);
  REQUIRE(wait_for([&] { return fs::exists(dir / "state" / "stage_1.exit"); }));
  REQUIRE(run_shell("kill -9 " + slurp(f.tmp.path() / "chain.pid")).status == 0);
  const auto mtime = fs::last_write_time(dir / "stage_1" / "journal.json");

  auto resumed = run_shell(f.in_tmp(speedrun_exe() + " cumulative chain"));
  INFO(resumed.output);
  REQUIRE(resumed.status == 0);
  CHECK(fs::last_write_time(dir / "stage_1" / "journal.json") == mtime);
  // stage 1: 1000 - 100 = 900 against 1000 and 800; stage 2 starts from that code: 1000 - 200 = 800;
  // stage 3: 700, slower than record 3's 600
  CHECK(resumed.output.find("900         1000          800   0.500") != std::string::npos);
  CHECK(resumed.output.find("800          800          600   0.000") != std::string::npos);
  CHECK(resumed.output.find("700          600          500   0.000") != std::string::npos);  // FSR is clamped at 0
  const std::string start2 = slurp(dir / "stage_2" / "v_0" / "train.sh");
  CHECK(start2.find("T=1000") != std::string::npos);
  CHECK(start2.find("SPEEDUP=$((SPEEDUP+100))") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "stage_2" / "v_0" / "stdout.log"));  // only the code moves on
  auto cfg = boost::json::parse(slurp(dir / "stage_2" / "config.json"));
  CHECK(std::string(cfg.at("knowledge_src_paths").as_array()[0].as_string()).ends_with("record_2/level_1_*.txt"));
}

TEST_CASE("a stage without a valid node ends the chain, or continues from the human record when asked",
          "[runner][cli][cumulative]") {
  FakeRecords f;
  const std::string args = " --config-dir conf --from 1 --to 3 --level 2 --knowledge-dir hints --templates templates ";
  // a bound no run meets: every node is invalid
  auto ended = run_shell(f.in_tmp(speedrun_exe() + " cumulative c1" + args + f.overrides() +
                                  " task.metrics_at_most.val_loss=3.0"));
  INFO(ended.output);
  CHECK(ended.status == 1);
  CHECK(ended.output.find("stage 1 has no valid node: the chain ends here") != std::string::npos);
  CHECK_FALSE(fs::exists(f.tmp.path() / "c1" / "stage_2"));
  auto human = run_shell(f.in_tmp(speedrun_exe() + " cumulative c2 --continue-from-human" + args + f.overrides() +
                                  " task.metrics_at_most.val_loss=3.0"));
  INFO(human.output);
  CHECK(human.output.find("stage 2: running record 2 with the level-2 hints for 2 -> 3, from record 2's template") !=
        std::string::npos);
  CHECK(slurp(f.tmp.path() / "c2" / "stage_2" / "v_0" / "train.sh").find("T=800") != std::string::npos);
}
