// The viewer page in a real browser: headless Chromium loads the pages of the
// offline demo and of a small replayed sweep from disk, runs their script (no
// console errors), and the test reads the rendered DOM (one node group per
// journal node, a clicked node's panel, the figures' axes) and checks that a
// screenshot is not blank. Where no Chromium is installed this program exits 77
// (skipped) saying so; scripts/setup installs Debian's `chromium` for it.
#include <speedrunner/workspace/journal.hpp>

#include "catch.hpp"
#include "sweep.hpp"

#include <cstdlib>
#include <regex>
#include <sstream>

namespace fs = std::filesystem;
using namespace speedrunner::testing;

namespace {

std::string chromium() {
  static const std::string exe = [] {
    if (const char* p = std::getenv("SPEEDRUNNER_CHROMIUM"); p && *p) return std::string(p);
    for (const char* name : {"chromium", "chromium-browser", "google-chrome"})
      if (run_shell(std::string("command -v ") + name).status == 0) return std::string(name);
    std::fprintf(stderr, "skipping the browser tests: no chromium on PATH (install Debian's `chromium`: "
                         "scripts/setup does where it can, or set SPEEDRUNNER_CHROMIUM)\n");
    std::exit(77);
  }();
  return exe;
}

// Headless Chromium on a file URL; console messages go to stderr (--enable-logging).
Run browse(const std::string& args, const std::string& url, const fs::path& profile) {
  return run_shell("timeout 120 " + chromium() + " --headless --no-sandbox --disable-gpu --no-first-run "
                   "--disable-extensions --user-data-dir='" + profile.string() + "' --enable-logging=stderr --v=0 " +
                   args + " '" + url + "'");
}

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

// The DOM of `page` with node RUN:ID clicked (the page's script clicks it from the URL fragment).
std::string dom_after_click(const fs::path& page, int run, int node, const fs::path& profile, std::string& console) {
  auto r = browse("--dump-dom", "file://" + page.string() + "#node=" + std::to_string(run) + ":" + std::to_string(node), profile);
  const auto at = r.output.find("<html");
  REQUIRE(at != std::string::npos);
  console = r.output.substr(0, at);
  return r.output.substr(at);
}

// The screenshot's distinct colours, from tests/view/png_colours.py.
int screenshot_colours(const fs::path& page, const fs::path& png, const fs::path& profile) {
  auto r = browse("--screenshot='" + png.string() + "' --window-size=1280,1000 --hide-scrollbars", "file://" + page.string(),
                  profile);
  INFO(r.output);
  REQUIRE(fs::exists(png));
  auto c = run_shell("python3 '" + (source_root() / "tests/view/png_colours.py").string() + "' '" + png.string() + "'");
  INFO(c.output);
  REQUIRE(c.status == 0);
  std::smatch m;
  REQUIRE(std::regex_search(c.output, m, std::regex(R"((\d+) colours)")));
  return std::stoi(m[1]);
}

// Checks the rendered page and its screenshot; returns the DOM.
std::string check_page(const fs::path& page, int run, int node, std::size_t nodes, bool plots, const fs::path& work) {
  std::string console;
  const std::string dom = dom_after_click(page, run, node, work / "profile", console);
  INFO(console);
  // the script ran to its end without an error, and Chromium logged no console message
  CHECK(dom.find("data-ready=\"1\"") != std::string::npos);
  CHECK(dom.find("data-errors=\"") == std::string::npos);  // the attribute the script sets on an error
  CHECK(console.find(":CONSOLE(") == std::string::npos);
  CHECK(console.find("Uncaught") == std::string::npos);
  // one node group per journal node
  CHECK(count(dom, "<g class=\"node") == nodes);
  // the clicked node's panel: its name, hypothesis, diff, metrics and log
  const auto panel = dom.find("<aside id=\"panel\"");
  REQUIRE(panel != std::string::npos);
  const std::string aside = dom.substr(panel, dom.find("</aside>", panel) - panel);
  CHECK(aside.find("data-node=\"" + std::to_string(node) + "\"") != std::string::npos);
  CHECK(aside.find("/ v_" + std::to_string(node) + "</h2>") != std::string::npos);
  CHECK(aside.find("Hypothesis") != std::string::npos);
  CHECK(aside.find("Diff against its parent") != std::string::npos);
  CHECK(aside.find("class=\"add\"") != std::string::npos);  // a + line of its diff, coloured
  CHECK(aside.find("class=\"log-head\"") != std::string::npos);
  CHECK(aside.find("cost (USD)") != std::string::npos);
  CHECK(dom.find("<g class=\"node selected\" data-run=\"" + std::to_string(run) + "\" data-node=\"" + std::to_string(node)) !=
        std::string::npos);
  // the figures' axes (a run without validation lines has its tree alone)
  if (plots) CHECK(count(dom, "<g class=\"axis x\"") >= 1);
  CHECK(count(dom, "<g class=\"axis y\"") == count(dom, "<g class=\"axis x\""));
  if (plots) CHECK(dom.find("class=\"axis-label\"") != std::string::npos);

  const int colours = screenshot_colours(page, work / (page.stem().string() + ".png"), work / "profile");
  CHECK(colours > 50);  // a blank page has one
  return dom;
}

}  // namespace

TEST_CASE("the offline demo's page renders in Chromium, its nodes clickable", "[view][browser]") {
  (void)chromium();
  TempDir tmp;
  const auto run = run_demo(tmp.path());
  auto journal = speedrunner::workspace::Journal::load(run / "journal.json");
  REQUIRE(journal.has_value());
  REQUIRE(journal->nodes.size() > 3);
  (void)check_page(run / "view.html", 0, 3, journal->nodes.size(), false, tmp.path());
  if (const char* keep = std::getenv("SPEEDRUNNER_KEEP_SCREENSHOTS"); keep && *keep)
    fs::copy_file(tmp.path() / "view.png", fs::path(keep) / "demo.png", fs::copy_options::overwrite_existing);
}

TEST_CASE("a replayed sweep's page renders in Chromium with the paper's figures", "[view][browser]") {
  (void)chromium();
  TempDir tmp;
  const auto sweep = run_sweep(tmp.path());
  auto v = run_shell(speedrun_exe() + " view " + sweep.string() + " --resamples 2000 --out " + (tmp.path() / "sweep.html").string());
  INFO(v.output);
  REQUIRE(v.status == 0);
  std::size_t nodes = 0;
  for (const auto& e : fs::directory_iterator(sweep)) nodes += speedrunner::workspace::Journal::load(e.path() / "journal.json")->nodes.size();
  REQUIRE(nodes == 16);  // 8 runs, v_0 and v_1 each
  // run 0 is r1_h0_s0 (runs are sorted by folder): its v_1 is the record's level-0 patch
  const std::string dom = check_page(tmp.path() / "sweep.html", 0, 1, nodes, true, tmp.path());
  for (const char* f : {"fsr", "aggregate-iqm", "aggregate-median", "aggregate-mean", "aggregate-optimality-gap",
                        "node-types", "cumulative", "baselines"})
    CHECK(dom.find(std::string("data-figure=\"") + f + "\"") != std::string::npos);
  if (const char* keep = std::getenv("SPEEDRUNNER_KEEP_SCREENSHOTS"); keep && *keep)
    fs::copy_file(tmp.path() / "sweep.png", fs::path(keep) / "sweep.png", fs::copy_options::overwrite_existing);
}
