// Tests of include/speedrunner/workspace/workspace.hpp: v_0 from the template,
// children from their parent minus the ignore list, meta/results files.
#include <speedrunner/workspace/workspace.hpp>

#include "catch.hpp"
#include "support.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <fstream>

namespace ws = speedrunner::workspace;
namespace fs = std::filesystem;
using speedrunner::testing::TempDir;

namespace {
void put(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}
}  // namespace

TEST_CASE("v_0 is a copy of the template and v_k a copy of its parent minus ignored files",
          "[workspace]") {
  TempDir tmp;
  put(tmp.path() / "template" / "main.cpp", "int main() {}\n");
  put(tmp.path() / "template" / "sub" / "data.txt", "42\n");
  auto w = ws::Workspace::create(tmp.path() / "run", tmp.path() / "template");
  REQUIRE(w.has_value());
  CHECK(*ws::read_file(w->dir(0) / "main.cpp") == "int main() {}\n");
  CHECK(*ws::read_file(w->dir(0) / "sub" / "data.txt") == "42\n");

  // outputs of v_0's run: its own records and build products
  put(w->dir(0) / "stdout.log", "log");
  put(w->dir(0) / "results.json", "{}");
  put(w->dir(0) / "main.o", "obj");
  put(w->dir(0) / "build" / "x", "obj");
  REQUIRE(w->create_version(1, 0, {"*.o", "build"}).has_value());
  CHECK(fs::exists(w->dir(1) / "main.cpp"));
  CHECK(fs::exists(w->dir(1) / "sub" / "data.txt"));
  CHECK_FALSE(fs::exists(w->dir(1) / "stdout.log"));
  CHECK_FALSE(fs::exists(w->dir(1) / "results.json"));
  CHECK_FALSE(fs::exists(w->dir(1) / "main.o"));
  CHECK_FALSE(fs::exists(w->dir(1) / "build"));
  CHECK_FALSE(fs::exists(tmp.path() / "run" / ".v_1.partial"));
}

TEST_CASE("re-creating a version replaces a half-edited copy from an interrupted attempt",
          "[workspace][resume]") {
  TempDir tmp;
  put(tmp.path() / "template" / "main.cpp", "original\n");
  auto w = ws::Workspace::create(tmp.path() / "run", tmp.path() / "template");
  REQUIRE(w.has_value());
  REQUIRE(w->create_version(1, 0, {}).has_value());
  put(w->dir(1) / "main.cpp", "half edit");
  put(w->dir(1) / "new_file.cpp", "stray");
  REQUIRE(w->create_version(1, 0, {}).has_value());
  CHECK(*ws::read_file(w->dir(1) / "main.cpp") == "original\n");
  CHECK_FALSE(fs::exists(w->dir(1) / "new_file.cpp"));
}

TEST_CASE("a node's meta.json and results.json round-trip through JSON", "[workspace][node]") {
  TempDir tmp;
  put(tmp.path() / "template" / "a.txt", "a");
  auto w = ws::Workspace::create(tmp.path() / "run", tmp.path() / "template");
  REQUIRE(w.has_value());
  ws::Node n;
  n.id = 0;
  n.hypothesis = {"cache chain lengths", "memoise steps for values below i"};
  n.status = ws::Status::buggy;
  n.metrics = {{"max_steps", 525}, {"runtime", 0.25}};
  n.reason = "exit status 1";
  n.exit_code = 1;
  n.cost.usd = 0.125;
  n.cost.usage.input_tokens = 1000;
  n.phase = ws::Phase::executed;
  REQUIRE(w->save(n).has_value());
  auto meta = boost::json::parse(*ws::read_file(w->dir(0) / "meta.json"));
  auto results = boost::json::parse(*ws::read_file(w->dir(0) / "results.json"));
  CHECK(meta.at("phase").as_string() == "executed");
  CHECK(results.at("status").as_string() == "buggy");
  auto back = ws::node_from_json(ws::node_json(n), "test");
  REQUIRE(back.has_value());
  CHECK(back->hypothesis == n.hypothesis);
  CHECK(back->metrics == n.metrics);
  CHECK(back->status == ws::Status::buggy);
  CHECK(back->phase == ws::Phase::executed);
  CHECK(back->exit_code == 1);
  CHECK(back->cost.usd == 0.125);
  CHECK(back->cost.usage.input_tokens == 1000);
}

TEST_CASE("a damaged node record is an error naming the key", "[workspace][node]") {
  auto v = boost::json::parse(R"({"id": 3, "bug_depth": "deep"})");
  auto n = ws::node_from_json(v, "run/v_3/meta.json");
  REQUIRE_FALSE(n.has_value());
  CHECK(n.error().what.find("run/v_3/meta.json") != std::string::npos);
  CHECK(n.error().what.find("bug_depth") != std::string::npos);
}

TEST_CASE("creating a run where one exists, or from a missing template, is refused", "[workspace]") {
  TempDir tmp;
  put(tmp.path() / "template" / "a.txt", "a");
  REQUIRE(ws::Workspace::create(tmp.path() / "run", tmp.path() / "template").has_value());
  // a v_0 without a journal is a start killed before it recorded anything: made again
  put(tmp.path() / "run" / "v_0" / "half.txt", "left by the killed start");
  REQUIRE(ws::Workspace::create(tmp.path() / "run", tmp.path() / "template").has_value());
  CHECK_FALSE(fs::exists(tmp.path() / "run" / "v_0" / "half.txt"));
  put(tmp.path() / "run" / "journal.json", "{}");
  auto again = ws::Workspace::create(tmp.path() / "run", tmp.path() / "template");
  REQUIRE_FALSE(again.has_value());
  CHECK(again.error().fix.find("speedrun resume") != std::string::npos);
  auto missing = ws::Workspace::create(tmp.path() / "run2", tmp.path() / "nope");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().what.find("nope") != std::string::npos);
  CHECK_FALSE(ws::Workspace::open(tmp.path() / "elsewhere").has_value());
}

TEST_CASE("template symlinks are copied as links, never followed out of the run, and a loop is no error",
          "[workspace][symlink]") {
  TempDir tmp;
  put(tmp.path() / "outside" / "data" / "x.txt", "outside");
  put(tmp.path() / "template" / "a.txt", "a");
  fs::create_directory_symlink("../outside/data", tmp.path() / "template" / "data");  // to a folder
  fs::create_symlink("loop", tmp.path() / "template" / "loop");                       // to itself
  fs::create_symlink("a.txt", tmp.path() / "template" / "alias");
  auto w = ws::Workspace::create(tmp.path() / "run", tmp.path() / "template");
  REQUIRE(w.has_value());
  REQUIRE(w->create_version(1, 0, {}).has_value());
  for (const char* v : {"v_0", "v_1"}) {
    const auto d = tmp.path() / "run" / v;
    CHECK(fs::is_symlink(d / "data"));
    CHECK(fs::read_symlink(d / "data") == "../outside/data");
    CHECK(fs::read_symlink(d / "loop") == "loop");
    CHECK(fs::read_symlink(d / "alias") == "a.txt");
  }
  // nothing was created next to the run or in the link's target
  std::vector<std::string> top;
  for (const auto& e : fs::directory_iterator(tmp.path())) top.push_back(e.path().filename().string());
  std::sort(top.begin(), top.end());
  CHECK(top == std::vector<std::string>{"outside", "run", "template"});
  CHECK(fs::directory_iterator(tmp.path() / "outside" / "data")->path().filename() == "x.txt");
}

TEST_CASE("a node's records are never written through a symlink planted at a version's name",
          "[workspace][symlink]") {
  TempDir tmp;
  put(tmp.path() / "template" / "a.txt", "a");
  fs::create_directories(tmp.path() / "elsewhere");
  auto w = ws::Workspace::create(tmp.path() / "run", tmp.path() / "template");
  REQUIRE(w.has_value());
  fs::create_directory_symlink(tmp.path() / "elsewhere", tmp.path() / "run" / "v_1");
  ws::Node n;
  n.id = 1;
  n.parent = 0;
  auto saved = w->save(n);
  REQUIRE_FALSE(saved.has_value());
  CHECK(saved.error().what.find("v_1") != std::string::npos);
  CHECK(fs::is_empty(tmp.path() / "elsewhere"));
  // the version made for the node replaces the link with a folder of its own
  REQUIRE(w->create_version(1, 0, {}).has_value());
  CHECK_FALSE(fs::is_symlink(tmp.path() / "run" / "v_1"));
  REQUIRE(w->save(n).has_value());
  CHECK(fs::is_empty(tmp.path() / "elsewhere"));
}
