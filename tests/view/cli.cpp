// `speedrun view`, `speedrun report` and `speedrun judge` through the
// executable on runs it made: the page and the report print the same numbers
// for a replayed sweep, the runner rewrites the demo's page as nodes finish,
// and the judge's replayed verdict lands in judge.json, the page and the report.
#include <speedrunner/workspace/journal.hpp>

#include "catch.hpp"
#include "sweep.hpp"

#include <csignal>
#include <fcntl.h>
#include <sstream>
#include <map>
#include <regex>
#include <set>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace speedrunner::testing;

namespace {

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

// label -> metric -> "0.512 [0.301, 0.700]" as `speedrun report` prints them
std::map<std::string, std::map<std::string, std::string>> report_aggregates(const std::string& out) {
  std::map<std::string, std::map<std::string, std::string>> got;
  const std::regex head(R"(^(.+ / .+ / hints .+): \d+ run\(s\), \d+ record\(s\)$)");
  const std::regex line(R"(^  IQM (.+ \[.+\])  median (.+ \[.+\])  mean (.+ \[.+\])  optimality gap (.+ \[.+\])$)");
  std::istringstream in(out);
  std::string l, label;
  std::smatch m;
  while (std::getline(in, l)) {
    if (std::regex_match(l, m, head)) label = m[1];
    else if (std::regex_match(l, m, line) && !label.empty())
      got[label] = {{"iqm", m[1]}, {"median", m[2]}, {"mean", m[3]}, {"optimality-gap", m[4]}};
  }
  return got;
}

// the same from the page's aggregates table
std::map<std::string, std::map<std::string, std::string>> page_aggregates(const std::string& html) {
  std::map<std::string, std::map<std::string, std::string>> got;
  const std::regex row(R"re(<tr data-condition="([^"]+)">(.*?)</tr>)re");
  const std::regex cell(R"re(<td data-metric="([a-z-]+)">([^<]+)</td>)re");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), row); it != std::sregex_iterator(); ++it) {
    const std::string cells = (*it)[2];
    for (auto c = std::sregex_iterator(cells.begin(), cells.end(), cell); c != std::sregex_iterator(); ++c)
      got[(*it)[1]][(*c)[1]] = (*c)[2];
  }
  return got;
}

}  // namespace

TEST_CASE("speedrun view and speedrun report give the same numbers for a replayed sweep", "[view][cli][sweep]") {
  TempDir tmp;
  const auto sweep = run_sweep(tmp.path());
  const std::string opts = " --resamples 5000 --seed 11";
  auto report = run_shell("cd '" + tmp.path().string() + "' && " + speedrun_exe() + " report " + sweep.string() + opts);
  INFO(report.output);
  REQUIRE(report.status == 0);
  auto view = run_shell("cd '" + tmp.path().string() + "' && " + speedrun_exe() + " view " + sweep.string() + opts +
                        " --out " + (tmp.path() / "page" / "sweep.html").string());
  INFO(view.output);
  REQUIRE(view.status == 0);
  const std::string html = slurp(tmp.path() / "page" / "sweep.html");

  const auto from_report = report_aggregates(report.output), from_page = page_aggregates(html);
  REQUIRE(from_report.size() == 2);  // bon / replay / hints 0 and hints 1
  CHECK(from_report == from_page);
  // hints 0: each cell's FSR is its fraction of the step (sweep_fraction): 0.6 and 0.8 for record 1,
  // 0.6 and 0.4 for record 2, so the mean over records is 0.6
  const std::string hints0 = "bon / replay / hints 0";
  REQUIRE(from_report.contains(hints0));
  REQUIRE(mini_baseline_ms(1) > mini_baseline_ms(2));
  REQUIRE(mini_baseline_ms(2) > mini_baseline_ms(3));
  const double mean = ((sweep_fraction(1, 0) + sweep_fraction(1, 1)) / 2 + (sweep_fraction(2, 0) + sweep_fraction(2, 1)) / 2) / 2;
  char want[32];
  std::snprintf(want, sizeof want, "%.3f [", mean);
  CHECK(from_report.at(hints0).at("mean").starts_with(want));
  // hints 1 made no valid node: v_0 stands in at t_R, every FSR 0
  CHECK(from_report.at("bon / replay / hints 1").at("iqm") == "0.000 [0.000, 0.000]");
  CHECK(report.output.find("5000 resamples, seed 11") != std::string::npos);

  // each run's FSR: the report's table and the page's runs table agree
  std::multiset<std::string> report_fsr, page_fsr;
  const std::regex run_row(R"(\S*r\d_h\d_s\d\s+mini\s+\d->\d\s+\d+\s+\d+\s+\d+\s+(-?\d+\.\d{3}) )");
  for (auto it = std::sregex_iterator(report.output.begin(), report.output.end(), run_row); it != std::sregex_iterator(); ++it)
    report_fsr.insert((*it)[1]);
  const std::regex fsr_cell(R"(<td class="fsr">(-?\d+\.\d{3})</td>)");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), fsr_cell); it != std::sregex_iterator(); ++it)
    page_fsr.insert((*it)[1]);
  CHECK(report_fsr.size() == 8);
  CHECK(report_fsr == page_fsr);

  // every figure also as a file
  for (const char* f : {"fsr", "aggregate-iqm", "aggregate-optimality-gap", "node-types", "cumulative", "baselines",
                        "tree-r1_h0_s0", "curves-r1_h0_s0"})
    CHECK(fs::exists(tmp.path() / "page" / "figures" / (std::string(f) + ".svg")));
  CHECK(view.output.find("wrote " + (tmp.path() / "page" / "sweep.html").string()) != std::string::npos);
}

TEST_CASE("speedrun judge stores the replayed verdict, which the page and the report show", "[view][cli][judge]") {
  TempDir tmp;
  const auto sweep = run_sweep(tmp.path());
  const auto transcript = tmp.path() / "judge.jsonl";
  std::ofstream(transcript) << R"({"agent": "judge", "answer": "{\"score\": 0.8, \"reasons\": [\"the level-0 diff applied whole\"]}", "expect": "turned record 1 into record 2"})"
                            << "\n";
  const auto run = sweep / "r1_h0_s0";
  auto j = run_shell("cd '" + tmp.path().string() + "' && " + speedrun_exe() + " judge " + run.string() +
                     " model=replay model.transcript=" + transcript.string());
  INFO(j.output);
  REQUIRE(j.status == 0);
  CHECK(j.output.find("v_1 reproduced 0.80 of record 2's change") != std::string::npos);
  const std::string stored = slurp(run / "judge.json");
  CHECK(stored.find("\"score\":") != std::string::npos);
  CHECK(stored.find("\"node\":\"v_1\"") != std::string::npos);
  CHECK(fs::exists(run / "llm_judge.jsonl"));  // the model call is logged beside the run's others

  auto view = run_shell(speedrun_exe() + " view " + run.string());
  REQUIRE(view.status == 0);
  const std::string html = slurp(run / "view.html");
  CHECK(html.find("<td class=\"judge\">0.80</td>") != std::string::npos);
  CHECK(html.find("the level-0 diff applied whole") != std::string::npos);
  auto report = run_shell("cd '" + tmp.path().string() + "' && " + speedrun_exe() + " report " + run.string());
  CHECK(report.output.find("judge: " + run.string() + " v_1 reproduced 0.80 of record 2's change") != std::string::npos);

  // a run with no valid node has nothing to judge; an answer out of range is refused after the retries
  auto none = run_shell("cd '" + tmp.path().string() + "' && " + speedrun_exe() + " judge " + (sweep / "r1_h1_s0").string() +
                        " model=replay model.transcript=" + transcript.string());
  CHECK(none.status == 1);
  CHECK(none.output.find("no node but v_0 is valid") != std::string::npos);
  std::ofstream(transcript) << R"({"answer": "{\"score\": 2, \"reasons\": [\"x\"]}"})" << "\n"
                            << R"({"answer": "{\"score\": 2, \"reasons\": [\"x\"]}"})" << "\n"
                            << R"({"answer": "{\"score\": 2, \"reasons\": [\"x\"]}"})" << "\n";
  auto bad = run_shell("cd '" + tmp.path().string() + "' && " + speedrun_exe() + " judge " + (sweep / "r2_h0_s0").string() +
                       " model=replay model.transcript=" + transcript.string());
  CHECK(bad.status != 0);
  CHECK(bad.output.find("give a number from 0") != std::string::npos);
  CHECK_FALSE(fs::exists(sweep / "r2_h0_s0" / "judge.json"));
}

TEST_CASE("the runner rewrites the demo's page as its nodes finish", "[view][cli][demo]") {
  TempDir tmp;
  link_sources(tmp.path());
  const auto run = tmp.path() / "demo_run";
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    if (::chdir(tmp.path().c_str()) != 0) ::_exit(126);
    const int fd = ::open((tmp.path() / "out.txt").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    const std::string exe = speedrun_exe(), root = "workspace.root=" + run.string();
    ::execl(exe.c_str(), exe.c_str(), root.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // snapshots of the page while the run goes: which kinds its nodes have
  std::set<std::string> seen;
  int status = 0;
  bool ended = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(280);
  while (!(ended = ::waitpid(child, &status, WNOHANG) == child) && std::chrono::steady_clock::now() < deadline) {
    const std::string html = slurp(run / "view.html");
    std::string kinds;
    const std::regex kind(R"re(data-kind="([a-z ]+)")re");
    for (auto it = std::sregex_iterator(html.begin(), html.end(), kind); it != std::sregex_iterator(); ++it)
      kinds += std::string((*it)[1]) + ",";
    if (!kinds.empty()) seen.insert(kinds);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!ended) {
    ::kill(child, SIGKILL);
    ::waitpid(child, &status, 0);
  }
  INFO(slurp(tmp.path() / "out.txt"));
  REQUIRE(ended);  // the demo ran to its end within the deadline
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  CHECK(seen.size() >= 3);  // the page changed as nodes were planned and finished
  auto journal = speedrunner::workspace::Journal::load(run / "journal.json");
  REQUIRE(journal.has_value());
  const std::string html = slurp(run / "view.html");
  CHECK(count(html, "<g class=\"node\"") == journal->nodes.size());
  CHECK(html.find("http-equiv=\"refresh\"") == std::string::npos);  // the run ended: no more reloading
  CHECK(html.find("data-kind=\"in flight\"") == std::string::npos);
  CHECK(fs::exists(run / "figures" / ("tree-demo_run.svg")));
}

TEST_CASE("speedrun view refuses what is not a run or sweep folder, naming the fix", "[view][cli]") {
  TempDir tmp;
  auto missing = run_shell(speedrun_exe() + " view " + (tmp.path() / "nope").string());
  CHECK(missing.status == 2);
  CHECK(missing.output.find("is not a folder") != std::string::npos);
  auto empty = run_shell(speedrun_exe() + " view " + tmp.path().string());
  CHECK(empty.status != 0);
  CHECK(empty.output.find("no run folder") != std::string::npos);
  auto help = run_shell(speedrun_exe() + " view --help");
  CHECK(help.status == 0);
  CHECK(help.output.find("stratified-bootstrap") != std::string::npos);
  auto top = run_shell(speedrun_exe() + " --help");
  CHECK(top.output.find("view RUN_DIR|SWEEP_DIR") != std::string::npos);
  CHECK(top.output.find("judge RUN_DIR") != std::string::npos);
}
