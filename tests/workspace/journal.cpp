// Tests of include/speedrunner/workspace/journal.hpp: the tree's queries and its file.
#include <speedrunner/workspace/journal.hpp>

#include "catch.hpp"
#include "support.hpp"

namespace ws = speedrunner::workspace;
using speedrunner::ideate::Stage;
using speedrunner::testing::TempDir;

namespace {
// Finishes node `id` with a max_steps score (or as buggy when score < 0).
void finish(ws::Journal& j, ws::NodeId id, double score) {
  auto& n = j.at(id);
  n.phase = ws::Phase::done;
  if (score < 0) {
    n.status = ws::Status::buggy;
    n.reason = "crashed";
  } else {
    n.status = ws::Status::ok;
    n.valid = true;
    n.metrics["max_steps"] = score;
  }
  j.judge(n);
}
}  // namespace

TEST_CASE("the best valid node follows the selection direction and skips buggy and invalid nodes",
          "[workspace][journal]") {
  auto j = ws::Journal::with_root({"max_steps", false}, 1);
  CHECK_FALSE(j.best_valid().has_value());
  j.add_child(0, Stage::draft, 0);    // v_1
  j.add_child(0, Stage::draft, 0);    // v_2
  j.add_child(0, Stage::draft, 0);    // v_3
  j.add_child(1, Stage::improve, 1);  // v_4
  finish(j, 1, 500);
  finish(j, 2, 600);
  finish(j, 3, -1);
  finish(j, 4, 700);
  j.at(4).valid = false;  // e.g. over the time bound
  CHECK(j.best_valid() == 2);
  j.selection.lower_is_better = true;
  CHECK(j.best_valid() == 1);
  CHECK(j.best_valid_among({0, 2, 3}) == 2);
}

TEST_CASE("ties go to the earliest node", "[workspace][journal]") {
  auto j = ws::Journal::with_root({"max_steps", false}, 1);
  j.add_child(0, Stage::draft, 0);
  j.add_child(0, Stage::draft, 0);
  finish(j, 2, 500);
  finish(j, 1, 500);
  CHECK(j.best_valid() == 1);
}

TEST_CASE("buggy leaves, bug depth, stable ancestors and ancestry", "[workspace][journal]") {
  auto j = ws::Journal::with_root({"max_steps", false}, 1);
  j.add_child(0, Stage::draft, 0);    // v_1 ok
  finish(j, 1, 100);
  j.add_child(1, Stage::improve, 1);  // v_2 buggy
  finish(j, 2, -1);
  j.add_child(2, Stage::debug, 2);    // v_3 buggy again
  finish(j, 3, -1);
  j.add_child(0, Stage::draft, 3);    // v_4 buggy
  finish(j, 4, -1);
  CHECK(j.at(2).bug_depth == 1);
  CHECK(j.at(3).bug_depth == 2);
  CHECK(j.at(3).stable_ancestor == 1);
  CHECK(j.at(2).stable_ancestor == 1);
  CHECK(j.buggy_leaves(5) == std::vector<ws::NodeId>{3, 4});
  CHECK(j.buggy_leaves(1) == std::vector<ws::NodeId>{4});
  CHECK(j.ancestry(3) == std::vector<ws::NodeId>{0, 1, 2, 3});
  CHECK(j.count_stage(Stage::draft) == 2);
  j.add_child(1, Stage::improve, 4);  // v_5, still planned
  CHECK(j.unfinished() == std::vector<ws::NodeId>{5});
}

TEST_CASE("journal.json round-trips the whole tree", "[workspace][journal]") {
  TempDir tmp;
  auto j = ws::Journal::with_root({"val_loss", true}, 42);
  j.iterations = 3;
  j.add_child(0, Stage::draft, 0).hypothesis = {"s", "t"};
  finish(j, 1, 3.5);
  j.at(1).metrics = {{"val_loss", 3.5}};
  j.at(1).cost.usd = 0.5;
  REQUIRE(j.save(tmp.path() / "journal.json").has_value());
  auto back = ws::Journal::load(tmp.path() / "journal.json");
  REQUIRE(back.has_value());
  CHECK(back->selection.metric == "val_loss");
  CHECK(back->selection.lower_is_better);
  CHECK(back->seed == 42);
  CHECK(back->iterations == 3);
  REQUIRE(back->nodes.size() == 2);
  CHECK(back->at(0).children == std::vector<ws::NodeId>{1});
  CHECK(back->at(1).hypothesis.summary == "s");
  CHECK(back->best_valid() == 1);
  CHECK(back->spent_usd() == 0.5);
}

TEST_CASE("a journal that is not JSON is an error naming the file", "[workspace][journal]") {
  TempDir tmp;
  REQUIRE(ws::write_file_atomic(tmp.path() / "journal.json", "{not json").has_value());
  auto j = ws::Journal::load(tmp.path() / "journal.json");
  REQUIRE_FALSE(j.has_value());
  CHECK(j.error().what.find("journal.json") != std::string::npos);
}

TEST_CASE("a damaged journal is an error naming the fault, never a crash or an endless walk",
          "[workspace][journal]") {
  TempDir tmp;
  const auto path = tmp.path() / "journal.json";
  auto j = ws::Journal::with_root({"max_steps", false}, 7);
  j.add_child(0, Stage::draft, 0);
  j.add_child(1, Stage::improve, 1);
  REQUIRE(j.save(path).has_value());
  const std::string good = *ws::read_file(path);
  auto damaged = [&](std::string from, std::string to) {
    std::string text = good;
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
    REQUIRE(ws::write_file_atomic(path, text).has_value());
    auto back = ws::Journal::load(path);
    REQUIRE_FALSE(back.has_value());
    CHECK(back.error().what.find("journal.json") != std::string::npos);
    return back.error().what;
  };
  CHECK(damaged("\"seed\":7", "\"seed\":\"seven\"").find("seed") != std::string::npos);
  CHECK(damaged("\"seed\":7", "\"seed\":1.5").find("seed") != std::string::npos);
  CHECK(damaged("\"seed\":7", "\"seed\":-3").find("seed") != std::string::npos);
  CHECK(damaged("\"iterations\":0", "\"iterations\":\"x\"").find("iterations") != std::string::npos);
  // v_1's parent made v_2 (a cycle), a parent that does not exist, a node its own parent:
  // whichever end of the broken link is checked first is named
  CHECK(damaged("\"parent\":0", "\"parent\":2").find("parent") != std::string::npos);
  CHECK(damaged("\"parent\":1", "\"parent\":9").find("parent") != std::string::npos);
  CHECK(damaged("\"parent\":1", "\"parent\":2").find("parent") != std::string::npos);
  CHECK(damaged("\"children\":[2]", "\"children\":[5]").find("child 5") != std::string::npos);
}

TEST_CASE("the answers the recorded steps used round-trip, and a journal without them says so",
          "[workspace][journal]") {
  TempDir tmp;
  auto j = ws::Journal::with_root({"max_steps", false}, 1);
  REQUIRE(j.save(tmp.path() / "old.json").has_value());
  CHECK_FALSE(ws::Journal::load(tmp.path() / "old.json")->answers_used.has_value());
  j.answers_used = std::map<std::string, std::int64_t>{{"ideator", 3}, {"", 2}};
  REQUIRE(j.save(tmp.path() / "journal.json").has_value());
  auto back = ws::Journal::load(tmp.path() / "journal.json");
  REQUIRE(back.has_value());
  CHECK(back->answers_used == j.answers_used);
}
