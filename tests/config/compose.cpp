// Tests for include/speedrunner/config/compose.hpp: composition order, group
// choices, extends, --config-dir, and the shipped config tree.
#include <speedrunner/config/compose.hpp>
#include <speedrunner/config/settings.hpp>

#include "catch.hpp"
#include "fixtures.hpp"
#include "support.hpp"

namespace cfg = speedrunner::config;
namespace fs = std::filesystem;
using cfg::json::value;
using speedrunner::testing::fixed_resolve;
using speedrunner::testing::TempDir;
using speedrunner::testing::write_file;

namespace {

// A small tree: each layer writes "trace" so the order of composition shows.
struct Tree {
  TempDir dir{"sr-config"};
  Tree() {
    write_file(dir.path() / "default.json", R"({
      // the primary
      "defaults": [{"model": "a"}, "_self_", {"task": "t1"}],
      "order": "self", "self_only": 1, "model": {"from_self": true},
    })");
    write_file(dir.path() / "model/a.json", R"({"name": "a", "from_self": false, "_global_": {"order": "model"}})");
    write_file(dir.path() / "model/b.json", R"({"name": "b"})");
    write_file(dir.path() / "model/sub/c.json", R"({"name": "c"})");
    write_file(dir.path() / "task/t1.json", R"({"name": "t1", "_global_": {"order": "task"}})");
    write_file(dir.path() / "task/base.json", R"({"name": "base", "kept": 1, "list": [1, 2]})");
    write_file(dir.path() / "task/child.json", R"({"extends": "base", "name": "child", "list": [3]})");
    write_file(dir.path() / "task/loop1.json", R"({"extends": "loop2"})");
    write_file(dir.path() / "task/loop2.json", R"({"extends": "loop1"})");
    write_file(dir.path() / "secrets/default.template.json", R"({"openai_api_key": "${env:OPENAI_API_KEY,}"})");
  }
  speedrunner::Result<cfg::json::object> compose(std::vector<std::string> overrides, std::vector<fs::path> extra = {},
                                         std::map<std::string, std::string> env = {}) const {
    extra.push_back(dir.path());
    return cfg::compose(extra, overrides, fixed_resolve(std::move(env)));
  }
};

}  // namespace

TEST_CASE("composition follows the defaults list, then the command line", "[config][compose]") {
  Tree t;
  auto c = t.compose({});
  REQUIRE(c.has_value());
  // model, then _self_ (primary wins over model), then task (its _global_ wins)
  CHECK(c->at("order") == value("task"));
  CHECK(c->at("model").at("from_self") == value(true));
  CHECK(c->at("model").at("name") == value("a"));
  CHECK(c->at("task").at("name") == value("t1"));
  CHECK(cfg::compact(c->at("choices")) == R"({"model":"a","task":"t1"})");
  CHECK_FALSE(c->contains("defaults"));
  // key overrides come after every file, in command-line order
  auto o = t.compose({"order=cli1", "order=cli2", "model.name=z"});
  REQUIRE(o.has_value());
  CHECK(o->at("order") == value("cli2"));
  CHECK(o->at("model").at("name") == value("z"));
}

TEST_CASE("_self_ goes last when the defaults list does not name it", "[config][compose]") {
  Tree t;
  write_file(t.dir.path() / "default.json", R"({"defaults": [{"task": "t1"}], "order": "self"})");
  CHECK(t.compose({}).value().at("order") == value("self"));
}

TEST_CASE("group=option picks another file, in folders too", "[config][compose]") {
  Tree t;
  CHECK(t.compose({"model=b"}).value().at("model").at("name") == value("b"));
  auto c = t.compose({"model=sub/c", "model.name=zz"}).value();
  CHECK(c.at("model").at("name") == value("zz"));  // key overrides apply after the pick, whatever the order
  CHECK(c.at("choices").at("model") == value("sub/c"));
  CHECK(t.compose({"model='b'"}).value().at("choices").at("model") == value("b"));
}

TEST_CASE("an unknown group option is an error with did-you-mean and the choices", "[config][compose]") {
  Tree t;
  auto c = t.compose({"task=chlid"});
  REQUIRE_FALSE(c.has_value());
  CHECK(c.error().what ==
        "no config task=chlid (did you mean child?); choices: base, child, loop1, loop2, t1");
  CHECK(c.error().fix.find("task/chlid.json") != std::string::npos);
  CHECK_FALSE(t.compose({"model=../default"}).has_value());
  CHECK_FALSE(t.compose({"model=/etc/passwd"}).has_value());
}

TEST_CASE("an unknown top-level name suggests keys and groups", "[config][compose]") {
  Tree t;
  auto c = t.compose({"modle=b"});
  REQUIRE_FALSE(c.has_value());
  CHECK(c.error().what.find("'modle' is neither a key nor a config group (did you mean model?)") !=
        std::string::npos);
  auto k = t.compose({"self_onyl=2"});
  REQUIRE_FALSE(k.has_value());
  CHECK(k.error().what.find("(did you mean self_only?)") != std::string::npos);
}

TEST_CASE("extends merges the base first and finds cycles", "[config][compose]") {
  Tree t;
  auto c = t.compose({"task=child"}).value();
  CHECK(c.at("task").at("name") == value("child"));
  CHECK(c.at("task").at("kept") == value(1));
  CHECK(cfg::compact(c.at("task").at("list")) == "[3]");
  CHECK_FALSE(c.at("task").as_object().contains("extends"));
  auto loop = t.compose({"task=loop1"});
  REQUIRE_FALSE(loop.has_value());
  CHECK(loop.error().what == "config task: 'extends' cycle: task/loop1 -> task/loop2 -> task/loop1");
}

TEST_CASE("+group adds a group, ~group drops one", "[config][compose]") {
  Tree t;
  auto added = t.compose({"+secrets=default"}, {}, {{"OPENAI_API_KEY", "sk-test"}});
  REQUIRE(added.has_value());
  CHECK(added->at("secrets").at("openai_api_key") == value("sk-test"));
  for (const char* drop : {"~task", "task=null"}) {
    auto dropped = t.compose({drop}).value();
    CHECK_FALSE(dropped.contains("task"));
    CHECK_FALSE(dropped.at("choices").as_object().contains("task"));
  }
  CHECK_FALSE(t.compose({"secrets=default"}).has_value());  // not in the defaults list: needs +
  CHECK_FALSE(t.compose({"+model=b"}).has_value());          // already there: no +
}

TEST_CASE("a missing secrets file falls back to its template silently", "[config][compose]") {
  Tree t;
  write_file(t.dir.path() / "default.json", R"({"defaults": [{"secrets": "default"}]})");
  auto c = t.compose({});
  REQUIRE(c.has_value());
  CHECK(c->at("secrets").at("openai_api_key") == value(""));
  write_file(t.dir.path() / "secrets/default.json", R"({"openai_api_key": "from-file"})");
  CHECK(t.compose({}).value().at("secrets").at("openai_api_key") == value("from-file"));
}

TEST_CASE("--config-dir directories come first in the search path", "[config][compose]") {
  Tree t;
  TempDir user("sr-user-config");
  write_file(user.path() / "model/mine.json", R"({"name": "mine"})");
  write_file(user.path() / "model/a.json", R"({"name": "shadowed"})");
  auto c = t.compose({"model=mine"}, {user.path()});
  REQUIRE(c.has_value());
  CHECK(c->at("model").at("name") == value("mine"));
  CHECK(t.compose({}, {user.path()}).value().at("model").at("name") == value("shadowed"));
  auto bad = t.compose({"model=nope"}, {user.path()});
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().what.find("choices: a, b, mine, sub/c") != std::string::npos);
}

TEST_CASE("the command line separates --config-dir from overrides", "[config][compose]") {
  TempDir user("sr-user-config");
  std::string dir = user.path().string();
  std::string eq = "--config-dir=" + dir;
  std::vector<std::string_view> args{"--config-dir", dir, "a=1", eq, "b=2"};
  auto cl = cfg::parse_command_line(args).value();
  CHECK(cl.config_dirs.size() == 2);
  CHECK(cl.overrides == std::vector<std::string>{"a=1", "b=2"});
  std::vector<std::string_view> missing{"--config-dir"};
  CHECK_FALSE(cfg::parse_command_line(missing).has_value());
  std::vector<std::string_view> notdir{"--config-dir", "/nonexistent/x"};
  CHECK(cfg::parse_command_line(notdir).error().what == "--config-dir /nonexistent/x: not a directory");
  std::vector<std::string_view> unknown{"--frob"};
  CHECK_FALSE(cfg::parse_command_line(unknown).has_value());
}

TEST_CASE("a broken defaults list is an error naming the entry", "[config][compose]") {
  Tree t;
  write_file(t.dir.path() / "default.json", R"({"defaults": [{"model": "a"}, 3]})");
  auto c = t.compose({});
  REQUIRE_FALSE(c.has_value());
  CHECK(c.error().what.find("defaults[1]: expected {\"group\": \"option\"} or \"_self_\", got 3") !=
        std::string::npos);
  write_file(t.dir.path() / "default.json", R"({"defaults": [{"model": "a"}, {"model": "b"}]})");
  CHECK(t.compose({}).error().what.find("group model appears twice") != std::string::npos);
  TempDir empty("sr-empty");
  CHECK(cfg::compose(std::vector<fs::path>{empty.path()}, {}).error().what.starts_with("no default.json"));
}

// ---- the shipped tree ----

namespace {
std::vector<fs::path> shipped() { return {speedrunner::testing::source_root() / "config"}; }
}  // namespace

TEST_CASE("the shipped defaults compose into the offline demo", "[config][compose][shipped]") {
  auto c = cfg::compose(shipped(), {}, fixed_resolve());
  REQUIRE(c.has_value());
  CHECK(cfg::compact(c->at("choices")) ==
        R"({"secrets":"default","task":"collatz","model":"replay","science_runner":"aide","ideator":"base","coder":"aider","executor":"local"})");
  CHECK(c->at("model").at("provider") == value("replay"));
  CHECK(c->at("workspace").at("root") == value("workspaces/collatz_20250304_050607"));
  auto ok = cfg::check_settings(*c);
  INFO((ok ? std::string() : ok.error().message()));
  CHECK(ok.has_value());
}

TEST_CASE("every shipped option of every group composes and binds", "[config][compose][shipped]") {
  for (std::string group : {"task", "model", "science_runner", "ideator", "coder", "executor", "secrets"}) {
    auto options = cfg::group_options(shipped(), group);
    CHECK_FALSE(options.empty());
    for (const auto& option : options) {
      std::vector<std::string> args{group + "=" + option};
      auto c = cfg::compose(shipped(), args, fixed_resolve());
      INFO(group << "=" << option << ": " << (c ? std::string() : c.error().message()));
      REQUIRE(c.has_value());
      auto ok = cfg::check_settings(*c);
      INFO((ok ? std::string() : ok.error().message()));
      CHECK(ok.has_value());
    }
  }
}

TEST_CASE("the nanogpt track switch chooses data, GPUs and target", "[config][compose][shipped]") {
  std::vector<std::string> mini{"task=nanogpt_speedrun/default"};
  auto m = cfg::bind<cfg::TaskSettings>(cfg::compose(shipped(), mini, fixed_resolve()).value(), "task").value();
  CHECK(m.launch_command == "./run.sh 1");
  std::vector<std::string> fw{"task=nanogpt_speedrun/default", "task.track=fineweb"};
  auto c = cfg::compose(shipped(), fw, fixed_resolve()).value();
  auto f = cfg::bind<cfg::TaskSettings>(c, "task").value();
  CHECK(f.launch_command == "./run.sh 8");
  CHECK(f.metrics_at_most.at("val_loss") == 3.28);
  CHECK(f.selection.metric == "train_time");
  CHECK(f.selection.direction == cfg::Direction::lower);
  // data paths are absolute (against the directory speedrun starts in): runs start in a version folder
  CHECK(f.env.at("SPEEDRUN_VAL_FILES") == "/srv/speedrunner/data/fineweb10B/fineweb_val_*.bin");
  CHECK(c.at("task").at("data").at("val_tokens") == value(10485760));
  std::vector<std::string> bad{"task=nanogpt_speedrun/default", "task.track=fineweeb"};
  auto e = cfg::compose(shipped(), bad, fixed_resolve());
  REQUIRE_FALSE(e.has_value());
  CHECK(e.error().what.find("(did you mean fineweb?)") != std::string::npos);
}

TEST_CASE("each nanogpt record config has its workspace template", "[config][compose][shipped]") {
  // task/nanogpt_speedrun/record_N.json must come with workspace_templates/nanogpt_speedrun/record_N/
  fs::path root = speedrunner::testing::source_root();
  int records = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root / "config/task/nanogpt_speedrun", ec)) {
    std::string stem = entry.path().stem().string();
    if (!stem.starts_with("record_") || entry.path().extension() != ".json") continue;
    ++records;
    INFO(entry.path().string());
    CHECK(fs::is_directory(root / "workspace_templates/nanogpt_speedrun" / stem));
    std::vector<std::string> args{"task=nanogpt_speedrun/" + stem};
    auto c = cfg::compose(shipped(), args, fixed_resolve());
    REQUIRE(c.has_value());
    auto task = cfg::bind<cfg::TaskSettings>(*c, "task");
    REQUIRE(task.has_value());
    CHECK(task->template_dir == "workspace_templates/nanogpt_speedrun/" + stem);
  }
  SUCCEED(std::to_string(records) + " record configs checked");
}
