// Tests for include/speedrunner/view/figures.hpp and page.hpp: the page holds
// one clickable node per journal node, the aggregates the report prints, each
// figure with its axes, nothing fetched; shares of node kinds worked by hand.
#include <speedrunner/view/page.hpp>

#include "catch.hpp"
#include "runs.hpp"

#include <regex>

namespace view = speedrunner::view;
namespace m = speedrunner::metrics;
using namespace speedrunner::testing;

namespace {
std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

// A sweep of four runs: records 1 and 2, hint levels 0 and 1, under one folder.
std::filesystem::path write_sweep(const std::filesystem::path& root) {
  write_run(root / "sweep/r1_h0", 1, "aide", "0", {{0, false, 80000}, {1, false, 70000}});   // FSR 0.75
  write_run(root / "sweep/r1_h1", 1, "aide", "1", {{0, true}, {0, false, 99000}});           // (100-99)/40 = 0.025
  write_run(root / "sweep/r2_h0", 2, "aide", "0", {{0, false, 51000}});                      // (60-51)/15 = 0.6
  write_run(root / "sweep/deeper/r2_h1", 2, "aide", "1", {{0, false, 57000}, {1, true}});   // 0.2
  return root / "sweep";
}
}  // namespace

TEST_CASE("node-type shares among the first k nodes, worked by hand", "[view][figures]") {
  TempDir tmp;
  const auto templates = write_templates(tmp.path());
  // run a: improved, buggy, no improvement; run b: buggy
  auto a = view::load_run(write_run(tmp.path() / "a", 1, "aide", "0", {{0, false, 80000}, {1, true}, {0, false, 100000}}),
                          {.templates = templates, .details = false});
  auto b = view::load_run(write_run(tmp.path() / "b", 1, "aide", "0", {{0, true}}), {.templates = templates, .details = false});
  REQUIRE(a.has_value());
  REQUIRE(b.has_value());
  const auto s = view::node_type_shares({*a, *b});
  REQUIRE(s.k == std::vector<double>{1, 2, 3});
  // k=1: a's improved, b's buggy; k=2: + a's buggy; k=3: + a's no improvement
  CHECK(s.share.at(view::NodeKind::improved) == std::vector<double>{0.5, 1.0 / 3, 0.25});
  CHECK(s.share.at(view::NodeKind::buggy) == std::vector<double>{0.5, 2.0 / 3, 0.5});
  CHECK(s.share.at(view::NodeKind::no_improvement) == std::vector<double>{0, 0, 0.25});
}

TEST_CASE("the sweep page holds every node, the report's aggregates and every figure with its axes", "[view][page]") {
  TempDir tmp;
  const auto templates = write_templates(tmp.path());
  const auto sweep = write_sweep(tmp.path());
  view::PageOptions options{.templates = templates, .resamples = 2000, .seed = 4};
  auto page = view::page_for({sweep}, options);
  REQUIRE(page.has_value());
  const std::string& h = page->html;
  // 4 runs with 3 + 3 + 2 + 3 nodes (v_0 included), each a clickable group
  CHECK(count(h, "<g class=\"node\"") == 11);
  CHECK(count(h, "<section class=\"run\"") == 4);
  CHECK(h.find("<option value=\"3\">") != std::string::npos);

  // the aggregates are metrics::compare's, printed as `speedrun report` prints them
  std::vector<m::ConditionedRun> runs;
  for (const auto& d : m::find_runs({sweep})) runs.push_back({*m::score_run(d, templates), m::condition_of(d)});
  REQUIRE(runs.size() == 4);
  const auto cmp = m::compare(runs, 2000, 4);
  REQUIRE(cmp.conditions.size() == 2);  // hints 0 and hints 1
  CHECK(cmp.conditions[0].condition.hints == "0");
  CHECK(cmp.conditions[0].estimate.point.mean == Approx((0.75 + 0.6) / 2));
  for (const auto& c : cmp.conditions) {
    const auto& e = c.estimate;
    CHECK(h.find("<td data-metric=\"iqm\">" + m::interval_text(e.point.iqm, e.iqm) + "</td>") != std::string::npos);
    CHECK(h.find("<td data-metric=\"optimality-gap\">" + m::interval_text(e.point.optimality_gap, e.optimality_gap) +
                 "</td>") != std::string::npos);
  }
  CHECK(h.find("2000 resamples, seed 4") != std::string::npos);

  // figures: per run a tree (and curves where logs have validation lines), then the paper's
  std::vector<std::string> names;
  for (const auto& f : page->figures) names.push_back(f.name);
  for (const char* want : {"tree-r1_h0", "curves-r1_h0", "tree-r2_h1", "fsr", "aggregate-iqm", "aggregate-median",
                           "aggregate-mean", "aggregate-optimality-gap", "node-types", "cumulative", "baselines"}) {
    INFO(want);
    CHECK(std::find(names.begin(), names.end(), want) != names.end());
  }
  for (const auto& f : page->figures) {
    INFO(f.name);
    CHECK(f.svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    CHECK(h.find(f.svg) != std::string::npos);  // the same SVG inline and in its file
    if (!f.name.starts_with("tree-")) {
      CHECK(f.svg.find("<g class=\"axis x\"") != std::string::npos);
      CHECK(f.svg.find("<g class=\"axis y\"") != std::string::npos);
    }
  }
  // self-contained: nothing to fetch
  CHECK(h.find("src=") == std::string::npos);
  CHECK(h.find("<link") == std::string::npos);
  CHECK(h.find("url(") == std::string::npos);

  // written: the page and one SVG file per figure
  REQUIRE(view::write_page(tmp.path() / "out" / "view.html", *page));
  CHECK(std::filesystem::exists(tmp.path() / "out" / "view.html"));
  for (const auto& n : names) CHECK(std::filesystem::exists(tmp.path() / "out" / "figures" / (n + ".svg")));
}

TEST_CASE("text from runs cannot break out of the page's script or markup", "[view][page]") {
  TempDir tmp;
  const auto dir = write_run(tmp.path() / "run", 1, "aide", "0", {{0, false, 80000}});
  auto j = speedrunner::workspace::Journal::load(dir / "journal.json");
  REQUIRE(j.has_value());
  j->at(1).hypothesis.summary = "</script><script>alert(1)</script> & <b>";
  j->at(1).outcome = j->at(1).hypothesis.summary;
  REQUIRE(j->save(dir / "journal.json"));
  auto page = view::page_for({dir}, {.templates = write_templates(tmp.path())});
  REQUIRE(page.has_value());
  CHECK(page->html.find("alert(1)</script>") == std::string::npos);
  CHECK(count(page->html, "</script>") == 3);  // run data, kind colours, the script itself
  CHECK(page->html.find("&lt;/script&gt;") != std::string::npos);  // in the node's <title>
}

TEST_CASE("a folder without runs is an error that says what to give", "[view][page]") {
  TempDir tmp;
  auto page = view::page_for({tmp.path()}, {});
  REQUIRE_FALSE(page.has_value());
  CHECK(page.error().what.find("no run folder") != std::string::npos);
}
